#!/usr/bin/env python3
"""Writes the crafted captures of Tests/Fixtures/deviations/: one TCP connection
each where gopacket 1.1.19 loses or repeats bytes and flowdb deliberately does not
(docs/gopacket.md, "Known deviations from gopacket"). scripts/oracle-diff.py lists their streams
as documented deviations (scripts/oracle-deviations.txt).

  wrap-retransmission.pcap  ISN just below 2^32; a retransmission that starts
      before the wrap and ends after it. gopacket's Difference is one short across
      the wrap, so it trims one byte too few and delivers an old byte again; a gap
      straddling the wrap is reported one byte short.
  fin-queued-page-limit.pcap  with --max-pages-per-conn 4: four segments wait
      behind holes, a FIN segment trips the limit and forces the first out;
      gopacket then counts the still-queued FIN in the next sequence and trims the
      first byte of the segment that follows.

    scripts/make-deviation-fixtures.py [OUTPUT_DIR]
Deterministic: the same bytes on every run.
"""
import os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(HERE), "Tests", "Fixtures", "deviations")

SYN, FIN, ACK, PSH = 0x02, 0x01, 0x10, 0x08


def checksum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def write(name, packets):
    client, server = bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, (from_client, seq, ack, flags, payload) in enumerate(packets):
        src, dst = (client, server) if from_client else (server, client)
        sport, dport = (40100, 8080) if from_client else (8080, 40100)
        data = frame(src, dst, sport, dport, seq, ack, flags, payload)
        out.append(struct.pack("<IIII", 1_795_000_000, i * 1000, len(data), len(data)) + data)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"".join(out))


def stream(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def main():
    data = stream(2000)
    isn, server_isn = 0xFFFFFEFF, 5000          # the client's byte k has sequence 0xFFFFFF00 + k
    c = lambda k: (isn + 1 + k) & 0xFFFFFFFF
    write("wrap-retransmission.pcap", [
        (True, isn, 0, SYN, b""),
        (False, server_isn, c(0), SYN | ACK, b""),
        (True, c(0), server_isn + 1, ACK, b""),
        (True, c(0), server_isn + 1, ACK | PSH, data[0:512]),        # across the wrap at byte 256
        (True, c(200), server_isn + 1, ACK | PSH, data[200:600]),    # 312 bytes again, 88 new
        (True, c(900), server_isn + 1, ACK | PSH, data[900:1000]),   # a hole 600..900 across nothing
        (True, c(1000), server_isn + 1, ACK | FIN, b""),
        (False, server_isn + 1, c(1001), ACK | FIN, b""),
        (True, c(1001), server_isn + 2, ACK, b""),
    ])
    isn = 1000
    c = lambda k: isn + 1 + k
    write("fin-queued-page-limit.pcap", [
        (True, isn, 0, SYN, b""),
        (False, server_isn, c(0), SYN | ACK, b""),
        (True, c(0), server_isn + 1, ACK, b""),
        (True, c(0), server_isn + 1, ACK | PSH, data[0:10]),
        (True, c(20), server_isn + 1, ACK | PSH, data[20:30]),       # four segments behind holes
        (True, c(40), server_isn + 1, ACK | PSH, data[40:50]),
        (True, c(60), server_isn + 1, ACK | PSH, data[60:70]),
        (True, c(80), server_isn + 1, ACK | PSH, data[80:90]),
        (True, c(100), server_isn + 1, ACK | FIN, data[100:110]),    # the FIN trips the limit
        (True, c(10), server_isn + 1, ACK | PSH, data[10:20]),
        (True, c(30), server_isn + 1, ACK | PSH, data[30:40]),
        (True, c(50), server_isn + 1, ACK | PSH, data[50:60]),
        (True, c(70), server_isn + 1, ACK | PSH, data[70:80]),
        (True, c(90), server_isn + 1, ACK | PSH, data[90:100]),
        (False, server_isn + 1, c(111), ACK | FIN, b""),
        (True, c(111), server_isn + 2, ACK, b""),
    ])


if __name__ == "__main__":
    main()
