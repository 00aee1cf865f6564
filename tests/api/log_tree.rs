//! The log's Merkle tree as stored (SPEC §12): appended leaf by leaf in
//! write transactions, its roots equal to RFC 6962's definition computed
//! from scratch, and every proof it gives accepted by the verifier (and a
//! wrong one refused). On both backends.

use scrapcert::crypto::merkle;
use scrapcert::store::{self, DbConnection, StoreError, log};

use crate::helpers::*;

/// A migrated database with `n` events to hang leaves on.
fn database_with_events(dir: &std::path::Path, n: usize) -> (TestDb, DbConnection) {
    let db = TestDb::create(current_backend(), dir);
    let mut conn = db.connect();
    store::run_migrations(&mut conn).unwrap();
    let values: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('rc', 'RC-{i}', 'rc_registered', '2026-12-02 10:00:00', 'enterprise', '{{}}')"
            )
        })
        .collect();
    db.exec(&format!(
        "INSERT INTO events (subject_kind, subject_id, event_type, at, actor_role, data) VALUES {}",
        values.join(", ")
    ));
    (db, conn)
}

fn leaf_bytes(i: usize) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

async fn the_stored_tree_gives_rfc_6962_roots_and_proofs() {
    const N: usize = 70;
    let dir = tempfile::tempdir().unwrap();
    let (_db, mut conn) = database_with_events(dir.path(), N);
    let leaves: Vec<Vec<u8>> = (0..N).map(leaf_bytes).collect();
    assert_eq!(log::size(&mut conn).unwrap(), 0);
    assert_eq!(log::root(&mut conn, 0).unwrap(), merkle::empty_root());
    for (i, leaf) in leaves.iter().enumerate() {
        let appended = store::write_tx(&mut conn, |c| {
            log::append(c, i64::try_from(i).unwrap() + 1, leaf)
        })
        .unwrap();
        assert_eq!(appended.index, i as u64);
        assert_eq!(appended.leaf_hash, merkle::leaf_hash(leaf));
    }
    assert_eq!(log::size(&mut conn).unwrap(), N as u64);
    for size in 1..=N {
        let root = log::root(&mut conn, size as u64).unwrap();
        assert_eq!(root, reference_root(&leaves[..size]), "root of {size}");
        for index in 0..size {
            let proof = log::inclusion_proof(&mut conn, index as u64, size as u64).unwrap();
            let leaf = merkle::leaf_hash(&leaves[index]);
            let proof: Vec<[u8; 32]> = proof.iter().map(|h| h.0).collect();
            assert_eq!(
                merkle::verify_inclusion(index as u64, size as u64, &leaf.0, &proof, &root.0),
                Ok(()),
                "leaf {index} of {size}"
            );
            // Another leaf's hash does not pass with this proof.
            let other = merkle::leaf_hash(&leaves[(index + 1) % N]);
            assert!(
                merkle::verify_inclusion(index as u64, size as u64, &other.0, &proof, &root.0)
                    .is_err()
            );
        }
    }
    for from in 1..=N {
        for to in from..=N {
            let proof = log::consistency_proof(&mut conn, from as u64, to as u64).unwrap();
            let proof: Vec<[u8; 32]> = proof.iter().map(|h| h.0).collect();
            let (old, new) = (
                reference_root(&leaves[..from]),
                reference_root(&leaves[..to]),
            );
            assert_eq!(
                merkle::verify_consistency(from as u64, to as u64, &old.0, &new.0, &proof),
                Ok(()),
                "{from} → {to}"
            );
            if from < to {
                // A tree that rewrote its first leaf is not consistent.
                let mut forged = leaves[..from].to_vec();
                forged[0] = b"rewritten".to_vec();
                let forged = reference_root(&forged);
                assert!(
                    merkle::verify_consistency(from as u64, to as u64, &forged.0, &new.0, &proof)
                        .is_err()
                );
            }
        }
    }
    let stored = log::leaves(&mut conn, 60, 1_000).unwrap();
    assert_eq!(stored.len(), 10);
    assert_eq!(
        (
            stored[0].index,
            stored[0].event_seq,
            stored[0].bytes.clone()
        ),
        (60, 61, leaf_bytes(60))
    );
}

