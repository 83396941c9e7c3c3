-- flowdb archive, migration 0006: where every packet of a flow lies in its
-- capture file, so that the original packets of a connection can be exported
-- (`flowdb query ... --pcap FILE`) or found by hand.
--
-- Every packet record the assembler saw is listed under the flow it belongs to:
-- handshake, data, retransmissions, pure ACKs and the packets after a close that
-- continue the connection (see 0004_connections.sql). A TCP segment rebuilt from
-- IP fragments lists the record of each fragment. Records that carried no TCP
-- segment (ARP, UDP, ...) belong to no flow.
--
-- Positions are stored in blocks, as deliveries are (0003_delivery_blocks.sql):
-- one row per flow and capture file, up to 4,096 packets each, with the
-- positions delta-encoded. On the 1.1 GB bulk benchmark capture they take about
-- 0.5% of the capture's size. Read them through the `packet` view.

CREATE TABLE packet_block (
    id              INTEGER PRIMARY KEY,
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    capture_id      INTEGER NOT NULL REFERENCES capture(id),  -- the file the records are in
    packets         INTEGER NOT NULL CHECK (packets > 0),     -- records in the block
    first_packet    INTEGER NOT NULL,   -- lowest record index in the block (0-based)
    last_packet     INTEGER NOT NULL,   -- highest
    -- JSON array of [index, offset] pairs, in the order the assembler saw the
    -- packets: the first pair is the record's index among the capture's packet
    -- records and the byte offset where reading it begins; each later pair is the
    -- difference from the pair before it. An offset of -1 means the position is
    -- unknown (a capture read from a pipe).
    records         TEXT    NOT NULL
) STRICT;
CREATE INDEX packet_block_by_flow ON packet_block(flow_id);
CREATE INDEX packet_block_by_capture ON packet_block(capture_id, first_packet);

-- Whether a capture read from standard input was kept: 1 when `ingest -
-- --keep-stdin FILE` wrote its bytes to FILE, which `path` then names.
ALTER TABLE capture ADD COLUMN stdin_kept INTEGER NOT NULL DEFAULT 0;

-- One row per packet record of a flow.
--   packet_index:  0-based index among the capture's packet records (records a
--                  BPF filter rejected keep their place);
--   frame:         packet_index + 1, the frame number Wireshark and tshark show;
--   record_offset: byte offset in the capture file where reading the record
--                  begins: in a pcap file its 16-byte record header; in a pcapng
--                  file its packet block, or the non-packet blocks (interface
--                  descriptions, statistics) that precede it; -1 when unknown.
-- Select by flow_id (it reads that flow's blocks only), e.g.
--   SELECT frame, record_offset FROM packet WHERE flow_id = 42 ORDER BY capture_id, frame;
CREATE VIEW packet AS
SELECT flow_id, capture_id, packet_index, packet_index + 1 AS frame, record_offset
FROM (SELECT b.flow_id, b.capture_id,
             sum(json_extract(r.value, '$[0]')) OVER w AS packet_index,
             sum(json_extract(r.value, '$[1]')) OVER w AS record_offset
      FROM packet_block AS b, json_each(b.records) AS r
      WINDOW w AS (PARTITION BY b.flow_id, b.id ORDER BY r.key ROWS UNBOUNDED PRECEDING));
