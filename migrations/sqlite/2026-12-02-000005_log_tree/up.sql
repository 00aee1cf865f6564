-- The tamper-evident log's Merkle tree (SPEC §12): its size, its stored
-- node hashes numbered as in Go's sumdb tlog (`tlog_tiles`), and its
-- leaves, each the canonical encoding of one event. Appended in the
-- transaction of the change; never updated or deleted.

CREATE TABLE log_state (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size BIGINT NOT NULL,
    -- 32 random bytes for the salted hashes of private members, made by
    -- the first append (docs/LOG.md).
    salt BLOB
);
INSERT INTO log_state (id, size) VALUES (1, 0);

CREATE TABLE log_hashes (
    id BIGINT PRIMARY KEY NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY NOT NULL,
    event_seq BIGINT NOT NULL UNIQUE REFERENCES events (seq),
    leaf BLOB NOT NULL
);

CREATE TRIGGER log_hashes_append_only_update BEFORE UPDATE ON log_hashes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_hashes_append_only_delete BEFORE DELETE ON log_hashes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_leaves_append_only_update BEFORE UPDATE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_leaves_append_only_delete BEFORE DELETE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

-- Signed checkpoints (C2SP signed notes), one per tree size signed.
CREATE TABLE log_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    note TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL
);
