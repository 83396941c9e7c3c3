-- flowdb archive, migration 0008: live capture (`flowdb capture -i IFACE`).
--
-- A live capture is one `ingest_run`: one assembler for the whole time it ran.
-- With `--write-pcap DIR`, each rotated pcap file it wrote is a `capture` row
-- (path: the file), written when the file is opened; its size and sha256 are
-- set when the file is closed, and the row is then 'complete' (connections
-- that continue into the next file are completed with it). Without
-- `--write-pcap`, the run has one row, whose path is 'live:IFACE' and whose
-- packets were not kept (they cannot be exported).
--
-- While the capture runs, the current file's row is 'running' and its counters
-- are brought up to date at every commit (every few seconds). A capture stopped
-- by SIGINT or SIGTERM marks it complete; one that was killed (or lost power)
-- leaves it 'running' until the next `flowdb capture` on the archive marks it
-- 'failed' with the reason; what it committed stays and is queryable.

-- The interface read (NULL: a file or standard input was ingested).
ALTER TABLE capture ADD COLUMN interface TEXT;
-- The BPF filter the packets passed (NULL: none).
ALTER TABLE capture ADD COLUMN filter TEXT;
-- The kernel's counters (libpcap's pcap_stats) while this row's packets were
-- captured: packets the kernel handed to the capture (Linux: that passed the
-- filter), packets it dropped because flowdb's buffer was full, and packets the
-- interface dropped. NULL for files. packets_received = packets + kernel_drops
-- (give or take the packets in the buffer when the file was switched).
ALTER TABLE capture ADD COLUMN packets_received INTEGER;
ALTER TABLE capture ADD COLUMN kernel_drops INTEGER;
ALTER TABLE capture ADD COLUMN interface_drops INTEGER;
-- When `flowdb capture --keep N` removed the file to make room (ns since the
-- epoch); its flows stay, but their packets can no longer be exported.
ALTER TABLE capture ADD COLUMN removed_at INTEGER;

-- The captures view gains the live columns (appended: the earlier ones keep
-- their names and order).
DROP VIEW captures;
CREATE VIEW captures AS
SELECT id, path, status, link_type_name AS link, packets, tcp_packets,
       packets - tcp_packets AS skipped, size,
       strftime('%Y-%m-%dT%H:%M:%S', (first_ts - (first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS first_time,
       strftime('%Y-%m-%dT%H:%M:%S', (last_ts - (last_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((last_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS last_time,
       strftime('%Y-%m-%dT%H:%M:%SZ', ingested_at / 1000000000, 'unixepoch') AS ingested,
       sha256,
       interface, kernel_drops, interface_drops,
       CASE WHEN removed_at IS NOT NULL THEN 'removed' END AS file
FROM capture;
