DROP INDEX rc_number_nocase;
