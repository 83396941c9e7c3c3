-- flowdb archive, migration 0013: UDP and ICMP flows.
--
-- Every flow now has a transport, `proto`, spelled as Zeek's conn.log spells it:
-- 'tcp', 'udp' or 'icmp' (ICMPv6 too). Rows written before are TCP connections.
--
-- A UDP flow is a 5-tuple (and tenant zone) within Zeek's udp_inactivity_timeout;
-- its originator is the first sender unless the likely-server-port rule turns it
-- around. An ICMP echo exchange is one flow per addresses and identifier; any
-- other ICMP message (errors, neighbour discovery) is a flow per addresses, type
-- and code. For ICMP, `client_port` and `server_port` hold the type and code, as
-- Zeek's id.orig_p and id.resp_p do. Each datagram's payload (an ICMP message's
-- body after its 8-byte header) is one delivery, so the chunk and delivery views,
-- `query --show` and `--extract` read datagram flows as they read TCP streams.
--
-- `conn_state` follows Zeek: UDP is 'SF' (both sides sent), 'S0' (only the
-- originator), 'SHR' (only the responder); ICMP is 'OTH'. UDP's `history` is
-- Zeek's 'D'/'d' (a datagram from each side); ICMP's is NULL.
--
-- `app` takes the names of datagram protocols too ('dns', 'quic'). SQLite cannot
-- change a CHECK in place: the table is rebuilt, its rows copied (payload is kept
-- elsewhere, so this copies only the flows' own columns). The rebuilt table keeps
-- the value sets of `conn_state`, `app` and `proto` in its comments rather than in
-- CHECK constraints: SQLite evaluates those on every insert and update of the
-- table flowdb writes most, and measured on 100,000 inserts they were 43% of the
-- time (the new `proto` one alone 15%); flowdb alone writes these columns.
-- Renamed in legacy mode, the old table leaves the views and the other tables'
-- references naming `flow`, which the new table then is.
PRAGMA legacy_alter_table = ON;
ALTER TABLE flow RENAME TO flow_before_0013;

CREATE TABLE flow (
    id              INTEGER PRIMARY KEY,
    capture_id      INTEGER NOT NULL REFERENCES capture(id),     -- file of the packet that created it
    ip_version      INTEGER NOT NULL CHECK (ip_version IN (4, 6)),
    client_ip       TEXT    NOT NULL,                            -- dotted quad, or RFC 5952 text for IPv6
    client_port     INTEGER NOT NULL,
    server_ip       TEXT    NOT NULL,
    server_port     INTEGER NOT NULL,
    client_ip_key   BLOB    NOT NULL,                            -- 16 bytes, IPv4 as ::ffff:a.b.c.d; for CIDR ranges
    server_ip_key   BLOB    NOT NULL,
    first_ts        INTEGER NOT NULL,                            -- time of the packet that created the stream
    last_ts         INTEGER NOT NULL,                            -- time of the last packet seen on it
    first_packet    INTEGER NOT NULL,                            -- index of the creating packet in its capture
    c2s_bytes       INTEGER NOT NULL DEFAULT 0,                  -- reassembled bytes (datagrams: payload), client -> server
    s2c_bytes       INTEGER NOT NULL DEFAULT 0,                  -- reassembled bytes, server -> client
    c2s_stored      INTEGER NOT NULL DEFAULT 0,                  -- of those, bytes kept in the archive
    s2c_stored      INTEGER NOT NULL DEFAULT 0,
    c2s_data_packets INTEGER NOT NULL DEFAULT 0,                 -- packets that carried delivered bytes
    s2c_data_packets INTEGER NOT NULL DEFAULT 0,
    gaps            INTEGER NOT NULL DEFAULT 0,                  -- skipped gaps, both directions
    c2s_closed      INTEGER NOT NULL DEFAULT 0,                  -- a delivery marked the end (FIN/RST)
    s2c_closed      INTEGER NOT NULL DEFAULT 0,
    complete        INTEGER NOT NULL DEFAULT 0,                  -- the assembler finished the stream
    c2s_packets     INTEGER,                                     -- every packet, client -> server
    s2c_packets     INTEGER,                                     -- every packet, server -> client
    c2s_ip_bytes    INTEGER,                                     -- their IP lengths, as Zeek's orig_ip_bytes
    s2c_ip_bytes    INTEGER,                                     -- as Zeek's resp_ip_bytes
    c2s_missed      INTEGER NOT NULL DEFAULT 0,                  -- bytes in skipped gaps of known length (datagrams: cut by the snaplen)
    s2c_missed      INTEGER NOT NULL DEFAULT 0,
    overlap_bytes   INTEGER NOT NULL DEFAULT 0,                  -- bytes dropped as overlaps (TCP)
    overlap_packets INTEGER NOT NULL DEFAULT 0,
    queued_bytes    INTEGER NOT NULL DEFAULT 0,                  -- bytes queued out of order (TCP)
    queued_packets  INTEGER NOT NULL DEFAULT 0,
    conn_state      TEXT,                                        -- Zeek's conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH
    history         TEXT,                                        -- Zeek's history letters
    encapsulation   TEXT,                                        -- the tunnels around the packet that opened it
    packet_blocks   INTEGER NOT NULL DEFAULT 0,                  -- packet_block rows before the tail below
    packet_capture_id INTEGER,
    packet_records  TEXT,                                        -- the latest packets' records (JSON)
    app             TEXT,                                        -- the application protocol recognised: http tls ssh dns quic
    app_host        TEXT,                                        -- its host: HTTP Host, TLS SNI
    proto           TEXT NOT NULL DEFAULT 'tcp'                  -- transport, as Zeek's conn.log: tcp udp icmp
) STRICT;

INSERT INTO flow (id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
                          server_ip_key, first_ts, last_ts, first_packet, c2s_bytes, s2c_bytes, c2s_stored, s2c_stored,
                          c2s_data_packets, s2c_data_packets, gaps, c2s_closed, s2c_closed, complete, c2s_packets,
                          s2c_packets, c2s_ip_bytes, s2c_ip_bytes, c2s_missed, s2c_missed, overlap_bytes, overlap_packets,
                          queued_bytes, queued_packets, conn_state, history, encapsulation, packet_blocks,
                          packet_capture_id, packet_records, app, app_host, proto)
SELECT id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key,
       server_ip_key, first_ts, last_ts, first_packet, c2s_bytes, s2c_bytes, c2s_stored, s2c_stored,
       c2s_data_packets, s2c_data_packets, gaps, c2s_closed, s2c_closed, complete, c2s_packets,
       s2c_packets, c2s_ip_bytes, s2c_ip_bytes, c2s_missed, s2c_missed, overlap_bytes, overlap_packets,
       queued_bytes, queued_packets, conn_state, history, encapsulation, packet_blocks,
       packet_capture_id, packet_records, app, app_host, 'tcp'
FROM flow_before_0013;

DROP TABLE flow_before_0013;
PRAGMA legacy_alter_table = OFF;

-- the indexes went with the old table
CREATE INDEX flow_by_capture     ON flow(capture_id);
CREATE INDEX flow_by_client_ip   ON flow(client_ip_key);
CREATE INDEX flow_by_server_ip   ON flow(server_ip_key);
CREATE INDEX flow_by_client_port ON flow(client_port);
CREATE INDEX flow_by_server_port ON flow(server_port);
CREATE INDEX flow_by_first_ts    ON flow(first_ts);
CREATE INDEX flow_by_conn_state  ON flow(conn_state);
CREATE INDEX flow_by_duration    ON flow(last_ts - first_ts);
CREATE INDEX flow_by_overlap     ON flow(overlap_bytes) WHERE overlap_bytes > 0;
CREATE INDEX flow_by_app         ON flow(app) WHERE app IS NOT NULL;
CREATE INDEX flow_by_app_host    ON flow(app_host) WHERE app_host IS NOT NULL;
CREATE INDEX flow_by_proto       ON flow(proto) WHERE proto <> 'tcp';

-- Per capture: the UDP datagrams and ICMP messages read (each a packet of a
-- datagram flow); `skipped_non_tcp` now counts the IP packets that are none of
-- TCP, UDP and ICMP.
ALTER TABLE capture ADD COLUMN udp_packets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE capture ADD COLUMN icmp_packets INTEGER NOT NULL DEFAULT 0;
-- Datagram flows the tracker let go before their timeout because it held its
-- maximum (a flood of one-packet flows): each was written, and a later packet
-- of it starts a new flow.
ALTER TABLE capture ADD COLUMN datagram_flows_evicted INTEGER NOT NULL DEFAULT 0;

-- The captures view: `skipped` no longer counts the datagrams and messages now read,
-- whose counts follow the columns it had.
DROP VIEW captures;
CREATE VIEW captures AS
SELECT id, path, status, link_type_name AS link, packets, tcp_packets,
       packets - tcp_packets - udp_packets - icmp_packets AS skipped, size,
       strftime('%Y-%m-%dT%H:%M:%S', (first_ts - (first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS first_time,
       strftime('%Y-%m-%dT%H:%M:%S', (last_ts - (last_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((last_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS last_time,
       strftime('%Y-%m-%dT%H:%M:%SZ', ingested_at / 1000000000, 'unixepoch') AS ingested,
       sha256,
       interface, kernel_drops, interface_drops,
       CASE WHEN removed_at IS NOT NULL THEN 'removed' END AS file,
       udp_packets, icmp_packets, datagram_flows_evicted
FROM capture;

-- The flows view shows the transport after the columns it had.
DROP VIEW flows;
CREATE VIEW flows AS
SELECT id,
       strftime('%Y-%m-%dT%H:%M:%S', (first_ts - (first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS start,
       round((last_ts - first_ts) / 1e9, 6) AS duration,
       CASE ip_version WHEN 6 THEN '[' || client_ip || ']' ELSE client_ip END || ':' || client_port AS client,
       CASE ip_version WHEN 6 THEN '[' || server_ip || ']' ELSE server_ip END || ':' || server_port AS server,
       c2s_bytes, s2c_bytes,
       coalesce(c2s_packets + s2c_packets, c2s_data_packets + s2c_data_packets) AS packets,
       gaps,
       CASE
            WHEN proto <> 'tcp' THEN CASE conn_state WHEN 'SF' THEN 'answered' WHEN 'S0' THEN 'unanswered'
                                                      WHEN 'SHR' THEN 'responder only' ELSE 'seen' END
            WHEN conn_state = 'SF' THEN 'closed'
            WHEN conn_state IN ('RSTO', 'RSTR', 'RSTOS0', 'RSTRH') THEN 'reset'
            WHEN conn_state = 'REJ' THEN 'rejected'
            WHEN conn_state = 'S0' THEN 'attempt'
            WHEN conn_state IN ('S2', 'S3', 'SH', 'SHR') THEN 'half-closed'
            WHEN conn_state = 'S1' THEN 'open'
            WHEN conn_state = 'OTH' THEN 'midstream'
            -- archives upgraded from version 3: what the deliveries tell
            WHEN c2s_closed AND s2c_closed THEN 'closed'
            WHEN c2s_closed OR s2c_closed THEN 'half-closed'
            ELSE 'open' END AS state,
       conn_state, history,
       c2s_missed + s2c_missed AS missed, overlap_bytes,
       encapsulation,
       capture_id,
       app, app_host,
       proto
FROM flow;
