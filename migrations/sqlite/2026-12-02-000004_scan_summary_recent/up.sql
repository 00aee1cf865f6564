-- The per-certificate scan summary (SPEC §11) now also holds the officer
-- scans of the last 24 hours, so that the anomaly rules read one row: the
-- newest officer scan times as microseconds since 1970-01-01 UTC, newest
-- first, separated by spaces (the service keeps daily limit + 1 of them).
-- Every certificate with an officer scan has a summary; its position
-- columns stay empty until a scan carries a position.

CREATE TABLE scan_summaries_new (
    cert_kind TEXT NOT NULL,
    cert_number TEXT NOT NULL,
    last_positioned_at TIMESTAMP,
    last_lat DOUBLE,
    last_lon DOUBLE,
    last_scan_at TIMESTAMP NOT NULL,
    recent_scans TEXT NOT NULL,
    PRIMARY KEY (cert_kind, cert_number)
);

-- The officer scans already stored: the newest 100 of the last day each.
INSERT INTO scan_summaries_new
    (cert_kind, cert_number, last_positioned_at, last_lat, last_lon, last_scan_at, recent_scans)
SELECT s.cert_kind, s.cert_number, o.last_positioned_at, o.last_lat, o.last_lon, MAX(s.at),
       COALESCE((
           SELECT group_concat(r.us, ' ' ORDER BY r.us DESC)
           FROM (
               SELECT CAST(ROUND(unixepoch(x.at, 'subsec') * 1000000) AS INTEGER) AS us
               FROM scans x
               WHERE x.cert_kind = s.cert_kind AND x.cert_number = s.cert_number
                 AND x.at >= datetime('now', '-1 day')
               ORDER BY x.at DESC
               LIMIT 100
           ) r
       ), '')
FROM scans s
LEFT JOIN scan_summaries o ON o.cert_kind = s.cert_kind AND o.cert_number = s.cert_number
WHERE s.cert_kind IS NOT NULL AND s.cert_number IS NOT NULL
GROUP BY s.cert_kind, s.cert_number;

-- A summary whose scans were purged keeps its position.
INSERT OR IGNORE INTO scan_summaries_new
    (cert_kind, cert_number, last_positioned_at, last_lat, last_lon, last_scan_at, recent_scans)
SELECT cert_kind, cert_number, last_positioned_at, last_lat, last_lon, last_positioned_at, ''
FROM scan_summaries;

DROP TABLE scan_summaries;
ALTER TABLE scan_summaries_new RENAME TO scan_summaries;
