CREATE TABLE scan_summaries_old (
    cert_kind TEXT NOT NULL,
    cert_number TEXT NOT NULL,
    last_positioned_at TIMESTAMP NOT NULL,
    last_lat DOUBLE NOT NULL,
    last_lon DOUBLE NOT NULL,
    PRIMARY KEY (cert_kind, cert_number)
);
INSERT INTO scan_summaries_old (cert_kind, cert_number, last_positioned_at, last_lat, last_lon)
SELECT cert_kind, cert_number, last_positioned_at, last_lat, last_lon
FROM scan_summaries
WHERE last_positioned_at IS NOT NULL AND last_lat IS NOT NULL AND last_lon IS NOT NULL;
DROP TABLE scan_summaries;
ALTER TABLE scan_summaries_old RENAME TO scan_summaries;
