#!/usr/bin/env python3
"""Writes Tests/Fixtures/anomalies/tcp-anomalies.pcap: TCP connections whose packets
are Zeek weirds, one kind each, and one ordinary connection beside them:
  flow 1  a SYN carrying 5 bytes (as TCP Fast Open sends them): SYN_with_data
  flow 2  the server's RST carrying 11 bytes: RST_with_data
  flow 3  the client's RST, then 7 more bytes from the server: data_after_reset
  flow 4  an ordinary exchange, closed by FINs, one of them carrying data: none
  usage: scripts/make-anomaly-capture.py [OUT.pcap]"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module
cap = import_module("make-hostile-web-capture")

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C, S = bytes([10, 67, 0, 2]), bytes([10, 67, 0, 1])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "Tests/Fixtures/anomalies/tcp-anomalies.pcap")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    c = cap.Capture()
    t = cap.tcp
    # 1: SYN with data
    c.add(t(C, S, 41001, 80, 1000, 0, 0x02, b"hello"))
    c.add(t(S, C, 80, 41001, 5000, 1006, 0x12))
    c.add(t(C, S, 41001, 80, 1006, 5001, 0x10))
    c.add(t(C, S, 41001, 80, 1006, 5001, 0x11)); c.add(t(S, C, 80, 41001, 5001, 1007, 0x11)); c.add(t(C, S, 41001, 80, 1007, 5002, 0x10))
    # 2: RST with data from the server
    c.add(t(C, S, 41002, 80, 2000, 0, 0x02)); c.add(t(S, C, 80, 41002, 6000, 2001, 0x12)); c.add(t(C, S, 41002, 80, 2001, 6001, 0x10))
    c.add(t(C, S, 41002, 80, 2001, 6001, 0x18, b"GET / HTTP/1.0\r\n\r\n"))
    c.add(t(S, C, 80, 41002, 6001, 2019, 0x14, b"go away now"))
    # 3: data after the client's RST
    c.add(t(C, S, 41003, 80, 3000, 0, 0x02)); c.add(t(S, C, 80, 41003, 7000, 3001, 0x12)); c.add(t(C, S, 41003, 80, 3001, 7001, 0x10))
    c.add(t(C, S, 41003, 80, 3001, 7001, 0x14))
    c.add(t(S, C, 80, 41003, 7001, 3001, 0x18, b"too late"[:7]))
    # 4: ordinary, with a FIN carrying the last bytes
    c.connection(C, S, 41004, 80, [(b"GET /ok HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nfine")])
    c.write(out)
    print(out, os.path.getsize(out))


if __name__ == "__main__":
    main()
