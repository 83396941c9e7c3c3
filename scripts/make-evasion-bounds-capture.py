#!/usr/bin/env python3
"""Writes Tests/Fixtures/anomalies/evasion-bounds.pcap: what an attacker may do to
flowdb's bounds on evidence, client 10.69.0.2 to server 10.69.0.1:80, client port
44000 + case:

  1  1,200 empty segments with URG set, then a retransmission with different bytes:
     1,000 urgent_pointer rows (the bound), and still the rexmit_inconsistency row
  2  1,100 one-byte retransmissions, each different: 1,100 conflicts counted in the
     flow, 1,000 rows kept
  3  a 6,000-byte retransmission with different bytes: its row keeps 4,096 bytes of
     each copy (1,904 cut); --policy cannot apply it and says so
  4  a SYN carrying data, retransmitted with the same data: no conflict

  usage: scripts/make-evasion-bounds-capture.py [OUT.pcap]"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module
ev = import_module("make-evasion-capture")

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C, S = bytes([10, 69, 0, 2]), bytes([10, 69, 0, 1])


def handshake(c, port, isn=1000, syn_payload=b""):
    c.add(ev.tcp(C, S, port, 80, isn, 0, 0x02, syn_payload))
    c.add(ev.tcp(S, C, 80, port, 5000, isn + 1 + len(syn_payload), 0x12))
    c.add(ev.tcp(C, S, port, 80, isn + 1 + len(syn_payload), 5001, 0x10))
    return isn + 1 + len(syn_payload)


def close(c, port, end):
    c.add(ev.tcp(S, C, 80, port, 5001, end, 0x10))
    c.add(ev.tcp(C, S, port, 80, end, 5001, 0x11))
    c.add(ev.tcp(S, C, 80, port, 5001, end + 1, 0x11))
    c.add(ev.tcp(C, S, port, 80, end + 1, 5002, 0x10))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "Tests/Fixtures/anomalies/evasion-bounds.pcap")
    c = ev.Capture()
    # 1
    port = 44001
    base = handshake(c, port)
    c.add(ev.tcp(C, S, port, 80, base, 5001, 0x18, b"ABCDEFGH"))
    for _ in range(1200):
        c.add(ev.tcp(C, S, port, 80, base + 8, 5001, 0x30, urg=1))
    c.add(ev.tcp(C, S, port, 80, base, 5001, 0x18, b"ABCDxFGH"))
    close(c, port, base + 8)
    # 2
    port = 44002
    base = handshake(c, port)
    c.add(ev.tcp(C, S, port, 80, base, 5001, 0x18, b"A" * 1100))
    for i in range(1100):
        c.add(ev.tcp(C, S, port, 80, base + i, 5001, 0x18, b"B"))
    close(c, port, base + 1100)
    # 3
    port = 44003
    base = handshake(c, port)
    c.add(ev.tcp(C, S, port, 80, base, 5001, 0x18, b"a" * 6000))
    c.add(ev.tcp(C, S, port, 80, base, 5001, 0x18, b"b" * 6000))
    close(c, port, base + 6000)
    # 4
    port = 44004
    c.add(ev.tcp(C, S, port, 80, 1000, 0, 0x02, b"hello"))
    c.add(ev.tcp(C, S, port, 80, 1000, 0, 0x02, b"hello"))
    c.add(ev.tcp(S, C, 80, port, 5000, 1006, 0x12))
    c.add(ev.tcp(C, S, port, 80, 1006, 5001, 0x10))
    close(c, port, 1006)
    c.write(out)


if __name__ == "__main__":
    main()
