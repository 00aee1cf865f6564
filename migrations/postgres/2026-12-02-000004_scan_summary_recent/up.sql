-- The per-certificate scan summary (SPEC §11) now also holds the officer
-- scans of the last 24 hours, so that the anomaly rules read one row: the
-- newest officer scan times as microseconds since 1970-01-01 UTC, newest
-- first, separated by spaces (the service keeps daily limit + 1 of them).
-- Every certificate with an officer scan has a summary; its position
-- columns stay empty until a scan carries a position.

ALTER TABLE scan_summaries
    ALTER COLUMN last_positioned_at DROP NOT NULL,
    ALTER COLUMN last_lat DROP NOT NULL,
    ALTER COLUMN last_lon DROP NOT NULL,
    ADD COLUMN last_scan_at TIMESTAMP,
    ADD COLUMN recent_scans TEXT NOT NULL DEFAULT '';

-- The officer scans already stored: the newest 100 of the last day each.
INSERT INTO scan_summaries AS o (cert_kind, cert_number, last_scan_at, recent_scans)
SELECT s.cert_kind, s.cert_number, MAX(s.at),
       COALESCE((
           SELECT string_agg(r.us::text, ' ' ORDER BY r.us DESC)
           FROM (
               SELECT ROUND(EXTRACT(EPOCH FROM x.at) * 1000000)::bigint AS us
               FROM scans x
               WHERE x.cert_kind = s.cert_kind AND x.cert_number = s.cert_number
                 AND x.at >= (now() AT TIME ZONE 'UTC') - INTERVAL '1 day'
               ORDER BY x.at DESC
               LIMIT 100
           ) r
       ), '')
FROM scans s
WHERE s.cert_kind IS NOT NULL AND s.cert_number IS NOT NULL
GROUP BY s.cert_kind, s.cert_number
ON CONFLICT (cert_kind, cert_number)
DO UPDATE SET last_scan_at = EXCLUDED.last_scan_at, recent_scans = EXCLUDED.recent_scans;

-- A summary without any officer scan behind it (its scans purged).
UPDATE scan_summaries SET last_scan_at = last_positioned_at WHERE last_scan_at IS NULL;

ALTER TABLE scan_summaries
    ALTER COLUMN last_scan_at SET NOT NULL,
    ALTER COLUMN recent_scans DROP DEFAULT;
