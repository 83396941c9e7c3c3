-- flowdb archive, migration 0016: the archive's own identity.
--
-- One row: `archive_id`, a random UUID (version 4) given when the archive is
-- created (or when an older one is upgraded) and never changed, so records
-- exported from it (`flowdb export`) name the archive they lead back to, wherever
-- its file is moved or renamed; and when that was. The time span of what it holds
-- is its captures' (`archive_info`): a few rows, read without touching the flows,
-- so a query of many archives skips those outside its interval.
CREATE TABLE archive (
    archive_id  TEXT    NOT NULL,   -- lower-case UUID, 8-4-4-4-12 hex digits
    created_at  INTEGER NOT NULL    -- ns since the epoch
) STRICT;

INSERT INTO archive (archive_id, created_at)
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
           || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12),
       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000000
FROM (SELECT lower(hex(randomblob(16))) AS h);

CREATE VIEW archive_info AS
SELECT a.archive_id,
       a.created_at,
       (SELECT min(first_ts) FROM capture) AS first_ts,
       (SELECT max(last_ts) FROM capture) AS last_ts,
       (SELECT count(*) FROM capture) AS captures
FROM archive AS a;
