-- flowdb archive, migration 0018: anomalies, as Zeek's weird.log has them.
--
-- One row per anomaly seen in a flow: when, in which direction and packet, its
-- name (Zeek's weird name where Zeek has one: SYN_with_data, RST_with_data,
-- data_after_reset), and a detail. `flowdb query --anomalies` lists them (also as
-- a weird.log), `--anomaly NAME` selects the flows that have one.
CREATE TABLE anomaly (
    flow_id       INTEGER NOT NULL REFERENCES flow(id),
    ts            INTEGER NOT NULL,   -- capture time of the packet, ns
    dir           INTEGER NOT NULL,   -- 0: from the client, 1: from the server
    packet_index  INTEGER NOT NULL,   -- the packet's index in its capture (Wireshark's frame number - 1)
    name          TEXT    NOT NULL,
    detail        TEXT                -- e.g. the payload bytes the packet carried
) STRICT;

CREATE INDEX anomaly_by_flow ON anomaly(flow_id);
CREATE INDEX anomaly_by_name ON anomaly(name);
