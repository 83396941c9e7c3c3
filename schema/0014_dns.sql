-- flowdb archive, migration 0014: DNS, as Zeek's dns.log has it.
--
-- One row per query and its response, over UDP (ports 53, 137, 5353 mDNS, 5355
-- LLMNR, as Zeek's DNS analyzer reads them) and TCP (each message after its 2-byte
-- length). A query whose response never came keeps its row, the response's fields
-- unset; a response whose query was not seen has a row of its own. A DNS flow's
-- `app` is 'dns' and its `app_host` the first name asked.
CREATE TABLE dns (
    flow_id     INTEGER NOT NULL REFERENCES flow(id),
    ts          INTEGER NOT NULL,   -- capture time of the query (of the response when no query was seen), ns
    trans_id    INTEGER NOT NULL,   -- the message id
    rtt         INTEGER,            -- ns from the query to its response; NULL: not both seen
    query       TEXT,               -- the first question's name; a byte that is not printable ASCII as \xHH
    qclass      INTEGER,
    qclass_name TEXT,               -- 'C_INTERNET', ...
    qtype       INTEGER,
    qtype_name  TEXT,               -- 'A', 'AAAA', 'MX', ... ('*' for ANY)
    rcode       INTEGER,            -- the response's; NULL: no response
    rcode_name  TEXT,               -- 'NOERROR', 'NXDOMAIN', ...
    aa          INTEGER NOT NULL DEFAULT 0,  -- authoritative answer (response)
    tc          INTEGER NOT NULL DEFAULT 0,  -- truncated (response)
    rd          INTEGER NOT NULL DEFAULT 0,  -- recursion desired (query)
    ra          INTEGER NOT NULL DEFAULT 0,  -- recursion available (response)
    z           INTEGER NOT NULL DEFAULT 0,  -- the three bits after RA
    answers     TEXT,               -- the answer section in packet order, joined by ',' (a ',' inside one as \x2c):
                                    -- addresses, names (CNAME, NS, PTR, MX, SRV, SOA), 'TXT <length> <string>', '<TYPE>'
    ttls        TEXT,               -- their TTLs in seconds, joined by ','
    rejected    INTEGER NOT NULL DEFAULT 0   -- a response carrying no record at all (refused, failed)
) STRICT;

CREATE INDEX dns_by_flow ON dns(flow_id);
CREATE INDEX dns_by_query ON dns(query COLLATE NOCASE);

-- Zeek's dns.log, with the flow's endpoints and times in ISO 8601.
CREATE VIEW dns_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', (d.ts - (d.ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((d.ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS ts,
       d.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port, f.proto,
       d.trans_id, round(d.rtt / 1e9, 6) AS rtt, d.query, d.qclass, d.qclass_name, d.qtype, d.qtype_name,
       d.rcode, d.rcode_name,
       CASE d.aa WHEN 0 THEN 'no' ELSE 'yes' END AS aa,
       CASE d.tc WHEN 0 THEN 'no' ELSE 'yes' END AS tc,
       CASE d.rd WHEN 0 THEN 'no' ELSE 'yes' END AS rd,
       CASE d.ra WHEN 0 THEN 'no' ELSE 'yes' END AS ra,
       d.z, d.answers, d.ttls,
       CASE d.rejected WHEN 0 THEN 'no' ELSE 'yes' END AS rejected
FROM dns AS d JOIN flow AS f ON f.id = d.flow_id;
