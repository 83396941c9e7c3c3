-- flowdb archive, migration 0001: the initial schema.
--
-- This file is the single source of the archive's SQL: flowdb embeds it at build
-- time and runs it, in a transaction, on an archive whose schema_version is below 1.
-- Migrations are applied in file-name order and are never edited once released;
-- a change of schema is a new file.
--
-- Conventions: every timestamp is INTEGER nanoseconds since the Unix epoch (UTC);
-- dir is 0 for client -> server and 1 for server -> client; the client is the
-- source of the packet that made the assembler create the stream.

-- Bookkeeping: one row per applied migration. PRAGMA user_version holds the
-- number of the last one, so `sqlite3 archive 'PRAGMA user_version'` tells it too.
CREATE TABLE schema_migration (
    version     INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
) STRICT;

-- One row per ingested capture file, with what the decoder made of its packets.
CREATE TABLE capture (
    id                  INTEGER PRIMARY KEY,
    ingest_run          INTEGER NOT NULL,           -- captures read by one `flowdb ingest` (one assembler) share it
    path                TEXT    NOT NULL,           -- as given to ingest; '-' for standard input
    sha256              TEXT,                       -- hex digest of the file's bytes (NULL for stdin)
    size                INTEGER NOT NULL DEFAULT 0, -- bytes of the file (bytes read, for stdin)
    link_type           INTEGER NOT NULL,           -- DLT_ number as libpcap reports it
    link_type_name      TEXT    NOT NULL,
    snaplen             INTEGER NOT NULL,
    packets             INTEGER NOT NULL DEFAULT 0, -- packet records read
    bytes               INTEGER NOT NULL DEFAULT 0, -- captured bytes of those records
    tcp_packets         INTEGER NOT NULL DEFAULT 0, -- records that carried a TCP segment
    truncated_payloads  INTEGER NOT NULL DEFAULT 0, -- TCP segments whose payload the snaplen cut
    skipped_non_ip      INTEGER NOT NULL DEFAULT 0, -- skipped: not IPv4/IPv6 (ARP, LLC, ...)
    skipped_non_tcp     INTEGER NOT NULL DEFAULT 0, -- skipped: IP but not TCP
    skipped_fragments   INTEGER NOT NULL DEFAULT 0, -- skipped: IP fragments
    skipped_malformed   INTEGER NOT NULL DEFAULT 0, -- skipped: inconsistent headers
    skipped_truncated   INTEGER NOT NULL DEFAULT 0, -- skipped: headers cut by the snaplen
    skipped_link_type   INTEGER NOT NULL DEFAULT 0, -- skipped: a link-layer type flowdb does not decode
    first_ts            INTEGER,                    -- time of the first packet
    last_ts             INTEGER,                    -- time of the last packet
    ingested_at         INTEGER NOT NULL,           -- when the ingest of this file began
    finished_at         INTEGER,                    -- when it ended; NULL while running or after a crash
    status              TEXT    NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'complete', 'failed')),
    error               TEXT                        -- why it failed, for status 'failed'
) STRICT;
CREATE INDEX capture_by_sha256 ON capture(sha256);
CREATE INDEX capture_by_run ON capture(ingest_run);

-- One row per stream the assembler created, in creation order.
CREATE TABLE flow (
    id              INTEGER PRIMARY KEY,
    capture_id      INTEGER NOT NULL REFERENCES capture(id),  -- file of the packet that created it
    ip_version      INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    client_ip       TEXT    NOT NULL,   -- dotted quad, or RFC 5952 text for IPv6
    client_port     INTEGER NOT NULL,
    server_ip       TEXT    NOT NULL,
    server_port     INTEGER NOT NULL,
    client_ip_key   BLOB    NOT NULL,   -- 16 bytes, IPv4 as ::ffff:a.b.c.d; for CIDR ranges
    server_ip_key   BLOB    NOT NULL,
    first_ts        INTEGER NOT NULL,   -- time of the packet that created the stream
    last_ts         INTEGER NOT NULL,   -- time of the last packet seen on it
    first_packet    INTEGER NOT NULL,   -- index of the creating packet in its capture
    c2s_bytes       INTEGER NOT NULL DEFAULT 0,  -- reassembled bytes, client -> server
    s2c_bytes       INTEGER NOT NULL DEFAULT 0,  -- reassembled bytes, server -> client
    c2s_stored      INTEGER NOT NULL DEFAULT 0,  -- of those, bytes kept in the archive
    s2c_stored      INTEGER NOT NULL DEFAULT 0,
    c2s_packets     INTEGER NOT NULL DEFAULT 0,  -- packets that carried delivered bytes
    s2c_packets     INTEGER NOT NULL DEFAULT 0,
    gaps            INTEGER NOT NULL DEFAULT 0,  -- skipped gaps, both directions
    c2s_closed      INTEGER NOT NULL DEFAULT 0,  -- a delivery marked the end (FIN/RST)
    s2c_closed      INTEGER NOT NULL DEFAULT 0,
    complete        INTEGER NOT NULL DEFAULT 0   -- the assembler finished the stream
) STRICT;
CREATE INDEX flow_by_server_port ON flow(server_port);
CREATE INDEX flow_by_client_port ON flow(client_port);
CREATE INDEX flow_by_server_ip   ON flow(server_ip_key);
CREATE INDEX flow_by_client_ip   ON flow(client_ip_key);
CREATE INDEX flow_by_first_ts    ON flow(first_ts);
CREATE INDEX flow_by_capture     ON flow(capture_id);

