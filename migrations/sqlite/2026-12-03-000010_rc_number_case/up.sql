-- RC numbers are unique without regard to ASCII case (SPEC §14): "RC-1"
-- and "rc-1" cannot both be registered. Numbers are ASCII letters, digits
-- and '-', so lower() folds exactly ASCII case on both backends; they are
-- stored and signed as given, and looked up through this index.
CREATE UNIQUE INDEX rc_number_nocase ON recycling_certificates (lower(number));
