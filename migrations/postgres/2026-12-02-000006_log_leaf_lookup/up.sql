-- Inclusion proofs by leaf hash (SPEC §12: `?leaf_hash=`): each signed
-- leaf's hash beside its index. Filled by the checkpoint writer after it
-- signs (a batch a second, off the path of the change itself); derived from
-- log_hashes, so not part of what the log proves: a lookup is checked
-- against the stored leaf before it is answered.
CREATE TABLE log_leaf_hashes (
    idx BIGINT PRIMARY KEY NOT NULL,
    leaf_hash BYTEA NOT NULL UNIQUE
);
