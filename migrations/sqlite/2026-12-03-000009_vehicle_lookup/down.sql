DROP INDEX rc_by_engine_number;
DROP INDEX rc_by_plate;
DROP TABLE lookups;
DELETE FROM tokens WHERE role = 'repairer';
CREATE TABLE tokens_old (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('authority', 'enterprise', 'clerk', 'police')),
    enterprise_uscc TEXT REFERENCES enterprises (uscc),
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    CHECK ((role = 'enterprise') = (enterprise_uscc IS NOT NULL))
);
INSERT INTO tokens_old (id, token_hash, role, enterprise_uscc, label, created_at, expires_at, revoked_at)
    SELECT id, token_hash, role, enterprise_uscc, label, created_at, expires_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_old RENAME TO tokens;
