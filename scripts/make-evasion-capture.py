#!/usr/bin/env python3
"""Writes Tests/Fixtures/anomalies/evasion.pcap: one TCP connection per classic case
of the evasion literature (Ptacek and Newsham 1998; Novak and Sturges 2007), client
10.68.0.2 to server 10.68.0.1:80, client port 43000 + case:

  1  in-order overlap with new bytes: ABCDEFGH, then XYZW1234 at +4
     -> 1 conflict, 4 bytes, over delivered data; the stream keeps EFGH
  2  out-of-order overlap onto queued data: EFGH at +4 queued, XYZW at +6, then ABCD
     -> 1 conflict, 2 bytes (GH / XY), queued; the stream keeps XY (gopacket)
  3  overlap spanning several queued segments: EFGH at +4, MNOP at +12, then
     twelve q at +4, then ABCD -> 2 conflicts, 4 bytes each, queued
  4  retransmission over delivered data with different bytes: ABCDEFGH, then
     ABCDxFGH at +0 -> 1 conflict, 8 bytes of which 1 differs, delivered
  5  nested overlaps with identical bytes: EFGHIJKL at +4, GHIJ at +6, EFGHIJKLMN at
     +4, ABCD, then ABCDEFGH again -> no conflict
  6  a RST with a different TTL: the server answers with TTL 64, then a RST with
     TTL 50 -> ttl_changed (server's direction)
  7  a SYN with data -> SYN_with_data
  8  an urgent-pointer trick: a segment with URG and pointer 1 -> urgent_pointer
  9  the overlap pattern of the target-based reassembly paper (as Suricata's tests
     send it): 18 segments from relative sequence 1 -> 9 conflicts, all queued
 10  data before the handshake: the client's SYN, then data before any SYN-ACK
     -> data_before_established
 11  a sequence jump: after the handshake (window 65,535, no scaling), a segment
     ten million bytes ahead -> seq_outside_window
 12  IP fragments overlapping with different bytes: a segment's datagram in two
     fragments that share 8 bytes of payload, given differently
     -> fragment_inconsistency (the first copy is kept)

  usage: scripts/make-evasion-capture.py [OUT.pcap]"""
import os, struct, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module
cap = import_module("make-hostile-web-capture")     # its checksum and pcap writer
csum, Capture = cap.csum, cap.Capture

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C, S = bytes([10, 68, 0, 2]), bytes([10, 68, 0, 1])


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", ttl=64, urg=0):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, 65535, 0, urg)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    c = csum(pseudo + header + payload)
    segment = header[:16] + struct.pack("!H", c) + header[18:] + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), 0, 0x4000, ttl, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + segment


