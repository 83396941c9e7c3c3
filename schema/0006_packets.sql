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
-- Positions are kept in blocks of up to 4,096 packets of one flow and one capture
-- file, delta-encoded as JSON text:
--   [[index, offset], [Δindex, Δoffset], ...]
-- in the order the assembler saw the packets: the first pair is the record's
-- index among the capture's packet records (0-based; records a BPF filter
-- rejected keep their place) and the byte offset where reading it begins; each
-- later pair is the difference from the pair before it. An offset of -1 means
-- the position is unknown.
--
-- A flow's last block, the one still filling while it was captured, is stored on
-- its row (`flow.packet_records`), written with the flow's totals; most flows
-- have no other. Full blocks, and blocks of an earlier capture file of a
-- rotation, are rows of `packet_block`. (A row of its own for every flow cost an
-- ingest of 100,000 short connections 11% of its speed; riding on the flow's row
-- costs nothing measurable.) Read them through the `packet` view.

CREATE TABLE packet_block (
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    block           INTEGER NOT NULL,   -- 0, 1, ... in the order they were written
    capture_id      INTEGER NOT NULL REFERENCES capture(id),  -- the file the records are in
    packets         INTEGER NOT NULL CHECK (packets > 0),     -- records in the block
    first_packet    INTEGER NOT NULL,   -- lowest record index in the block (0-based)
    last_packet     INTEGER NOT NULL,   -- highest
    records         TEXT    NOT NULL,   -- the positions, as above
    PRIMARY KEY (flow_id, block)
) STRICT, WITHOUT ROWID;

-- The flow's last block: its number (the count of its packet_block rows), the
-- capture file its records are in, and the positions as above. NULL records: no
-- packet positions (archives upgraded from version 5, or a flow whose row was
-- written before any of its packets completed a stream).
ALTER TABLE flow ADD COLUMN packet_blocks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flow ADD COLUMN packet_capture_id INTEGER;
ALTER TABLE flow ADD COLUMN packet_records TEXT;

-- Whether a capture read from standard input was kept: 1 when `ingest -
-- --keep-stdin FILE` wrote its bytes to FILE, which `path` then names.
ALTER TABLE capture ADD COLUMN stdin_kept INTEGER NOT NULL DEFAULT 0;

-- One row per packet record of a flow.
--   packet_index:  0-based index among the capture's packet records;
--   frame:         packet_index + 1, the frame number Wireshark and tshark show;
--   record_offset: byte offset in the capture file where reading the record
--                  begins: in a pcap file its 16-byte record header; in a pcapng
--                  file its packet block, or the non-packet blocks (interface
--                  descriptions, statistics) that precede it; -1 when unknown.
-- Select by flow_id (the condition reaches both tables' keys), e.g.
--   SELECT frame, record_offset FROM packet WHERE flow_id = 42 ORDER BY capture_id, frame;
CREATE VIEW packet AS
SELECT flow_id, capture_id, packet_index, packet_index + 1 AS frame, record_offset
FROM (SELECT b.flow_id, b.capture_id,
             sum(json_extract(r.value, '$[0]')) OVER w AS packet_index,
             sum(json_extract(r.value, '$[1]')) OVER w AS record_offset
      FROM (SELECT flow_id, block, capture_id, records FROM packet_block
            UNION ALL
            SELECT id, packet_blocks, packet_capture_id, packet_records FROM flow WHERE packet_records IS NOT NULL) AS b,
           json_each(b.records) AS r
      WINDOW w AS (PARTITION BY b.flow_id, b.block ORDER BY r.key ROWS UNBOUNDED PRECEDING));
