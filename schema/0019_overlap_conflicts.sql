-- flowdb archive, migration 0019: overlap conflicts, the evidence of evasion.
--
-- When bytes arrive for a range a direction already had (delivered, or queued
-- out of order) and differ from the bytes held, the receiver's operating system
-- decides which copy its application reads. The stream stores one copy (gopacket's
-- choice: the earlier one where it was delivered, the later one where it was
-- queued); this table keeps both, where and when they came, and which one the
-- stream has. Identical retransmissions are not conflicts. `flowdb query --flow ID
-- --policy TARGET` rebuilds a direction as a target would have read it from these
-- rows; each conflict is also an anomaly (`rexmit_inconsistency`).
--
-- Positions are stream offsets of the direction, as in `delivery.stream_offset`.
-- Each copy is kept up to 4,096 bytes, and up to 262,144 bytes of copies per flow;
-- `bytes_cut` counts the bytes of the later copy not kept (its earlier copy is cut
-- the same way).
CREATE TABLE overlap_conflict (
    flow_id                INTEGER NOT NULL REFERENCES flow(id),
    dir                    INTEGER NOT NULL CHECK (dir IN (0, 1)),  -- 0: from the client
    stream_offset          INTEGER NOT NULL,  -- first byte of the overlap
    length                 INTEGER NOT NULL,  -- bytes in the overlap
    differing              INTEGER NOT NULL,  -- of which differ between the copies
    earlier_state          TEXT    NOT NULL CHECK (earlier_state IN ('delivered', 'queued')),
    earlier_ts             INTEGER,           -- capture time of the earlier copy's packet, ns (NULL: unknown)
    earlier_packet_index   INTEGER,           -- its index in its capture (Wireshark's frame number - 1)
    earlier_segment_offset INTEGER,           -- the whole earlier segment: where it starts (NULL: it was delivered)
    earlier_segment_length INTEGER,
    later_ts               INTEGER NOT NULL,
    later_packet_index     INTEGER NOT NULL,
    later_segment_offset   INTEGER NOT NULL,  -- the whole later segment
    later_segment_length   INTEGER NOT NULL,
    earlier_bytes          BLOB,              -- the earlier copy over the overlap (NULL when cut)
    later_bytes            BLOB,              -- the later copy
    bytes_cut              INTEGER NOT NULL DEFAULT 0,
    kept                   TEXT    NOT NULL CHECK (kept IN ('earlier', 'later'))  -- the copy the stream stores
) STRICT;

CREATE INDEX overlap_conflict_by_flow ON overlap_conflict(flow_id, dir, stream_offset);

-- how many a flow has; the partial index finds the flows that have some
ALTER TABLE flow ADD COLUMN overlap_conflicts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX flow_by_overlap_conflicts ON flow(overlap_conflicts) WHERE overlap_conflicts > 0;

-- the readable view gains the count at its end
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
       proto,
       community_id,
       overlap_conflicts
FROM flow;
