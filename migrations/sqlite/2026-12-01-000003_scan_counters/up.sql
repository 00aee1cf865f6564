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
    last_lat DOUBLE NOT NULL,
    last_lon DOUBLE NOT NULL,
    PRIMARY KEY (cert_kind, cert_number)
);

INSERT INTO scan_counters (cert_kind, cert_number, day, role, outcome, count)
SELECT COALESCE(cert_kind, ''), COALESCE(cert_number, ''), date(at, '+8 hours'), role, verdict,
       COUNT(*)
FROM scans
WHERE signature_ok = 0 OR role NOT IN ('clerk', 'police', 'authority')
GROUP BY COALESCE(cert_kind, ''), COALESCE(cert_number, ''), date(at, '+8 hours'), role, verdict;

DELETE FROM scans WHERE signature_ok = 0 OR role NOT IN ('clerk', 'police', 'authority');

-- SQLite takes the other columns of a MAX() aggregate from the row holding the maximum.
INSERT INTO scan_summaries (cert_kind, cert_number, last_positioned_at, last_lat, last_lon)
SELECT cert_kind, cert_number, MAX(at), lat, lon
FROM scans
WHERE lat IS NOT NULL AND lon IS NOT NULL AND cert_kind IS NOT NULL AND cert_number IS NOT NULL
GROUP BY cert_kind, cert_number;
