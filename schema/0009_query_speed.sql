-- flowdb archive, migration 0009: indexes for a sensor's questions on a large archive
-- (each measured on 1,000,000 flows by `make bench-query`; docs/schema.md, "Indexes").

-- A flow's duration. Its largest value bounds how far before a time window a flow
-- that overlaps the window can begin, so `--since A --until B` reads the flows that
-- began in [A - longest duration, B] instead of every flow that began before B.
CREATE INDEX flow_by_duration ON flow(last_ts - first_ts);

-- The server name and the Host header are compared without case, as analysts type
-- them: the indexes now use the comparison the queries make (the former ones, in
-- binary order, could not serve `= ? COLLATE NOCASE`).
DROP INDEX tls_by_server_name;
CREATE INDEX tls_by_server_name ON tls(server_name COLLATE NOCASE);
DROP INDEX http_by_host;
CREATE INDEX http_by_host ON http(host COLLATE NOCASE);
