ALTER TABLE events DROP COLUMN actor_org;
ALTER TABLE events DROP COLUMN actor_division;
ALTER TABLE events DROP COLUMN actor_level;
DELETE FROM tokens WHERE role = 'township';
ALTER TABLE tokens DROP CONSTRAINT tokens_township_role_check;
ALTER TABLE tokens DROP CONSTRAINT tokens_division_role_check;
ALTER TABLE tokens DROP CONSTRAINT tokens_authority_fields_check;
ALTER TABLE tokens DROP COLUMN township;
ALTER TABLE tokens DROP COLUMN org;
ALTER TABLE tokens DROP COLUMN division;
ALTER TABLE tokens DROP COLUMN level;
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('authority', 'enterprise', 'clerk', 'police', 'repairer'));
DROP INDEX enterprises_by_division;
ALTER TABLE enterprises DROP COLUMN division;
