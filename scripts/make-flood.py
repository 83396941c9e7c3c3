#!/usr/bin/env python3
"""make-flood.py OUT [--connections N] [--segment BYTES]

Writes a deterministic pcap (Ethernet, IPv4, TCP) of N concurrent TCP connections
(default 100,000) for `make flood`. The packets go phase by phase over all
connections, so every connection is open, and holds out-of-order data, at once:

  1. client SYN               2. server SYN-ACK          3. client ACK
  4. client segment 2         (queued: segment 1 is still missing)
  5. client segment 4         (queued: segment 3 is never sent)
  6. client segment 1         (fills the hole: 1+2 delivered, 4 still waits)
  7. server response          8. client FIN (after segment 4: out of order)
  9. server FIN

Each client sends 4 segments of BYTES (default 200) of which segment 3 is lost, so
each connection ends with one gap of BYTES in its client-to-server direction.
Clients are 10.0.0.1 onward (one address each), servers 192.168.0.1-16 port 80.
Packets are 1 microsecond apart; checksums are correct.
"""
import argparse
import array
import random
import struct
import sys

LINKTYPE_ETHERNET = 1
SYN, FIN, ACK, PSH = 0x02, 0x01, 0x10, 0x08


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(array.array("H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    # array("H") read native-order words; the folded sum is byte-swapped alike.
    return s if sys.byteorder == "big" else ((s & 0xFF) << 8) | (s >> 8)


def packet(src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!IIBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--connections", type=int, default=100_000)
    ap.add_argument("--segment", type=int, default=200)
    args = ap.parse_args()
    n, size = args.connections, args.segment
    if not 0 < n < 0xF5_FFFF or size < 1:
        sys.exit("make-flood.py: bad --connections or --segment")

    rng = random.Random(8)
    block = bytes(rng.getrandbits(8) for _ in range(65536))

    def data(i: int, direction: str, offset: int, length: int) -> bytes:
        """Bytes [offset, offset+length) of connection i's direction ('c' or 's')."""
        start = (i * 7919 + (0 if direction == "c" else 31337)) % (len(block) - 4 * size)
        whole = f"{direction}{i:06d}:".encode() + block[start:start + 4 * size]
        return whole[offset:offset + length]

    client = [0x0A000001 + i for i in range(n)]
    server = [0xC0A80001 + (i % 16) for i in range(n)]
    cport = [1024 + (i * 7919) % 64000 for i in range(n)]
    cisn = [(i * 2654435761 + 12345) & 0xFFFFFFFF for i in range(n)]
    sisn = [(~c) & 0xFFFFFFFF for c in cisn]

    def c2s(i, seq_off, flags, payload=b""):
        return packet(client[i], server[i], cport[i], 80, cisn[i] + 1 + seq_off, sisn[i] + 1, flags, payload)

    def s2c(i, seq_off, flags, payload=b"", ack_off=0):
        return packet(server[i], client[i], 80, cport[i], sisn[i] + 1 + seq_off, cisn[i] + 1 + ack_off, flags, payload)

    phases = [
        lambda i: packet(client[i], server[i], cport[i], 80, cisn[i], 0, SYN, b""),
        lambda i: packet(server[i], client[i], 80, cport[i], sisn[i], cisn[i] + 1, SYN | ACK, b""),
        lambda i: c2s(i, 0, ACK),
        lambda i: c2s(i, size, ACK | PSH, data(i, "c", size, size)),
        lambda i: c2s(i, 3 * size, ACK | PSH, data(i, "c", 3 * size, size)),
        lambda i: c2s(i, 0, ACK | PSH, data(i, "c", 0, size)),
        lambda i: s2c(i, 0, ACK | PSH, data(i, "s", 0, size), ack_off=2 * size),
        lambda i: c2s(i, 4 * size, FIN | ACK),
        lambda i: s2c(i, size, FIN | ACK, ack_off=2 * size),
    ]

    t = 1_795_000_000 * 1_000_000   # microseconds
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        out = []
        for phase in phases:
            for i in range(n):
                p = phase(i)
                out.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)))
                out.append(p)
                t += 1
                if len(out) >= 20000:
                    f.write(b"".join(out))
                    out.clear()
        f.write(b"".join(out))
    print(f"{args.out}: {n} connections, {n * len(phases)} packets, client segments of {size} bytes")


if __name__ == "__main__":
    main()
