-- Jurisdiction (SPEC §15): an enterprise's division (GB/T 2260; rows from
-- before get SCRAPCERT_DEFAULT_DIVISION at start, with an event each), a
-- token's level, division, organisation and township, the township role,
-- and the actor's level, division and organisation on every event.
ALTER TABLE enterprises ADD COLUMN division TEXT;
CREATE INDEX enterprises_by_division ON enterprises (division);

ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('authority', 'enterprise', 'clerk', 'police', 'repairer', 'township'));
ALTER TABLE tokens ADD COLUMN level TEXT
    CHECK (level IN ('national', 'province', 'city', 'county'));
ALTER TABLE tokens ADD COLUMN division TEXT;
ALTER TABLE tokens ADD COLUMN org TEXT;
ALTER TABLE tokens ADD COLUMN township TEXT;
ALTER TABLE tokens ADD CONSTRAINT tokens_authority_fields_check
    CHECK ((level IS NULL AND org IS NULL) OR role = 'authority');
ALTER TABLE tokens ADD CONSTRAINT tokens_division_role_check
    CHECK (division IS NULL OR role <> 'enterprise');
ALTER TABLE tokens ADD CONSTRAINT tokens_township_role_check
    CHECK ((role = 'township') = (township IS NOT NULL));

ALTER TABLE events ADD COLUMN actor_level TEXT;
ALTER TABLE events ADD COLUMN actor_division TEXT;
ALTER TABLE events ADD COLUMN actor_org TEXT;
