DROP TABLE log_leaf_hashes;
