-- The campaign desk's pages (SPEC §17): sign-in sessions kept on the server,
-- so that signing out or revoking the token ends them at once. Only the
-- SHA-256 of a session's cookie is stored, as for tokens.
CREATE TABLE desk_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_id TEXT NOT NULL REFERENCES tokens (id),
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX desk_sessions_by_token ON desk_sessions (token_id);

-- The holder_mismatch worklist (SPEC §17): an officer's scan keeps the codes
-- of the findings it raised and the enterprise that presented the
-- certificate (no personal data).
ALTER TABLE scans ADD COLUMN findings TEXT;
ALTER TABLE scans ADD COLUMN presented_uscc TEXT;
CREATE INDEX scans_presented ON scans (at) WHERE presented_uscc IS NOT NULL;
