-- The log's append in the server (SPEC §11, §12): on PostgreSQL every
-- statement is a round trip, and an event with its leaf took six of them
-- (the event, the index's claim, the sibling hashes, the new hashes, the
-- leaf), five while holding the size row's lock. `log_append` claims the
-- index under the lock, stores the node hashes the leaf completes (RFC 6962
-- hashing with `sha256()`, numbered as Go's sumdb tlog numbers them: what
-- `tlog_tiles` computes on SQLite and in `scrapcert log verify`) and the
-- leaf; `log_append_event` inserts the event first (its number taken
-- beforehand, so that the leaf can name it). The leaf's bytes are still
-- made by the service.

-- Where tlog stores the hash of level `level`, index `n`.
CREATE FUNCTION log_stored_hash_index(level INTEGER, n BIGINT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    v_sum BIGINT := 0;
BEGIN
    FOR l IN 1..level LOOP
        n := 2 * n + 1;
    END LOOP;
    WHILE n > 0 LOOP
        v_sum := v_sum + n;
        n := n >> 1;
    END LOOP;
    RETURN v_sum + level;
END $$;

-- Appends leaf `p_leaf` of event `p_seq`; returns its index.
CREATE FUNCTION log_append(p_seq BIGINT, p_leaf BYTEA) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_index BIGINT;
    v_first BIGINT;
    v_level INTEGER := 0;
    v_hash BYTEA;
    v_sibling BYTEA;
BEGIN
    UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size - 1 INTO v_index;
    v_first := log_stored_hash_index(0, v_index);
    v_hash := sha256('\x00'::bytea || p_leaf);
    INSERT INTO log_hashes (id, hash) VALUES (v_first, v_hash);
    -- Each trailing 1 bit of the index completes a subtree with its left
    -- neighbour's stored hash.
    WHILE (v_index >> v_level) & 1 = 1 LOOP
        SELECT hash INTO v_sibling FROM log_hashes
        WHERE id = log_stored_hash_index(v_level, (v_index >> v_level) - 1);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'log hash of level % before leaf % is missing', v_level, v_index;
        END IF;
        v_hash := sha256('\x01'::bytea || v_sibling || v_hash);
        v_level := v_level + 1;
        INSERT INTO log_hashes (id, hash) VALUES (v_first + v_level, v_hash);
    END LOOP;
    INSERT INTO log_leaves (idx, event_seq, leaf) VALUES (v_index, p_seq, p_leaf);
    RETURN v_index;
END $$;

-- Inserts event `p_seq` and appends its leaf; returns the leaf's index.
CREATE FUNCTION log_append_event(
    p_seq BIGINT,
    p_subject_kind TEXT,
    p_subject_id TEXT,
    p_event_type TEXT,
    p_at TIMESTAMP,
    p_actor_role TEXT,
    p_actor_token_id TEXT,
    p_data TEXT,
    p_actor_level TEXT,
    p_actor_division TEXT,
    p_actor_org TEXT,
    p_leaf BYTEA
) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (seq, subject_kind, subject_id, event_type, at, actor_role,
                        actor_token_id, data, actor_level, actor_division, actor_org)
    VALUES (p_seq, p_subject_kind, p_subject_id, p_event_type, p_at, p_actor_role,
            p_actor_token_id, p_data, p_actor_level, p_actor_division, p_actor_org);
    RETURN log_append(p_seq, p_leaf);
END $$;
