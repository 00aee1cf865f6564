//! The Token Status List of SPEC §13 (IETF draft-ietf-oauth-status-list):
//! two bits per certificate, packed least significant bits first, zlib
//! compressed, carried in a `statuslist+jwt`. This module knows the values,
//! the packing and the claims; signing and serving are elsewhere.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::CertKind;

/// Bits per entry: four values.
pub const BITS: u8 = 2;

/// The JWS `typ` of a status list token.
pub const TYP: &str = "statuslist+jwt";

/// The largest list a reader accepts once inflated: 2^26 bytes hold 2^28
/// entries, far beyond any province's registry, and stop a zlib bomb.
pub const MAX_INFLATED: usize = 1 << 26;

/// What the list says of one QR (SPEC §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum Status {
    /// In force (an index no QR carries reads so too).
    Valid = 0,
    /// RC voided, QC revoked.
    Invalid = 1,
    /// QC suspended.
    Suspended = 2,
    /// RC deregistered (consumed), or a QC revision a newer one replaced.
    Consumed = 3,
}

impl Status {
    pub fn from_bits(v: u8) -> Status {
        match v & 0b11 {
            0 => Status::Valid,
            1 => Status::Invalid,
            2 => Status::Suspended,
            _ => Status::Consumed,
        }
    }
}

/// The unpacked list: entry `i` is bits `2(i mod 4)`..`2(i mod 4)+1` of
/// byte `i / 4`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusBits {
    bytes: Vec<u8>,
}

impl StatusBits {
    /// A list of `len` entries, all valid.
    pub fn with_len(len: u64) -> StatusBits {
        let bytes = usize::try_from(len.div_ceil(4)).unwrap_or(usize::MAX);
        StatusBits {
            bytes: vec![0; bytes],
        }
    }

    /// Sets entry `index`, growing the list when needed.
    pub fn set(&mut self, index: u64, status: Status) {
        let Ok(byte) = usize::try_from(index / 4) else {
            return;
        };
        if byte >= self.bytes.len() {
            self.bytes.resize(byte + 1, 0);
        }
        let shift = (index % 4) * 2;
        self.bytes[byte] = (self.bytes[byte] & !(0b11 << shift)) | ((status as u8) << shift);
    }

    /// Entry `index`, or `None` past the end of the list.
    pub fn get(&self, index: u64) -> Option<Status> {
        let byte = usize::try_from(index / 4).ok()?;
        let shift = (index % 4) * 2;
        self.bytes.get(byte).map(|b| Status::from_bits(b >> shift))
    }

    /// How many entries the list has room for.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * 4
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The `lst` member: base64url (no padding) of the zlib stream.
    pub fn to_lst(&self) -> String {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&self.bytes);
        URL_SAFE_NO_PAD.encode(z.finish().unwrap_or_default())
    }

    /// The list an `lst` member carries; refuses anything that is not
    /// canonical base64url of a complete zlib stream of at most
    /// [`MAX_INFLATED`] bytes.
    pub fn from_lst(lst: &str) -> Result<StatusBits, String> {
        let compressed = URL_SAFE_NO_PAD
            .decode(lst)
            .map_err(|_| "lst is not base64url".to_string())?;
        let mut bytes = Vec::new();
        let mut z =
            flate2::read::ZlibDecoder::new(compressed.as_slice()).take(MAX_INFLATED as u64 + 1);
        z.read_to_end(&mut bytes)
            .map_err(|e| format!("lst is not a zlib stream: {e}"))?;
        if bytes.len() > MAX_INFLATED {
            return Err("lst inflates beyond the size cap".into());
        }
        Ok(StatusBits { bytes })
    }
}

/// The `status_list` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListClaim {
    pub bits: u8,
    pub lst: String,
}

/// The claims of a status list token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListClaims {
    /// The list's own URL.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// Seconds a copy may be used before it is fetched again.
    pub ttl: i64,
    pub status_list: StatusListClaim,
}

impl StatusListClaims {
    /// The list's entries; an error when `bits` is not [`BITS`] or `lst`
    /// does not decode.
    pub fn bits(&self) -> Result<StatusBits, String> {
        if self.status_list.bits != BITS {
            return Err(format!(
                "status_list.bits is {}, not {BITS}",
                self.status_list.bits
            ));
        }
        StatusBits::from_lst(&self.status_list.lst)
    }

    /// Whether the list is past `exp` or `ttl` at `now` (seconds).
    pub fn stale_at(&self, now: i64) -> bool {
        now >= self.exp || now >= self.iat.saturating_add(self.ttl)
    }
}

/// The path of a kind's list under the API.
pub fn path(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Qc => "/api/v1/status-lists/QC",
        CertKind::Rc => "/api/v1/status-lists/RC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pack_two_bits_least_significant_first() {
        let mut bits = StatusBits::default();
        bits.set(0, Status::Invalid);
        bits.set(1, Status::Suspended);
        bits.set(2, Status::Consumed);
        bits.set(5, Status::Consumed);
        // Byte 0 holds entries 3, 2, 1, 0 from its high bits down.
        assert_eq!(bits.bytes, [0b0011_1001, 0b0000_1100]);
        assert_eq!(bits.get(1), Some(Status::Suspended));
        assert_eq!(bits.get(3), Some(Status::Valid));
        assert_eq!(bits.get(8), None);
        bits.set(2, Status::Valid);
        assert_eq!(bits.get(2), Some(Status::Valid));
        assert_eq!(bits.get(0), Some(Status::Invalid));
    }

    /// The example of draft-ietf-oauth-status-list §4.1 (two-bit list):
    /// statuses 1,2,0,3,0,1,0,1,1,2,3,3 pack to C9 44 F9.
    #[test]
    fn the_drafts_two_bit_example_packs_as_published() {
        let mut bits = StatusBits::default();
        for (i, v) in [1u8, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].iter().enumerate() {
            bits.set(i as u64, Status::from_bits(*v));
        }
        assert_eq!(bits.bytes, [0xC9, 0x44, 0xF9]);
        let round = StatusBits::from_lst(&bits.to_lst()).unwrap();
        assert_eq!(round, bits);
    }

    #[test]
    fn bad_lst_values_are_refused() {
        assert!(StatusBits::from_lst("not base64!").is_err());
        assert!(StatusBits::from_lst("AAAA").is_err(), "not zlib");
        // A zlib bomb: 2^26 + 1 zero bytes compress to a few kilobytes.
        let bomb = StatusBits {
            bytes: vec![0; MAX_INFLATED + 1],
        };
        let err = StatusBits::from_lst(&bomb.to_lst()).unwrap_err();
        assert!(err.contains("size cap"), "{err}");
    }

    #[test]
    fn staleness_counts_both_exp_and_ttl() {
        let c = StatusListClaims {
            sub: String::new(),
            iat: 1000,
            exp: 5000,
            ttl: 600,
            status_list: StatusListClaim {
                bits: 2,
                lst: String::new(),
            },
        };
        assert!(!c.stale_at(1599));
        assert!(c.stale_at(1600));
        let long_ttl = StatusListClaims { ttl: 10_000, ..c };
        assert!(!long_ttl.stale_at(4999));
        assert!(long_ttl.stale_at(5000));
    }
}
