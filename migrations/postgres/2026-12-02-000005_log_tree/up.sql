-- The tamper-evident log's Merkle tree (SPEC §12): its size, its stored
-- node hashes numbered as in Go's sumdb tlog (`tlog_tiles`), and its
-- leaves, each the canonical encoding of one event. Appended in the
-- transaction of the change; never updated or deleted. Appenders on every
-- instance take the one `log_state` row's lock, so leaf indexes follow
-- commit order.

CREATE TABLE log_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    -- 32 random bytes for the salted hashes of private members, made by
    -- the first append (docs/LOG.md).
    salt BYTEA
);
INSERT INTO log_state (id, size) VALUES (1, 0);

CREATE TABLE log_hashes (
    id BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY,
    event_seq BIGINT NOT NULL UNIQUE REFERENCES events (seq),
    leaf BYTEA NOT NULL
);

CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the log is append-only'; END; $$;
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE OR DELETE ON log_hashes
FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
FOR EACH ROW EXECUTE FUNCTION log_append_only();

-- Signed checkpoints (C2SP signed notes), one per tree size signed.
CREATE TABLE log_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    note TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL
);
