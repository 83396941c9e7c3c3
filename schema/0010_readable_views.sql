-- flowdb archive, migration 0010: what was said, readable in the sqlite3 shell.
--
-- The `flows` view gains the application protocol and host of 0007 (appended:
-- the earlier columns keep their names and order). Three views show the `http`,
-- `tls` and `ssh` tables the way `flows` shows `flow`, named after the Zeek log
-- each mirrors (http.log, ssl.log, ssh.log): times as ISO 8601 UTC text (the
-- expression of `flows` and `captures` since 0002), the connection's id and
-- endpoints from `flow`, then the table's columns under their own names, in
-- Zeek's order where Zeek logs the field, the others after; flags as 'yes' or
-- 'no' (NULL stays NULL: not known).

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
       capture_id,
       app, app_host
FROM flow;

-- One row per HTTP transaction (Zeek's http.log). ts: the request's first byte
-- (NULL for a response whose request was not seen).
CREATE VIEW http_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', (h.ts - (h.ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((h.ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS ts,
       h.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port,
       h.trans_depth, h.method, h.host, h.uri, h.referrer, h.version, h.user_agent, h.origin,
       h.request_body_len, h.response_body_len, h.status_code, h.status_msg,
       h.informational,
       h.request_content_type, h.response_content_type,
       h.request_headers, h.response_headers,
       h.request_body_offset, h.request_body_wire_len, h.response_body_offset, h.response_body_wire_len,
       CASE h.request_chunked WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS request_chunked,
       CASE h.response_chunked WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS response_chunked,
       CASE h.incomplete WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS incomplete
FROM http AS h JOIN flow AS f ON f.id = h.flow_id;

-- One row per TLS handshake (Zeek's ssl.log). ts: the ClientHello's first byte;
-- not_before, not_after: the server certificate's validity.
CREATE VIEW tls_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', (t.ts - (t.ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS ts,
       t.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port,
       t.version, t.cipher, t.curve, t.server_name,
       CASE t.resumed WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS resumed,
       t.next_protocol,
       CASE t.established WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS established,
       t.cert_chain_sha256, t.subject, t.issuer,
       t.client_version, t.alpn_offered,
       t.ja3, t.ja3s, t.ja4,
       t.serial,
       strftime('%Y-%m-%dT%H:%M:%S', (t.not_before - (t.not_before % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.not_before % 1000000000 + 1000000000) % 1000000000) / 1000) AS not_before,
       strftime('%Y-%m-%dT%H:%M:%S', (t.not_after - (t.not_after % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.not_after % 1000000000 + 1000000000) % 1000000000) / 1000) AS not_after
FROM tls AS t JOIN flow AS f ON f.id = t.flow_id;

-- One row per SSH connection (Zeek's ssh.log). ts: the connection's first
-- packet, as in Zeek's ssh.log (the ssh table keeps no time of its own).
CREATE VIEW ssh_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', (f.first_ts - (f.first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((f.first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS ts,
       s.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port,
       s.version, s.client, s.server,
       s.cipher_alg, s.mac_alg, s.compression_alg, s.kex_alg, s.host_key_alg,
       s.hassh, s.hassh_server, s.hassh_string, s.hassh_server_string,
       s.client_software, s.server_software
FROM ssh AS s JOIN flow AS f ON f.id = s.flow_id;
