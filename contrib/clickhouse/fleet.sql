-- The fleet's questions over `flowdb export` output, in ClickHouse (or chdb, its
-- in-process engine: contrib/clickhouse/fleet.py runs these). {dir} is the export
-- directory; on a server, load the files into tables once instead:
--   INSERT INTO flows SELECT * FROM file('exports/*.flow.ndjson', 'JSONEachRow')
-- Every answer row carries archive_id, archive and flow_id for
-- `flowdb query --db ARCHIVES --flow ARCHIVE:ID --pcap F`.

-- name: talkers
-- top 10 talkers per UTC day (either side, by bytes), with their biggest flow
-- (ClickHouse resolves an alias before a column of the same name: the aggregates
-- are named a_*, and renamed outside)
SELECT day, place, ip, flows, total AS bytes, a_id AS archive_id, a_name AS archive, a_flow AS flow_id
FROM (
    SELECT day, ip, flows, total, a_id, a_name, a_flow,
           row_number() OVER (PARTITION BY day ORDER BY total DESC, ip) AS place
    FROM (
        SELECT day, ip, count() AS flows, sum(bytes) AS total,
               argMax(tuple(archive_id, archive, flow_id), tuple(bytes, -flow_id)) AS biggest,
               biggest.1 AS a_id, biggest.2 AS a_name, biggest.3 AS a_flow
        FROM (
            SELECT formatDateTime(toDateTime(intDiv(first_ts, 1000000000), 'UTC'), '%Y-%m-%d') AS day, client_ip AS ip,
                   c2s_bytes + s2c_bytes AS bytes, archive_id, archive, flow_id
            FROM file('{dir}/*.flow.ndjson', 'JSONEachRow')
            UNION ALL
            SELECT formatDateTime(toDateTime(intDiv(first_ts, 1000000000), 'UTC'), '%Y-%m-%d'), server_ip,
                   c2s_bytes + s2c_bytes, archive_id, archive, flow_id
            FROM file('{dir}/*.flow.ndjson', 'JSONEachRow')
        )
        GROUP BY day, ip
    )
)
WHERE place <= 10
ORDER BY day, place;

-- name: sni
-- every flow whose ClientHello named {name} (without case)
SELECT f.archive_id, f.archive, f.flow_id, f.first_ts, f.client_ip, f.client_port, f.server_ip, f.server_port, f.proto
FROM file('{dir}/*.flow.ndjson', 'JSONEachRow') AS f
WHERE (f.archive_id, f.flow_id) IN (
    SELECT archive_id, flow_id FROM file('{dir}/*.tls.ndjson', 'JSONEachRow') WHERE lower(server_name) = lower('{name}'))
ORDER BY f.first_ts, f.archive, f.flow_id;

-- name: dns
-- every flow that asked DNS for {name} (without case)
SELECT f.archive_id, f.archive, f.flow_id, f.first_ts, f.client_ip, f.client_port, f.server_ip, f.server_port, f.proto
FROM file('{dir}/*.flow.ndjson', 'JSONEachRow') AS f
WHERE (f.archive_id, f.flow_id) IN (
    SELECT archive_id, flow_id FROM file('{dir}/*.dns.ndjson', 'JSONEachRow') WHERE lower(query) = lower('{name}'))
ORDER BY f.first_ts, f.archive, f.flow_id;

-- name: states
-- connections by transport, Zeek state and service, each with its first flow
SELECT proto, conn_state, app, flows, a_id AS archive_id, a_name AS archive, a_flow AS flow_id
FROM (
    SELECT proto, conn_state, app, count() AS flows,
           argMin(archive_id, tuple(first_ts, archive, flow_id)) AS a_id,
           argMin(archive, tuple(first_ts, archive, flow_id)) AS a_name,
           argMin(flow_id, tuple(first_ts, archive, flow_id)) AS a_flow
    FROM file('{dir}/*.flow.ndjson', 'JSONEachRow')
    GROUP BY proto, conn_state, app
)
ORDER BY flows DESC, proto, conn_state, app;
