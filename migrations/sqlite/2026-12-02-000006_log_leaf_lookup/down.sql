DROP INDEX log_hashes_by_hash;
