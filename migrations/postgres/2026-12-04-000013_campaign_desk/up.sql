-- The campaign desk (SPEC §17): the 摸排表's rows with their match against
-- the registry, and the problem ledger's cases (问题清单、整治台账).
CREATE TABLE survey_entries (
    id TEXT PRIMARY KEY NOT NULL,
    division TEXT NOT NULL,
    township TEXT NOT NULL,
    site_name TEXT NOT NULL,
    address TEXT NOT NULL,
    business_scope TEXT NOT NULL,
    parts_flow TEXT NOT NULL,
    reporter TEXT NOT NULL,
    reporter_phone TEXT NOT NULL,
    found_on DATE NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    note TEXT,
    site_match TEXT NOT NULL CHECK (site_match IN ('qualified_site', 'filed_branch', 'none')),
    matched_uscc TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_entries_by_place ON survey_entries (division, township, created_at);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    division TEXT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('site', 'enterprise', 'rc', 'vehicle', 'qc')),
    subject_ref TEXT NOT NULL,
    offence TEXT NOT NULL CHECK (offence IN ('unqualified_dismantling', 'rc_irregular',
        'repair_of_scrapped', 'qc_fraud', 'rc_fraud', 'other')),
    source TEXT NOT NULL CHECK (source IN ('survey', 'complaint', 'scan', 'inspection', 'worklist')),
    township TEXT NOT NULL,
    found_on DATE NOT NULL,
    responsible_unit TEXT NOT NULL,
    deadline DATE,
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'rectifying', 'closed', 'referred_to_police')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cases_by_place ON cases (division, township, status);

-- Complaints from the public (举报, the campaign plan 六(二)): the contact is
-- shown to the authority only.
CREATE TABLE complaints (
    id TEXT PRIMARY KEY NOT NULL,
    receipt TEXT NOT NULL UNIQUE,
    division TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('illegal_dismantling', 'certificate_fraud',
        'repair_of_scrapped', 'pollution', 'other')),
    text TEXT NOT NULL,
    location TEXT,
    certificate TEXT,
    contact TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_by_division ON complaints (division, received_at);
