//! RFC 6962 / RFC 9162 Merkle tree hashing and proof checking (SPEC §12):
//! SHA-256, leaf prefix 0x00, node prefix 0x01. The tree arithmetic is the
//! `tlog_tiles` crate's (a port of Go's sumdb `tlog`); this module states
//! the edge cases a verifier must refuse, as the transparency-dev test
//! vectors pin them, so that every caller (the server, `scrapcert log
//! verify`, `scrapcert log witness`) checks proofs the same way.

use tlog_tiles::tlog;

pub use tlog::Hash;

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The sizes or the index cannot describe a proof (an index outside the
    /// tree, a tree that shrank, a consistency proof from the empty tree).
    #[error("the proof's sizes or index are impossible")]
    BadInput,
    /// The proof does not lead to the given root (or has too many or too
    /// few hashes).
    #[error("the proof does not match the root")]
    Mismatch,
    /// A hash that is not 32 bytes.
    #[error("a hash must be 32 bytes")]
    Malformed,
}

/// A hash from its bytes, which must be exactly 32.
pub fn hash_from_bytes(bytes: &[u8]) -> Result<Hash, ProofError> {
    bytes
        .try_into()
        .map(Hash)
        .map_err(|_| ProofError::Malformed)
}

/// The hash of a leaf: SHA-256 of 0x00 ‖ the leaf's bytes.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    tlog::record_hash(leaf)
}

/// The hash of an interior node: SHA-256 of 0x01 ‖ left ‖ right.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog::node_hash(left, right)
}

/// The hash of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    use sha2::{Digest, Sha256};
    Hash(Sha256::digest([]).into())
}

fn hashes<P: AsRef<[u8]>>(proof: &[P]) -> Result<Vec<Hash>, ProofError> {
    proof.iter().map(|h| hash_from_bytes(h.as_ref())).collect()
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose
/// root is `root`; `proof` is the audit path from the leaf upwards. Hashes
/// come as bytes, as a client received them: one that is not 32 bytes is
/// refused.
pub fn verify_inclusion<P: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[P],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::BadInput);
    }
    let (leaf, root, proof) = (
        hash_from_bytes(leaf)?,
        hash_from_bytes(root)?,
        hashes(proof)?,
    );
    tlog::check_record(&proof, size, root, index, leaf).map_err(|_| ProofError::Mismatch)
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1`. Equal sizes need an empty proof and
/// the same root; a proof from the empty tree proves nothing and is refused.
pub fn verify_consistency<P: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[P],
) -> Result<(), ProofError> {
    if size1 == 0 || size2 < size1 {
        return Err(ProofError::BadInput);
    }
    if size1 == size2 {
        return if proof.is_empty() && root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::Mismatch);
    }
    let (root1, root2, proof) = (
        hash_from_bytes(root1)?,
        hash_from_bytes(root2)?,
        hashes(proof)?,
    );
    tlog::check_tree(&proof, size2, root2, size1, root1).map_err(|_| ProofError::Mismatch)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::Deserialize;

    use super::*;

    /// A vector's base64 value as bytes (the verifier judges their length).
    fn bytes(b64: Option<&str>) -> Vec<u8> {
        STANDARD
            .decode(b64.unwrap_or_default())
            .expect("vectors are base64")
    }

    fn proof(list: &Option<Vec<String>>) -> Vec<Vec<u8>> {
        list.iter().flatten().map(|h| bytes(Some(h))).collect()
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inclusion {
        leaf_idx: u64,
        tree_size: u64,
        root: Option<String>,
        leaf_hash: Option<String>,
        proof: Option<Vec<String>>,
        desc: String,
        want_err: bool,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Consistency {
        size1: u64,
        size2: u64,
        root1: Option<String>,
        root2: Option<String>,
        proof: Option<Vec<String>>,
        desc: String,
        want_err: bool,
    }

    fn vector_files(kind: &str) -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/merkle")
            .join(kind);
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    /// Runs every vector of one kind through `check`: an error exactly
    /// when the vector wants one, and some vectors that must pass.
    fn run_vectors<T: serde::de::DeserializeOwned>(
        kind: &str,
        at_least: usize,
        check: impl Fn(&T) -> (Result<(), ProofError>, bool, String),
    ) {
        let files = vector_files(kind);
        assert!(files.len() >= at_least, "{} {kind} vectors", files.len());
        let mut happy = 0;
        for file in files {
            let v: T = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let (got, want_err, desc) = check(&v);
            assert_eq!(
                got.is_err(),
                want_err,
                "{}: {desc} gave {got:?}",
                file.display()
            );
            happy += usize::from(!want_err);
        }
        assert!(happy >= 5, "{happy} vectors that must pass");
    }

    #[test]
    fn the_transparency_dev_inclusion_vectors_pass() {
        run_vectors("inclusion", 60, |v: &Inclusion| {
            let got = verify_inclusion(
                v.leaf_idx,
                v.tree_size,
                &bytes(v.leaf_hash.as_deref()),
                &proof(&v.proof),
                &bytes(v.root.as_deref()),
            );
            (got, v.want_err, v.desc.clone())
        });
    }

    #[test]
    fn the_transparency_dev_consistency_vectors_pass() {
        run_vectors("consistency", 90, |v: &Consistency| {
            let got = verify_consistency(
                v.size1,
                v.size2,
                &bytes(v.root1.as_deref()),
                &bytes(v.root2.as_deref()),
                &proof(&v.proof),
            );
            (got, v.want_err, v.desc.clone())
        });
    }

    #[test]
    fn hashes_follow_rfc_6962() {
        // RFC 6962 §2.1: the empty tree, and a one-leaf tree of the empty leaf.
        assert_eq!(
            empty_root().to_string(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            leaf_hash(b"").to_string(),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
        let (a, b) = (leaf_hash(b"a").0, leaf_hash(b"b").0);
        let root = node_hash(Hash(a), Hash(b)).0;
        assert_eq!(verify_inclusion(0, 2, &a, &[b], &root), Ok(()));
        assert_eq!(verify_inclusion(1, 2, &b, &[a], &root), Ok(()));
        assert_eq!(
            verify_inclusion(1, 2, &a, &[b], &root),
            Err(ProofError::Mismatch)
        );
        assert_eq!(
            verify_inclusion(2, 2, &a, &[b], &root),
            Err(ProofError::BadInput)
        );
        assert_eq!(
            verify_inclusion(0, 2, &a, &[&b[..31]], &root),
            Err(ProofError::Malformed)
        );
        assert_eq!(verify_consistency(1, 2, &a, &root, &[b]), Ok(()));
        assert_eq!(
            verify_consistency(2, 1, &root, &a, &[b]),
            Err(ProofError::BadInput)
        );
    }
}
