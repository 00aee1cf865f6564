-- Holds on vehicles (SPEC §14; 管理办法 第10条, 细则 第21条, 机动车登记规定
-- 第42条): placed by police or the authority (`active`), or reported by an
-- enterprise (`reported`, in force until police confirm or release it).
-- A hold names a VIN, an engine number or a plate (any of them, at least
-- one); an RC matches when any named identifier equals the RC's.
CREATE TABLE holds (
    id TEXT PRIMARY KEY NOT NULL,
    vin TEXT,
    engine_number TEXT,
    plate TEXT,
    reason TEXT NOT NULL CHECK (reason IN ('stolen', 'seized', 'tampered_identifier', 'other')),
    note TEXT NOT NULL,
    case_number TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'reported', 'released')),
    placed_at TIMESTAMP NOT NULL,
    placed_by_role TEXT NOT NULL,
    placed_by_token TEXT,
    confirmed_at TIMESTAMP,
    released_at TIMESTAMP,
    release_reason TEXT,
    CHECK (vin IS NOT NULL OR engine_number IS NOT NULL OR plate IS NOT NULL),
    CHECK ((status = 'released') = (released_at IS NOT NULL))
);

-- The holds in force, by each identifier: what registration, verification
-- and deregistration look up.
CREATE INDEX holds_vin ON holds (vin) WHERE status <> 'released';
CREATE INDEX holds_engine_number ON holds (engine_number) WHERE status <> 'released';
CREATE INDEX holds_plate ON holds (plate) WHERE status <> 'released';
