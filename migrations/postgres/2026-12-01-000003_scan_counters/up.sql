-- Scans split (SPEC §11): officer scans (clerk, police, authority) stay rows;
-- anonymous verifications and QRs whose signature failed become counters per
-- certificate, China calendar day, role and outcome. A per-certificate
-- summary keeps the last officer position for the anomaly rules.

CREATE TABLE scan_counters (
    cert_kind TEXT NOT NULL,
    cert_number TEXT NOT NULL,
    day DATE NOT NULL,
    role TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (cert_kind, cert_number, day, role, outcome)
);

CREATE TABLE scan_summaries (
    cert_kind TEXT NOT NULL,
    cert_number TEXT NOT NULL,
    last_positioned_at TIMESTAMP NOT NULL,
    last_lat DOUBLE PRECISION NOT NULL,
    last_lon DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cert_kind, cert_number)
);

INSERT INTO scan_counters (cert_kind, cert_number, day, role, outcome, count)
SELECT COALESCE(cert_kind, ''), COALESCE(cert_number, ''), (at + INTERVAL '8 hours')::date, role,
       verdict, COUNT(*)
FROM scans
WHERE NOT signature_ok OR role NOT IN ('clerk', 'police', 'authority')
GROUP BY 1, 2, 3, 4, 5;

DELETE FROM scans WHERE NOT signature_ok OR role NOT IN ('clerk', 'police', 'authority');

INSERT INTO scan_summaries (cert_kind, cert_number, last_positioned_at, last_lat, last_lon)
SELECT DISTINCT ON (cert_kind, cert_number) cert_kind, cert_number, at, lat, lon
FROM scans
WHERE lat IS NOT NULL AND lon IS NOT NULL AND cert_kind IS NOT NULL AND cert_number IS NOT NULL
ORDER BY cert_kind, cert_number, at DESC, id DESC;
