-- Signed QR payloads, created once at registration (and at each QC
-- revision) and served unchanged; and the scan log of verifications.

ALTER TABLE recycling_certificates ADD COLUMN qr_url TEXT;
ALTER TABLE qualification_revisions ADD COLUMN qr_url TEXT;

CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    cert_kind TEXT,
    cert_number TEXT,
    signature_ok BOOLEAN NOT NULL,
    at TIMESTAMP NOT NULL,
    role TEXT NOT NULL,
    token_id TEXT,
    purpose TEXT NOT NULL,
    checkpoint TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    verdict TEXT NOT NULL
);
CREATE INDEX scans_by_certificate ON scans (cert_kind, cert_number, at);
CREATE INDEX scans_by_time ON scans (at);
