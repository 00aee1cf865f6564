DROP INDEX rc_by_engine_number;
DROP INDEX rc_by_plate;
DROP TABLE lookups;
DELETE FROM tokens WHERE role = 'repairer';
ALTER TABLE tokens DROP CONSTRAINT tokens_office_check;
ALTER TABLE tokens DROP COLUMN office;
ALTER TABLE tokens DROP CONSTRAINT tokens_licence_check;
ALTER TABLE tokens DROP COLUMN licence_number;
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('authority', 'enterprise', 'clerk', 'police'));
