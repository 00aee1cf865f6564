-- Registry core: enterprises, qualification certificates (QC), recycling
-- certificates (RC), tokens, the append-only event log and idempotency keys.
-- Timestamps are UTC; dates are calendar dates in China Standard Time.

CREATE TABLE enterprises (
    uscc TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    address TEXT NOT NULL,
    dismantling_sites TEXT NOT NULL, -- JSON array of NFC-normalised strings
    uscc_override_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE branches (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_uscc TEXT NOT NULL REFERENCES enterprises (uscc),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    uscc TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX branches_by_enterprise ON branches (enterprise_uscc);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('authority', 'enterprise', 'clerk', 'police')),
    enterprise_uscc TEXT REFERENCES enterprises (uscc),
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    CHECK ((role = 'enterprise') = (enterprise_uscc IS NOT NULL))
);

CREATE TABLE qualifications (
    number TEXT PRIMARY KEY NOT NULL,
    enterprise_uscc TEXT NOT NULL REFERENCES enterprises (uscc),
    issuing_authority TEXT NOT NULL,
    issued_on DATE NOT NULL,
    valid_until DATE,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    revocation_kind TEXT CHECK (revocation_kind IN ('withdrawn', 'penalty', 'cancelled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- An enterprise holds at most one QC that is not revoked.
CREATE UNIQUE INDEX qualifications_one_live_per_enterprise
    ON qualifications (enterprise_uscc) WHERE status <> 'revoked';

CREATE TABLE qualification_revisions (
    number TEXT NOT NULL REFERENCES qualifications (number),
    revision INTEGER NOT NULL,
    enterprise_name TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    address TEXT NOT NULL,
    dismantling_sites TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (number, revision)
);

CREATE TABLE qualification_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    number TEXT NOT NULL REFERENCES qualifications (number),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    kind TEXT,
    reason TEXT,
    at TIMESTAMP NOT NULL,
    effective_at TIMESTAMP NOT NULL
);
CREATE INDEX qualification_status_history_by_number
    ON qualification_status_history (number, effective_at);

CREATE TABLE recycling_certificates (
    number TEXT PRIMARY KEY NOT NULL,
    enterprise_uscc TEXT NOT NULL REFERENCES enterprises (uscc),
    qualification_number TEXT NOT NULL REFERENCES qualifications (number),
    branch_id TEXT REFERENCES branches (id),
    revision INTEGER NOT NULL DEFAULT 1,
    vin TEXT NOT NULL,
    vin_override_reason TEXT,
    plate TEXT NOT NULL,
    plate_type TEXT NOT NULL,
    vehicle_type TEXT NOT NULL,
    commercial BOOLEAN NOT NULL,
    brand_model TEXT NOT NULL,
    engine_number TEXT NOT NULL,
    fuel_type TEXT NOT NULL,
    battery_codes TEXT NOT NULL, -- JSON array
    owner_name TEXT NOT NULL,
    owner_id_type TEXT NOT NULL,
    owner_id_number TEXT NOT NULL,
    received_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'deregistered', 'voided')),
    registered_at TIMESTAMP NOT NULL,
    voided_at TIMESTAMP,
    void_reason TEXT,
    deregistered_at TIMESTAMP,
    deregistration_office TEXT
);
-- One vehicle, one RC: a VIN may appear on any number of voided RCs but on
-- at most one that is not voided.
CREATE UNIQUE INDEX recycling_certificates_one_live_per_vin
    ON recycling_certificates (vin) WHERE status <> 'voided';
CREATE INDEX recycling_certificates_by_enterprise ON recycling_certificates (enterprise_uscc);

-- At most one dismantling record per RC: the primary key enforces it.
CREATE TABLE dismantlings (
    rc_number TEXT PRIMARY KEY NOT NULL REFERENCES recycling_certificates (number),
    dismantled_on DATE NOT NULL,
    site TEXT NOT NULL,
    supervision_kind TEXT CHECK (supervision_kind IN ('on_site', 'video')),
    supervision_officer TEXT,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_role TEXT NOT NULL,
    actor_token_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX events_by_subject ON events (subject_kind, subject_id, seq);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE idempotency_keys (
    enterprise_uscc TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (enterprise_uscc, idempotency_key)
);
