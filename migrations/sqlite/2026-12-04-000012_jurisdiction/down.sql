ALTER TABLE events DROP COLUMN actor_org;
ALTER TABLE events DROP COLUMN actor_division;
ALTER TABLE events DROP COLUMN actor_level;
DELETE FROM tokens WHERE role = 'township';
CREATE TABLE tokens_old (
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
INSERT INTO tokens_old SELECT id, token_hash, role, enterprise_uscc, label, created_at,
    expires_at, revoked_at, licence_number, office FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_old RENAME TO tokens;
DROP INDEX enterprises_by_division;
ALTER TABLE enterprises DROP COLUMN division;
