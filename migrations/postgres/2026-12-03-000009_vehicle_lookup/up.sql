-- The repairer role (机动车维修经营者, SPEC §14) with an optional licence
-- number on its tokens, and a clerk token's office (车管所).
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('authority', 'enterprise', 'clerk', 'police', 'repairer'));
ALTER TABLE tokens ADD COLUMN licence_number TEXT;
ALTER TABLE tokens ADD CONSTRAINT tokens_licence_check
    CHECK (licence_number IS NULL OR role = 'repairer');
ALTER TABLE tokens ADD COLUMN office TEXT;
ALTER TABLE tokens ADD CONSTRAINT tokens_office_check
    CHECK (office IS NULL OR role = 'clerk');

-- Every vehicle lookup, like a scan (SPEC §14): who asked, by what, when,
-- and how many of the vehicles it named the registry knows as scrapped.
CREATE TABLE lookups (
    id BIGSERIAL PRIMARY KEY,
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
