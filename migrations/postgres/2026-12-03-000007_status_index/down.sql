DROP SEQUENCE qc_status_index_seq;
DROP SEQUENCE rc_status_index_seq;
DROP INDEX qc_revision_status_index;
DROP INDEX rc_status_index;
ALTER TABLE qualification_revisions DROP COLUMN status_index;
ALTER TABLE recycling_certificates DROP COLUMN status_index;