def fragments(segment, src, dst, ident, pieces):
    """IPv4 fragments of a TCP segment: (offset, bytes) each; the last one ends it."""
    out = []
    for i, (offset, data) in enumerate(pieces):
        more = 0x2000 if offset + len(data) < len(segment) else 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, more | (offset // 8), 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        out.append(b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + data)
    return out


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload):
    """The TCP header and payload alone (for fragmenting)."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    c = csum(pseudo + header + payload)
    return header[:16] + struct.pack("!H", c) + header[18:] + payload


def connection(c, case, data, syn_payload=b"", server_ttl=64, rst=False):
    """A handshake, the client's segments `data` [(relative offset, bytes, flags, urg)],
    an ACK from the server for everything, then FINs (or the server's RST)."""
    port = 43000 + case
    cs, ss = 1000, 5000
    c.add(tcp(C, S, port, 80, cs, 0, 0x02, syn_payload))
    c.add(tcp(S, C, 80, port, ss, cs + 1 + len(syn_payload), 0x12, ttl=server_ttl))
    base = cs + 1 + len(syn_payload)
    c.add(tcp(C, S, port, 80, base, ss + 1, 0x10))
    end = base
    for rel, payload, flags, urg in data:
        c.add(tcp(C, S, port, 80, base + rel, ss + 1, flags, payload, urg=urg))
        end = max(end, base + rel + len(payload))
    c.add(tcp(S, C, 80, port, ss + 1, end, 0x10, ttl=server_ttl))
    if rst:
        c.add(tcp(S, C, 80, port, ss + 1, end, 0x14, ttl=50))
        return
    c.add(tcp(C, S, port, 80, end, ss + 1, 0x11))
    c.add(tcp(S, C, 80, port, ss + 1, end + 1, 0x11, ttl=server_ttl))
    c.add(tcp(C, S, port, 80, end + 1, ss + 2, 0x10))


def d(rel, payload, flags=0x18, urg=0):
    return (rel, payload, flags, urg)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "Tests/Fixtures/anomalies/evasion.pcap")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    c = Capture()
    connection(c, 1, [d(0, b"ABCDEFGH"), d(4, b"XYZW1234")])
    connection(c, 2, [d(4, b"EFGH"), d(6, b"XYZW"), d(0, b"ABCD")])
    connection(c, 3, [d(4, b"EFGH"), d(12, b"MNOP"), d(4, b"q" * 12), d(0, b"ABCD")])
    connection(c, 4, [d(0, b"ABCDEFGH"), d(0, b"ABCDxFGH")])
    connection(c, 5, [d(4, b"EFGHIJKL"), d(6, b"GHIJ"), d(4, b"EFGHIJKLMN"), d(0, b"ABCD"), d(0, b"ABCDEFGH")])
    connection(c, 6, [d(0, b"GET / HTTP/1.0\r\n\r\n")], rst=True)
    connection(c, 7, [d(0, b" world")], syn_payload=b"hello")
    connection(c, 8, [d(0, b"ab"), d(2, b"Xcd", flags=0x38, urg=1)])
    # relative sequence 1 is the first data byte; offsets here count from 0
    paper = [(2, b"AAA"), (6, b"BB"), (8, b"CCC"), (12, b"D"), (15, b"EE"), (17, b"FFF"), (20, b"GG"), (22, b"HH"),
             (24, b"I"), (3, b"JJJJ"), (8, b"KKK"), (11, b"LLL"), (14, b"MMM"), (18, b"N"), (21, b"O"), (22, b"P"),
             (24, b"QQ"), (1, b"0")]
    connection(c, 9, [d(rel - 1, p) for rel, p in paper])
    # 10: data before any SYN-ACK
    c.add(tcp(C, S, 43010, 80, 1000, 0, 0x02))
    c.add(tcp(C, S, 43010, 80, 1001, 0, 0x18, b"early"))
    c.add(tcp(S, C, 80, 43010, 5000, 1001, 0x12))
    c.add(tcp(C, S, 43010, 80, 1006, 5001, 0x11)); c.add(tcp(S, C, 80, 43010, 5001, 1007, 0x11))
    # 11: a segment ten million bytes past the window
    connection(c, 11, [d(0, b"ok"), d(10_000_000, b"far")])
    # 12: fragments of one segment overlapping with different bytes
    port = 43012
    c.add(tcp(C, S, port, 80, 1000, 0, 0x02)); c.add(tcp(S, C, 80, port, 5000, 1001, 0x12)); c.add(tcp(C, S, port, 80, 1001, 5001, 0x10))
    payload = b"GET /index.html HTTP/1.0\r\n\r\n"           # 28 bytes: the segment is 48
    segment = tcp_segment(C, S, port, 80, 1001, 5001, 0x18, payload)
    forged = b"EVIL.EXE"                                  # for "/index.h"
    for f in fragments(segment, C, S, 77, [(0, segment[:32]), (24, forged + segment[32:])]):
        c.add(f)
    c.add(tcp(S, C, 80, port, 5001, 1001 + len(payload), 0x10))
    c.add(tcp(C, S, port, 80, 1001 + len(payload), 5001, 0x11)); c.add(tcp(S, C, 80, port, 5001, 1002 + len(payload), 0x11))
    c.write(out)


if __name__ == "__main__":
    main()
