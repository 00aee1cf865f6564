-- The USCC checksum override (SPEC §14) for an RC's owner (an organisation
-- owner whose code fails its check character) and for a branch's own USCC,
-- kept on the record like the enterprise's and the VIN's.
ALTER TABLE recycling_certificates ADD COLUMN owner_id_override_reason TEXT;
ALTER TABLE branches ADD COLUMN uscc_override_reason TEXT;
