-- flowdb archive, migration 0011: TCP segments with malformed options.
--
-- A TCP option whose length byte is below 2, or runs past the header the data
-- offset announces, used to make flowdb drop the whole segment, as gopacket does,
-- and with it the payload the data offset still locates (an HTTP/2 preface, say).
-- Such a segment is now decoded without its options and its payload kept; this
-- column counts them per capture, as `tcp_headers_cut` counts headers the IP
-- length cut inside their options (whose segments now carry no payload: the
-- bytes past the fixed 20 are options, never data).
ALTER TABLE capture ADD COLUMN tcp_bad_options INTEGER NOT NULL DEFAULT 0;
