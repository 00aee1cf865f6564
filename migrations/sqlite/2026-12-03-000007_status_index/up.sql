-- Status-list indexes (SPEC §13, the `si` claim): every RC and every QC
-- revision has one, unique within its kind. Certificates stored before
-- indexes existed get theirs here, in the order they were registered, so
-- the list covers them too; their QRs carry no `si` and are found by
-- number (`GET /api/v1/status-lists/{kind}/index/{number}`).
ALTER TABLE recycling_certificates ADD COLUMN status_index BIGINT;
ALTER TABLE qualification_revisions ADD COLUMN status_index BIGINT;

WITH ordered AS (
    SELECT number, ROW_NUMBER() OVER (ORDER BY registered_at, number) - 1 AS si
    FROM recycling_certificates
)
UPDATE recycling_certificates SET status_index = ordered.si
FROM ordered WHERE ordered.number = recycling_certificates.number;

WITH ordered AS (
    SELECT number, revision,
           ROW_NUMBER() OVER (ORDER BY created_at, number, revision) - 1 AS si
    FROM qualification_revisions
)
UPDATE qualification_revisions SET status_index = ordered.si
FROM ordered
WHERE ordered.number = qualification_revisions.number
  AND ordered.revision = qualification_revisions.revision;

CREATE UNIQUE INDEX rc_status_index ON recycling_certificates (status_index);
CREATE UNIQUE INDEX qc_revision_status_index ON qualification_revisions (status_index);
