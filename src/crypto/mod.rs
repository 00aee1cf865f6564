//! Signing keys, JWS compact serialisation, JWKS.
//!
//! `keyring` keeps the Ed25519 keys on disk, `jws` signs and verifies the QR
//! payload (SPEC §3), `jwk` writes the public keys as RFC 8037 JWKs. The rest
//! of the crate sees signing only through [`Signer`] and [`Verifier`].

pub mod jwk;
pub mod jws;
pub mod keyring;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A signing algorithm behind a small trait, so that another one (SM2/SM3 for
/// a government deployment) can be added without touching handlers.
pub trait Signer: Send + Sync {
    /// The JWS `alg` this signer produces.
    fn alg(&self) -> &'static str;
    /// The `kid` written into the protected header.
    fn kid(&self) -> &str;
    /// The raw signature over `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// Checks a raw signature made by one public key.
pub trait Verifier: Send + Sync {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// base64url without padding, and strict when decoding: `=` padding,
/// characters outside the URL-safe alphabet and non-zero trailing bits are all
/// refused, so every byte string has exactly one accepted encoding. Spelled
/// out here rather than relying on a library default that could change.
pub(crate) const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

#[cfg(test)]
mod tests {
    use super::B64URL;
    use base64::Engine;

    #[test]
    fn base64url_decoding_is_canonical() {
        assert_eq!(B64URL.encode([0xfb, 0xff]), "-_8");
        assert_eq!(B64URL.decode("-_8").unwrap(), vec![0xfb, 0xff]);
        // Same bytes with a non-zero trailing bit: a second spelling, refused.
        assert!(B64URL.decode("-_9").is_err());
        assert!(B64URL.decode("-_8=").is_err());
        assert!(B64URL.decode("+/8").is_err());
        assert!(B64URL.decode("-_8 ").is_err());
        // A length of 1 mod 4 cannot come from any byte string.
        assert!(B64URL.decode("-_8AA").is_err());
        assert_eq!(B64URL.decode("").unwrap(), Vec::<u8>::new());
    }
}
