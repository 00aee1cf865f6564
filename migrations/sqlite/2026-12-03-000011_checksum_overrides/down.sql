ALTER TABLE branches DROP COLUMN uscc_override_reason;
ALTER TABLE recycling_certificates DROP COLUMN owner_id_override_reason;
