-- Inclusion proofs by leaf hash (SPEC §12: `?leaf_hash=`): a leaf's hash
-- is its level-0 node hash in log_hashes, found through this index.
CREATE INDEX log_hashes_by_hash ON log_hashes (hash);
