#!/usr/bin/env python3
"""Writes the datagram benchmark captures (bench-data/, not committed):

  udp-mix.pcap    about 1 GB: DNS exchanges (the real queries and answers of
                  Tests/Fixtures/datagrams/dns-udp-icmp.pcap, replayed between 2,000
                  clients and a resolver) interleaved with bulk UDP (1,400-byte
                  datagrams of 200 flows, as a video or VPN stream sends them)
  udp-flood.pcap  1,000,000 one-packet UDP flows from spoofed sources (64-byte
                  payloads to port 9999), the shape of a spoofed-source flood

  usage: scripts/make-udp-bench.py OUTDIR"""
import os, random, struct, sys

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checksum_free_ipv4(src, dst, body, proto=17):
    return bytes([0x45, 0]) + struct.pack("!H", 20 + len(body)) + b"\0\0\x40\0" + bytes([64, proto, 0, 0]) + src + dst + body


def frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + checksum_free_ipv4(src, dst, udp)


def dns_payloads():
    """(query, answer) UDP payloads of the real fixture's DNS over UDP/IPv4."""
    data = open(os.path.join(here, "Tests/Fixtures/datagrams/dns-udp-icmp.pcap"), "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) > 42 and pkt[12:14] == b"\x08\x00" and pkt[23] == 17:
            ihl = (pkt[14] & 15) * 4
            sport, dport = struct.unpack_from("!HH", pkt, 14 + ihl)
            if 53 in (sport, dport):
                out.append((dport == 53, pkt[14 + ihl + 8:]))
    pairs = []
    for i in range(0, len(out) - 1):
        if out[i][0] and not out[i + 1][0]:
            pairs.append((out[i][1], out[i + 1][1]))
    return pairs


def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t, fr in frames:
            f.write(struct.pack("<IIII", 1_800_000_000 + t // 1_000_000, t % 1_000_000, len(fr), len(fr)) + fr)


def mix(out):
    rng = random.Random(26)
    pairs = dns_payloads()
    resolver = bytes([10, 99, 0, 53])
    bulk = bytes(rng.getrandbits(8) for _ in range(1400))
    size, t, n = 0, 0, 0
    def frames():
        nonlocal size, t, n
        while size < 1_000_000_000:
            t += 20
            n += 1
            if n % 8 == 0:
                client = bytes([10, 98, (n // 256) % 8, n % 256 or 1])
                q, a = pairs[n % len(pairs)]
                port = 20000 + n % 40000
                for fr in (frame(client, resolver, port, 53, q), frame(resolver, client, 53, port, a)):
                    size += len(fr) + 16
                    yield t, fr
            else:
                k = n % 200
                fr = frame(bytes([10, 97, 0, k + 1]), bytes([10, 96, 0, 1]), 40000 + k, 5004, bulk)
                size += len(fr) + 16
                yield t, fr
    write(os.path.join(out, "udp-mix.pcap"), frames())


def flood(out):
    rng = random.Random(53)
    payload = bytes(64)
    target = bytes([10, 95, 0, 53])
    def frames():
        for n in range(1_000_000):
            src = struct.pack("!I", rng.getrandbits(32) | 0x01000000)
            yield n * 10, frame(src, target, rng.randrange(1024, 65535), 9999, payload)
    write(os.path.join(out, "udp-flood.pcap"), frames())


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    flood(out)
    mix(out)
    for name in ("udp-flood.pcap", "udp-mix.pcap"):
        print(name, os.path.getsize(os.path.join(out, name)))
