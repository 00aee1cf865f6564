DROP TABLE scans;
ALTER TABLE qualification_revisions DROP COLUMN qr_url;
ALTER TABLE recycling_certificates DROP COLUMN qr_url;
