-- flowdb archive, migration 0017: archives by period.
--
-- `flowdb capture --archive-every 1h --archive-dir DIR` starts a new archive each
-- period. A flow still open at the boundary is written, as it stood, into the
-- archive that ends, and goes on as a new flow in the next one: the two rows point
-- at each other, each as `ARCHIVE:ID` (the other archive's file name and its flow
-- id, what `flowdb query --db DIR --flow` takes). `continues_from` is set when the
-- later flow is created; `continued_in` on the earlier one when the later archive
-- ends (an archive killed before its end leaves the earlier side unset).
ALTER TABLE flow ADD COLUMN continues_from TEXT;
ALTER TABLE flow ADD COLUMN continued_in TEXT;

-- Archives retention removed (`--keep-archives`, `--max-archive-bytes`), recorded in
-- the archive being written when they were: what was lost, and when.
CREATE TABLE archive_removed (
    path        TEXT    NOT NULL,   -- as it was
    archive_id  TEXT,
    first_ts    INTEGER,            -- its captures' span
    last_ts     INTEGER,
    bytes       INTEGER NOT NULL,
    removed_at  INTEGER NOT NULL,   -- ns since the epoch
    reason      TEXT    NOT NULL    -- '--keep-archives 24', '--max-archive-bytes 500GB'
) STRICT;
