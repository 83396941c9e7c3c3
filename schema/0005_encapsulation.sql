-- flowdb archive, migration 0005: the tunnels a connection travelled in, and IP
-- fragments put back together.
--
-- flowdb decodes through VXLAN, Geneve, GRE (with ERSPAN I-III), IP in IP, MPLS,
-- PPPoE, GTP-U, Teredo, AYIYA, 802.1ah PBB, VN-Tag, FabricPath and VLAN tags; a
-- flow is the innermost TCP connection. Connections under different VXLAN or
-- Geneve VNIs, GRE keys or PPPoE sessions are different connections, even with
-- the same inner addresses and ports.

-- The layers around the packet that opened the connection, outermost first, one
-- "kind[:id][ outer-source>outer-destination]" per layer, separated by " / ":
-- e.g. 'vxlan:4242 192.0.2.10>192.0.2.20' or 'vlan:10 / mpls:100'. NULL: none.
-- `flowdb query --tunnel TEXT` selects the flows whose chain contains TEXT.
ALTER TABLE flow ADD COLUMN encapsulation TEXT;

-- Packets of the capture that came through each kind of encapsulation, as a JSON
-- object ({"vxlan":1200,"vlan":40}; a packet counts once for each kind around it).
-- NULL: none, or an archive upgraded from version 4.
ALTER TABLE capture ADD COLUMN encapsulations TEXT;

-- IP defragmentation, per capture (its fragments are counted in skipped_fragments):
-- datagrams put back together; fragments dropped unused (their datagram timed out
-- or was evicted for memory); fragments whose bytes overlapped bytes already
-- received and differed (the first bytes are kept); datagrams that would exceed
-- 65,535 bytes (dropped). 0 in archives upgraded from version 4.
ALTER TABLE capture ADD COLUMN datagrams_reassembled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE capture ADD COLUMN fragments_expired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE capture ADD COLUMN fragment_overlaps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE capture ADD COLUMN oversized_datagrams INTEGER NOT NULL DEFAULT 0;

-- TCP segments whose header the IP length cut inside its options, the fixed 20
-- bytes whole (counted in tcp_packets: decoded without the options; the SYNs of
-- Mirai-style scanners look like this). 0 in archives upgraded from version 4.
ALTER TABLE capture ADD COLUMN tcp_headers_cut INTEGER NOT NULL DEFAULT 0;

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
       encapsulation,
       capture_id
FROM flow;
