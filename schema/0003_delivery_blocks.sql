-- flowdb archive, migration 0003: deliveries are stored in blocks, one row per
-- flow per write batch, instead of one row each.
--
-- A row of its own per delivery was the largest cost of an ingest: about 6,600
-- instructions in SQLite per row, which made the single SQL writer the slowest
-- thread (docs/ingest-performance.md). A block holds up to 4,096 deliveries of one
-- flow, in call order, as a JSON array of arrays.
--
-- Readers see no difference: `delivery` is now a view with the columns and values
-- of the former table, and `chunk` reads it as before. What changes is how it is
-- searched: a condition on a delivery column other than flow_id reads the blocks
-- of every flow it cannot exclude.

CREATE TABLE delivery_block (
    last_delivery   INTEGER PRIMARY KEY,   -- id of its last delivery, which names the block
    flow_id         INTEGER NOT NULL REFERENCES flow(id),
    first_delivery  INTEGER NOT NULL,      -- id of its first delivery
    deliveries      INTEGER NOT NULL CHECK (deliveries > 0),  -- how many it holds
    -- One JSON array per delivery, in call order, holding the columns of the
    -- `delivery` view after flow_id, in that order:
    -- [id, dir, is_start, is_end, skip, length, stored, payload_id, payload_offset,
    --  stream_offset, ts_first, ts_last, packets, chunks, queued_bytes,
    --  queued_packets, overlap_bytes, overlap_packets]
    records         TEXT    NOT NULL
) STRICT;
CREATE INDEX delivery_block_by_flow ON delivery_block(flow_id, first_delivery);

-- Existing deliveries move into blocks of up to 4,096 per flow.
INSERT INTO delivery_block(last_delivery, flow_id, first_delivery, deliveries, records)
SELECT max(id), flow_id, min(id), count(*),
       json_group_array(json_array(id, dir, is_start, is_end, skip, length, stored, payload_id, payload_offset,
                                   stream_offset, ts_first, ts_last, packets, chunks, queued_bytes,
                                   queued_packets, overlap_bytes, overlap_packets))
FROM (SELECT *, (row_number() OVER (PARTITION BY flow_id ORDER BY id) - 1) / 4096 AS block
      FROM delivery ORDER BY flow_id, id)
GROUP BY flow_id, block
ORDER BY flow_id, block;

DROP INDEX IF EXISTS delivery_by_flow;
DROP TABLE delivery;

-- One row per delivery (gopacket's ReassembledSG call), as the table of 0001.
CREATE VIEW delivery AS
SELECT json_extract(r.value, '$[0]') AS id,
       b.flow_id,
       json_extract(r.value, '$[1]') AS dir,
       json_extract(r.value, '$[2]') AS is_start,
       json_extract(r.value, '$[3]') AS is_end,
       json_extract(r.value, '$[4]') AS skip,
       json_extract(r.value, '$[5]') AS length,
       json_extract(r.value, '$[6]') AS stored,
       json_extract(r.value, '$[7]') AS payload_id,
       json_extract(r.value, '$[8]') AS payload_offset,
       json_extract(r.value, '$[9]') AS stream_offset,
       json_extract(r.value, '$[10]') AS ts_first,
       json_extract(r.value, '$[11]') AS ts_last,
       json_extract(r.value, '$[12]') AS packets,
       json_extract(r.value, '$[13]') AS chunks,
       json_extract(r.value, '$[14]') AS queued_bytes,
       json_extract(r.value, '$[15]') AS queued_packets,
       json_extract(r.value, '$[16]') AS overlap_bytes,
       json_extract(r.value, '$[17]') AS overlap_packets
FROM delivery_block AS b, json_each(b.records) AS r;

-- `chunk` (0001) names `delivery`, so it now reads this view, unchanged.