-- Stored payload: one row holds a run of one direction's bytes of one flow, as
-- delivered in order, cut at delivery boundaries; chunk rows point into it.
CREATE TABLE payload (
    id              INTEGER PRIMARY KEY,
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    dir             INTEGER NOT NULL CHECK (dir IN (0, 1)),
    stream_offset   INTEGER NOT NULL,   -- stream offset of the first byte of data
    data            BLOB    NOT NULL
) STRICT;
CREATE INDEX payload_by_flow ON payload(flow_id, dir, stream_offset);

-- One row per delivery (gopacket's ReassembledSG call), in call order, including
-- deliveries of zero bytes. Read it through the `chunk` view, which adds the bytes.
CREATE TABLE delivery (
    id              INTEGER PRIMARY KEY,
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    dir             INTEGER NOT NULL CHECK (dir IN (0, 1)),
    is_start        INTEGER NOT NULL CHECK (is_start IN (0, 1)),
    is_end          INTEGER NOT NULL CHECK (is_end IN (0, 1)),
    skip            INTEGER NOT NULL,   -- bytes skipped before this delivery; -1: unknown
    length          INTEGER NOT NULL,   -- bytes delivered
    stored          INTEGER NOT NULL,   -- of those, bytes kept (fewer with --max-bytes-per-flow)
    payload_id      INTEGER REFERENCES payload(id),  -- NULL when nothing is stored
    payload_offset  INTEGER,            -- where the stored bytes start in payload.data
    stream_offset   INTEGER NOT NULL,   -- offset of the first byte in its direction's stream
    ts_first        INTEGER,            -- capture time of the first byte; NULL for 0 bytes
    ts_last         INTEGER,            -- capture time of the last byte
    packets         INTEGER NOT NULL,   -- the delivery's statistics, as gopacket's Stats()
    chunks          INTEGER NOT NULL,
    queued_bytes    INTEGER NOT NULL,
    queued_packets  INTEGER NOT NULL,
    overlap_bytes   INTEGER NOT NULL,
    overlap_packets INTEGER NOT NULL
) STRICT;
CREATE INDEX delivery_by_flow ON delivery(flow_id, dir, stream_offset);

-- One row per skipped gap: bytes the capture never saw.
CREATE TABLE gap (
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    dir             INTEGER NOT NULL CHECK (dir IN (0, 1)),
    stream_offset   INTEGER NOT NULL,   -- where the missing bytes start
    length          INTEGER,            -- how many are missing; NULL: unknown
    ts              INTEGER             -- capture time of the delivery that skipped them
) STRICT;
CREATE INDEX gap_by_flow ON gap(flow_id, dir);

-- The chunk contract: a delivery with its bytes.
CREATE VIEW chunk AS
SELECT d.id, d.flow_id, d.dir, d.is_start, d.is_end, d.skip, d.length,
       CASE WHEN d.payload_id IS NULL THEN zeroblob(0)
            ELSE substr(p.data, d.payload_offset + 1, d.stored) END AS data,
       d.stream_offset, d.ts_first, d.ts_last, d.packets, d.chunks,
       d.queued_bytes, d.queued_packets, d.overlap_bytes, d.overlap_packets
FROM delivery AS d LEFT JOIN payload AS p ON p.id = d.payload_id;

-- Readable views for people in the sqlite3 shell. Times are ISO 8601 UTC with
-- microseconds; durations in seconds.
CREATE VIEW captures AS
SELECT id, path, status, link_type_name AS link, packets, tcp_packets,
       packets - tcp_packets AS skipped, size,
       strftime('%Y-%m-%dT%H:%M:%S', first_ts / 1000000000, 'unixepoch')
           || printf('.%06dZ', (first_ts % 1000000000) / 1000) AS first_time,
       strftime('%Y-%m-%dT%H:%M:%S', last_ts / 1000000000, 'unixepoch')
           || printf('.%06dZ', (last_ts % 1000000000) / 1000) AS last_time,
       strftime('%Y-%m-%dT%H:%M:%SZ', ingested_at / 1000000000, 'unixepoch') AS ingested,
       sha256
FROM capture;

CREATE VIEW flows AS
SELECT id,
       strftime('%Y-%m-%dT%H:%M:%S', first_ts / 1000000000, 'unixepoch')
           || printf('.%06dZ', (first_ts % 1000000000) / 1000) AS start,
       round((last_ts - first_ts) / 1e9, 6) AS duration,
       CASE ip_version WHEN 6 THEN '[' || client_ip || ']' ELSE client_ip END || ':' || client_port AS client,
       CASE ip_version WHEN 6 THEN '[' || server_ip || ']' ELSE server_ip END || ':' || server_port AS server,
       c2s_bytes, s2c_bytes, c2s_packets + s2c_packets AS packets, gaps,
       CASE WHEN c2s_closed AND s2c_closed THEN 'closed'
            WHEN c2s_closed OR s2c_closed THEN 'half-closed'
            ELSE 'open' END AS state,
       capture_id
FROM flow;
