DROP INDEX scans_presented;
ALTER TABLE scans DROP COLUMN presented_uscc;
ALTER TABLE scans DROP COLUMN findings;
DROP TABLE desk_sessions;
