-- flowdb archive, migration 0015: Community ID.
--
-- `community_id` is the flow's Community ID v1 (corelight/community-id-spec, seed
-- 0): "1:" and the base64 of a SHA-1 over the flow's addresses, IP protocol and
-- ports (for ICMP its type and code), the same whichever side is hashed first. Zeek,
-- Suricata, Arkime and most SIEMs log the same value, so their records join
-- flowdb's flows on it. It is written with each flow's first row; rows of an older
-- archive get theirs when `flowdb ingest` upgrades it (SQLite has no SHA-1 of its
-- own). Indexed: `flowdb query --community-id` and the joins look flows up by it.
ALTER TABLE flow ADD COLUMN community_id TEXT;
CREATE INDEX flow_by_community_id ON flow(community_id);

-- the readable view gains the column at its end
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
       community_id
FROM flow;
