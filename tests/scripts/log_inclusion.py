#!/usr/bin/env python3
"""Checks an inclusion proof of the scrapcert log against a checkpoint's
root, independently of the server's code: Python's hashlib only, RFC 9162
section 2.1.3.2.

Reads one JSON object on standard input: the API's inclusion proof
(`index`, `tree_size`, `leaf_hash`, `proof`) and `root`, the standard
base64 root hash of the checkpoint of that size. Exits 0 when the proof
leads to the root, 1 when it does not.
"""
import base64
import hashlib
import json
import sys


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_proof(index, size, leaf, proof):
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def main():
    given = json.load(sys.stdin)
    leaf = base64.b64decode(given["leaf_hash"])
    proof = [base64.b64decode(p) for p in given["proof"]]
    root = base64.b64decode(given["root"])
    got = root_from_proof(given["index"], given["tree_size"], leaf, proof)
    if got == root:
        print("ok")
        return 0
    print("the proof does not lead to the root", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
