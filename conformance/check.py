#!/usr/bin/env python3
"""An independent check of the conformance kit's signature and status
vectors, with PyJWT (and `cryptography` for Ed25519) and zlib: no code of
scrapcert's. For every vector with an `independent` member it verifies the
QR's JWS against the kit's JWKS (EdDSA only, as SPEC §3 requires) and, where
a status is expected, verifies the status list the vector names and reads
the QR's `si` entry from it (two bits, least significant first, zlib).

    pip install pyjwt cryptography
    python3 conformance/check.py [KIT_DIR]

Exit 0 when every vector agrees, 1 otherwise (each disagreement printed).
"""

import base64
import json
import pathlib
import sys
import zlib

import jwt

OPTIONS = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keys_of(jwks_path):
    jwks = json.loads(jwks_path.read_text(encoding="utf-8"))
    return {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}


def verify(token, keys):
    """The claims if `token` verifies as EdDSA under a key of `keys`."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = keys[kid]
        return jwt.decode(token, key=key.key, algorithms=["EdDSA"], options=OPTIONS)
    except (jwt.exceptions.PyJWTError, KeyError, ValueError, TypeError):
        return None


def entry(list_token, keys, index):
    header = jwt.get_unverified_header(list_token)
    if header.get("typ") != "statuslist+jwt":
        raise ValueError("not a statuslist+jwt")
    claims = verify(list_token, keys)
    if claims is None:
        raise ValueError("the status list does not verify")
    status_list = claims["status_list"]
    if status_list["bits"] != 2:
        raise ValueError("not a two-bit list")
    raw = zlib.decompress(b64url(status_list["lst"]))
    byte = raw[index // 4] if index // 4 < len(raw) else 0
    return (byte >> ((index % 4) * 2)) & 0b11


def main():
    kit = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    vectors = json.loads((kit / "vectors.json").read_text(encoding="utf-8"))["vectors"]
    failures = checked = 0
    for v in vectors:
        independent = v.get("independent")
        if independent is None:
            continue
        checked += 1
        keys = keys_of(kit / v["jwks"])
        token = v["qr"].rsplit("/v/", 1)[-1]
        claims = verify(token, keys)
        if (claims is not None) != independent["signature"]:
            failures += 1
            print(f"{v['id']}: signature verifies: {claims is not None}, expected {independent['signature']}")
            continue
        if "status" in independent:
            list_token = (kit / v["status_lists"][0]).read_text(encoding="utf-8").strip()
            got = entry(list_token, keys, claims["si"])
            if got != independent["status"]:
                failures += 1
                print(f"{v['id']}: status {got}, expected {independent['status']}")
    print(f"{checked} vectors checked with PyJWT {jwt.__version__}, {failures} disagree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