/// A leaf appended in a transaction that rolls back leaves nothing behind:
/// the next append takes the same index.
async fn a_rolled_back_append_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut conn) = database_with_events(dir.path(), 3);
    store::write_tx(&mut conn, |c| log::append(c, 1, b"first")).unwrap();
    let before = database_dump(&db);
    let failed: Result<(), StoreError> = store::write_tx(&mut conn, |c| {
        log::append(c, 2, b"second")?;
        Err(StoreError::Other(anyhow::anyhow!("the change failed")))
    });
    assert!(failed.is_err());
    assert_eq!(database_dump(&db), before);
    let next = store::write_tx(&mut conn, |c| log::append(c, 3, b"third")).unwrap();
    assert_eq!(next.index, 1);
    assert_eq!(
        log::root(&mut conn, 2).unwrap(),
        reference_root(&[b"first".to_vec(), b"third".to_vec()])
    );
    // The stored tree cannot be rewritten in place.
    for sql in [
        "UPDATE log_leaves SET event_seq = event_seq WHERE idx = 0",
        "UPDATE log_hashes SET id = id",
        "DELETE FROM log_hashes",
        "DELETE FROM log_leaves",
    ] {
        let refused = db.try_exec(sql).unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
}

/// The tree's upper levels in memory (SPEC §11) give the same proofs as
/// the stored tree for every leaf, in the last tile and in complete ones,
/// as the signed tree grows; a leaf the checkpoint does not cover yet is
/// pending.
async fn the_cached_upper_levels_prove_every_leaf() {
    use scrapcert::service::log_cache::{LogProof, TreeCache};
    const N: usize = 3 * 256 + 5;
    let dir = tempfile::tempdir().unwrap();
    let (_db, mut conn) = database_with_events(dir.path(), N);
    let leaves: Vec<Vec<u8>> = (0..N).map(leaf_bytes).collect();
    for (i, leaf) in leaves.iter().enumerate() {
        store::write_tx(&mut conn, |c| {
            log::append(c, i64::try_from(i).unwrap() + 1, leaf)
        })
        .unwrap();
    }
    let cache = TreeCache::new();
    for size in [1u64, 2, 255, 256, 257, 600, 768, N as u64] {
        let note = format!("checkpoint of {size}");
        log::insert_checkpoint(
            &mut conn,
            &log::StoredCheckpoint {
                size,
                note: note.clone(),
                signed_at: chrono::NaiveDateTime::default(),
            },
        )
        .unwrap();
        assert_eq!(cache.refresh(&mut conn).unwrap(), size);
        assert_eq!(cache.size(), size);
        let root = reference_root(&leaves[..size as usize]);
        for index in (0..size).filter(|i| i % 7 == 0 || i + 3 >= size || i % 256 == 255) {
            let LogProof::Included {
                index: proven,
                tree_size,
                leaf_hash,
                proof,
                checkpoint,
            } = cache.prove(&mut conn, index).unwrap()
            else {
                panic!("leaf {index} of {size} is pending");
            };
            assert_eq!((proven, tree_size), (index, size));
            assert_eq!(&*checkpoint, note.as_str());
            assert_eq!(leaf_hash, merkle::leaf_hash(&leaves[index as usize]).0);
            assert_eq!(
                merkle::verify_inclusion(index, size, &leaf_hash, &proof, &root.0),
                Ok(()),
                "leaf {index} of {size}"
            );
        }
        assert_eq!(
            cache.prove(&mut conn, size).unwrap(),
            LogProof::Pending { index: size }
        );
    }
}

/// The lookup by leaf hash is filled in batches up to a size, finds every
/// leaf, and refuses a row that names the wrong leaf.
async fn leaves_are_found_by_their_hash() {
    const N: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let (db, mut conn) = database_with_events(dir.path(), N);
    for i in 0..N {
        store::write_tx(&mut conn, |c| {
            log::append(c, i64::try_from(i).unwrap() + 1, &leaf_bytes(i))
        })
        .unwrap();
    }
    assert_eq!(log::index_leaf_hashes(&mut conn, 25, 10).unwrap(), 10);
    assert_eq!(log::index_leaf_hashes(&mut conn, 25, 100).unwrap(), 15);
    assert_eq!(log::index_leaf_hashes(&mut conn, 25, 100).unwrap(), 0);
    for i in 0..N {
        let hash = merkle::leaf_hash(&leaf_bytes(i)).0;
        let expected = (i < 25).then_some(i as u64);
        assert_eq!(
            log::leaf_by_hash(&mut conn, &hash).unwrap(),
            expected,
            "leaf {i}"
        );
    }
    db.exec("UPDATE log_leaf_hashes SET idx = idx + 100 WHERE idx = 3");
    db.exec("UPDATE log_leaf_hashes SET idx = 3 WHERE idx = 4");
    let hash = merkle::leaf_hash(&leaf_bytes(4)).0;
    assert!(matches!(
        log::leaf_by_hash(&mut conn, &hash),
        Err(StoreError::Corrupt(_))
    ));
}

crate::backend_tests!(
    leaves_are_found_by_their_hash,
    the_cached_upper_levels_prove_every_leaf,
    the_stored_tree_gives_rfc_6962_roots_and_proofs,
    a_rolled_back_append_leaves_no_trace,
);
