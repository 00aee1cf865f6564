-- Jurisdiction (SPEC §15): an enterprise's division (GB/T 2260; rows from
-- before get SCRAPCERT_DEFAULT_DIVISION at start, with an event each), a
-- token's level, division, organisation and township, the township role,
-- and the actor's level, division and organisation on every event.
ALTER TABLE enterprises ADD COLUMN division TEXT;
CREATE INDEX enterprises_by_division ON enterprises (division);

-- SQLite cannot change a CHECK constraint in place, so the tokens table is
-- rebuilt with its rows (no table refers to it).
CREATE TABLE tokens_new (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('authority', 'enterprise', 'clerk', 'police', 'repairer', 'township')),
    enterprise_uscc TEXT REFERENCES enterprises (uscc),
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    licence_number TEXT,
    office TEXT,
    level TEXT CHECK (level IN ('national', 'province', 'city', 'county')),
    division TEXT,
    org TEXT,
    township TEXT,
    CHECK ((role = 'enterprise') = (enterprise_uscc IS NOT NULL)),
    CHECK (licence_number IS NULL OR role = 'repairer'),
    CHECK (office IS NULL OR role = 'clerk'),
    CHECK ((level IS NULL AND org IS NULL) OR role = 'authority'),
    CHECK (division IS NULL OR role <> 'enterprise'),
    CHECK ((role = 'township') = (township IS NOT NULL))
);
INSERT INTO tokens_new (id, token_hash, role, enterprise_uscc, label, created_at, expires_at,
                        revoked_at, licence_number, office)
    SELECT id, token_hash, role, enterprise_uscc, label, created_at, expires_at, revoked_at,
           licence_number, office FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;

ALTER TABLE events ADD COLUMN actor_level TEXT;
ALTER TABLE events ADD COLUMN actor_division TEXT;
ALTER TABLE events ADD COLUMN actor_org TEXT;
