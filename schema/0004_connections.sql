-- flowdb archive, migration 0004: connections as analysts count them.
--
-- A flow is now one TCP connection, named as Zeek's conn.log names it. Packets
-- that arrive after a connection closed (the last ACK, a retransmitted FIN or RST,
-- late data) are counted on it for the ingest's close delay instead of opening a
-- new flow; a SYN without ACK on the same addresses and ports still opens a new one.
--
-- The client is Zeek's originator: the sender of the first packet, except where
-- Zeek's rules flip the roles (a first packet that is a SYN-ACK, or one sent from
-- a well-known service port to a port that is not one); `history` then begins
-- with '^'. dir 0 in every table is originator -> responder.
--
-- What an archive upgraded from version 3 holds: the counters recomputed from its
-- own rows (missed bytes from `gap`, overlap and queued totals from the delivery
-- blocks); NULL where the packets are needed and were never stored (conn_state,
-- history, packets and IP bytes of every packet). Its flows stay as they were cut:
-- an old archive may still hold the empty trailing flows that 0004 no longer makes.

-- The former per-direction packet counts (packets whose bytes were delivered) keep
-- their values under a clearer name; c2s_packets / s2c_packets now count every packet.
ALTER TABLE flow RENAME COLUMN c2s_packets TO c2s_data_packets;
ALTER TABLE flow RENAME COLUMN s2c_packets TO s2c_data_packets;

-- Every packet of the connection in each direction, pure ACKs and packets after
-- the close included (Zeek's orig_pkts / resp_pkts).
ALTER TABLE flow ADD COLUMN c2s_packets INTEGER;
ALTER TABLE flow ADD COLUMN s2c_packets INTEGER;
-- IP-level bytes of those packets: each one's IP total length, header included
-- (Zeek's orig_ip_bytes / resp_ip_bytes).
ALTER TABLE flow ADD COLUMN c2s_ip_bytes INTEGER;
ALTER TABLE flow ADD COLUMN s2c_ip_bytes INTEGER;
-- Bytes in skipped gaps of known length (Zeek's missed_bytes, per direction).
ALTER TABLE flow ADD COLUMN c2s_missed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flow ADD COLUMN s2c_missed INTEGER NOT NULL DEFAULT 0;
-- Totals over the connection's deliveries, both directions (the sums of the
-- `delivery` columns of the same names): bytes and packets that overlapped bytes
-- already seen (retransmissions), and bytes and packets that waited out of order.
ALTER TABLE flow ADD COLUMN overlap_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flow ADD COLUMN overlap_packets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flow ADD COLUMN queued_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flow ADD COLUMN queued_packets INTEGER NOT NULL DEFAULT 0;
-- Zeek's connection state (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH)
-- and history letters, by Zeek's rules (docs/schema.md); NULL in upgraded archives.
ALTER TABLE flow ADD COLUMN conn_state TEXT
    CHECK (conn_state IN ('S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'));
ALTER TABLE flow ADD COLUMN history TEXT;

-- Sums as floating point (total), capped and cast back: a damaged archive's values
-- cannot make the upgrade fail on an integer overflow.
UPDATE flow SET
    c2s_missed = (SELECT CAST(min(total(length), 9.2e18) AS INTEGER) FROM gap WHERE gap.flow_id = flow.id AND gap.dir = 0),
    s2c_missed = (SELECT CAST(min(total(length), 9.2e18) AS INTEGER) FROM gap WHERE gap.flow_id = flow.id AND gap.dir = 1);

UPDATE flow SET (overlap_bytes, overlap_packets, queued_bytes, queued_packets) = (
    SELECT CAST(min(total(json_extract(r.value, '$[16]')), 9.2e18) AS INTEGER),
           CAST(min(total(json_extract(r.value, '$[17]')), 9.2e18) AS INTEGER),
           CAST(min(total(json_extract(r.value, '$[14]')), 9.2e18) AS INTEGER),
           CAST(min(total(json_extract(r.value, '$[15]')), 9.2e18) AS INTEGER)
    FROM delivery_block AS b, json_each(b.records) AS r
    WHERE b.flow_id = flow.id);

CREATE INDEX flow_by_conn_state ON flow(conn_state);
-- "Which connections saw overlapping retransmissions?" reads only those.
CREATE INDEX flow_by_overlap ON flow(overlap_bytes) WHERE overlap_bytes > 0;

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
       capture_id
FROM flow;
