DELETE FROM scan_summaries
WHERE last_positioned_at IS NULL OR last_lat IS NULL OR last_lon IS NULL;
ALTER TABLE scan_summaries
    DROP COLUMN recent_scans,
    DROP COLUMN last_scan_at,
    ALTER COLUMN last_positioned_at SET NOT NULL,
    ALTER COLUMN last_lat SET NOT NULL,
    ALTER COLUMN last_lon SET NOT NULL;
