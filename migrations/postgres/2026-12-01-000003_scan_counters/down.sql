DROP TABLE scan_summaries;
DROP TABLE scan_counters;
