-- flowdb archive, migration 0002: the readable views print times before 1970 right.
--
-- SQLite's integer division and remainder round toward zero, so the views of 0001
-- printed a time of -0.729213 s as "1970-01-01T00:00:00.-729213Z". Seconds are now
-- rounded down and the microseconds taken from the remainder made positive, which
-- prints 1969-12-31T23:59:59.270787Z. Times after 1970 print as before; the columns
-- are the same.

DROP VIEW captures;
CREATE VIEW captures AS
SELECT id, path, status, link_type_name AS link, packets, tcp_packets,
       packets - tcp_packets AS skipped, size,
       strftime('%Y-%m-%dT%H:%M:%S', (first_ts - (first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS first_time,
       strftime('%Y-%m-%dT%H:%M:%S', (last_ts - (last_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((last_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS last_time,
       strftime('%Y-%m-%dT%H:%M:%SZ', ingested_at / 1000000000, 'unixepoch') AS ingested,
       sha256
FROM capture;

DROP VIEW flows;
CREATE VIEW flows AS
SELECT id,
       strftime('%Y-%m-%dT%H:%M:%S', (first_ts - (first_ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((first_ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS start,
       round((last_ts - first_ts) / 1e9, 6) AS duration,
       CASE ip_version WHEN 6 THEN '[' || client_ip || ']' ELSE client_ip END || ':' || client_port AS client,
       CASE ip_version WHEN 6 THEN '[' || server_ip || ']' ELSE server_ip END || ':' || server_port AS server,
       c2s_bytes, s2c_bytes, c2s_packets + s2c_packets AS packets, gaps,
       CASE WHEN c2s_closed AND s2c_closed THEN 'closed'
            WHEN c2s_closed OR s2c_closed THEN 'half-closed'
            ELSE 'open' END AS state,
       capture_id
FROM flow;
