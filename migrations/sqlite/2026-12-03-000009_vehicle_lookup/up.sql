-- The repairer role (机动车维修经营者, SPEC §14) with an optional licence
-- number on its tokens, and a clerk token's office (车管所). SQLite cannot change a CHECK constraint in place,
-- so the tokens table is rebuilt with its rows (no table refers to it).
CREATE TABLE tokens_new (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('authority', 'enterprise', 'clerk', 'police', 'repairer')),
    enterprise_uscc TEXT REFERENCES enterprises (uscc),
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    licence_number TEXT,
    office TEXT,
    CHECK ((role = 'enterprise') = (enterprise_uscc IS NOT NULL)),
    CHECK (licence_number IS NULL OR role = 'repairer'),
    CHECK (office IS NULL OR role = 'clerk')
);
INSERT INTO tokens_new (id, token_hash, role, enterprise_uscc, label, created_at, expires_at, revoked_at)
    SELECT id, token_hash, role, enterprise_uscc, label, created_at, expires_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;

-- Every vehicle lookup, like a scan (SPEC §14): who asked, by what, when,
-- and how many of the vehicles it named the registry knows as scrapped.
CREATE TABLE lookups (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    by_kind TEXT NOT NULL CHECK (by_kind IN ('vin', 'plate', 'engine_number')),
    query TEXT NOT NULL,
    matches INTEGER NOT NULL,
    role TEXT NOT NULL,
    token_id TEXT
);
CREATE INDEX lookups_by_time ON lookups (at);
CREATE INDEX lookups_by_query ON lookups (by_kind, query, at);

-- The vehicle lookup reads RCs by plate and by engine number.
CREATE INDEX rc_by_plate ON recycling_certificates (plate);
CREATE INDEX rc_by_engine_number ON recycling_certificates (engine_number);
