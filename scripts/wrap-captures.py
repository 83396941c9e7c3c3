#!/usr/bin/env python3
"""Wraps the IP packets of real captures in the encapsulations this machine's kernel
cannot build, byte by byte, keeping their ground truth.

    scripts/wrap-captures.py OUTDIR [IPV4-CAPTURE IPV6-CAPTURE]

The inputs (default: Tests/Fixtures/raw-ipv4.pcap and Tests/Fixtures/ipv6-loss.pcap,
real TCP between two Linux stacks, each with CAPTURE.json) are read record by record;
every IP packet is put, unchanged, inside each encapsulation below, and written with
the record's timestamp as an Ethernet capture OUTDIR/NAME.pcap, beside a copy of the
ground truth (NAME.pcap.json). Connections 10.77.0.2 -> 10.77.0.1 (IPv4) and
fd77::2 -> fd77::1 (IPv6); tunnel endpoints 198.51.100.1 / .2 and 2001:db8:5::1 / ::2,
the direction of the inner packet. The fragment captures cut every IP packet longer
than 600 bytes into fragments of at most 512 bytes of data, the last one first, plain
and inside VXLAN.

Encapsulations: GRE (key, checksum, sequence), GRE over IPv6, gretap, ERSPAN II and
III, GRE in UDP, IP in IP (4in4, 6in4, 4in6, 6in6), Geneve with an option, MPLS (two
labels, inside a VLAN), PPPoE, GTP-U (with an extension header), Teredo, AYIYA,
802.1ah PBB, VN-Tag (also before an 802.1Q tag), FabricPath, AYIYA from a client's own
port, PPPoE with a compressed PPP protocol field, GTP-U whose outer IPv4 packets are
fragmented, Aruba's GRE with 802.11 frames (one packet a frame, and A-MSDUs of up to
three), Teredo between a client's mapped port and its relay (IPv6 only, the
addresses moved to a Teredo client and a native server), and IPv4 and IPv6 fragments
(plain, and inside VXLAN); and, as link types of their own, Cisco HDLC and Linux NFLOG.
"""
import os, shutil, struct, sys

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def be16(v): return struct.pack("!H", v & 0xffff)
def be32(v): return struct.pack("!I", v & 0xffffffff)


def records(path):
    """(seconds, microseconds, ip packet) of a little-endian pcap of Ethernet or raw IP."""
    data = open(path, "rb").read()
    magic, = struct.unpack_from("<I", data, 0)
    assert magic == 0xA1B2C3D4, path
    link, = struct.unpack_from("<I", data, 20)
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if link == 1:
            t = struct.unpack_from("!H", pkt, 12)[0]; p = 14
            while t in (0x8100, 0x88a8):
                t = struct.unpack_from("!H", pkt, p + 2)[0]; p += 4
            if t not in (0x0800, 0x86dd): continue
            pkt = pkt[p:]
        yield sec, usec, pkt


def ipv4(src, dst, proto, body, ident=0):
    return bytes([0x45, 0]) + be16(20 + len(body)) + be16(ident) + b"\x40\x00" + bytes([64, proto, 0, 0]) + src + dst + body


def ipv6(src, dst, nxt, body):
    return b"\x60\0\0\0" + be16(len(body)) + bytes([nxt, 64]) + src + dst + body


def udp(sport, dport, body): return be16(sport) + be16(dport) + be16(8 + len(body)) + b"\0\0" + body


def eth(t, body, tags=()):
    f = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2])
    for tp, v in tags: f += be16(tp) + be16(v)
    return f + be16(t) + body


A4, B4 = bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2])
A6, B6 = bytes.fromhex("20010db8000500000000000000000001"), bytes.fromhex("20010db8000500000000000000000002")


def ends(ip, six=False):
    """Outer endpoints in the direction of the inner packet (client 10.77.0.2 / fd77::2 is 'B')."""
    fwd = ip[15] == 2 if ip[0] >> 4 == 4 else ip[23] == 2
    a, b = (A6, B6) if six else (A4, B4)
    return (b, a) if fwd else (a, b)


def ethertype(ip): return 0x0800 if ip[0] >> 4 == 4 else 0x86dd


def wrappers():
    inner_eth = lambda ip: eth(ethertype(ip), ip)
    return {
        "gre-key": lambda ip: eth(0x0800, ipv4(*ends(ip), 47, be16(0xB000) + be16(ethertype(ip)) + b"\0\0\0\0" + be32(77) + be32(1) + ip)),
        "gre6": lambda ip: eth(0x86dd, ipv6(*ends(ip, True), 47, be16(0) + be16(ethertype(ip)) + ip)),
        "gretap": lambda ip: eth(0x0800, ipv4(*ends(ip), 47, be16(0x2000) + be16(0x6558) + be32(9) + inner_eth(ip))),
        "erspan2": lambda ip: eth(0x0800, ipv4(*ends(ip), 47, be16(0x1000) + be16(0x88BE) + be32(1) + bytes([0x10, 0, 0, 123, 0, 0, 0, 0]) + inner_eth(ip))),
        "erspan3": lambda ip: eth(0x0800, ipv4(*ends(ip), 47, be16(0x1000) + be16(0x22EB) + be32(1) + bytes([0x20, 0, 1, 0x2c]) + be32(0) + bytes([0, 0, 0, 0]) + inner_eth(ip))),
        "gre-udp": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(40000, 4754, be16(0) + be16(ethertype(ip)) + ip))),
        "ipip": lambda ip: eth(0x0800, ipv4(*ends(ip), 4 if ip[0] >> 4 == 4 else 41, ip)),
        "ip6tnl": lambda ip: eth(0x86dd, ipv6(*ends(ip, True), 4 if ip[0] >> 4 == 4 else 41, ip)),
        "geneve": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(40001, 6081, bytes([0x02, 0]) + be16(0x6558) + be32(77 << 8) + bytes([1, 2, 0x80, 1, 0xde, 0xad, 0xbe, 0xef]) + inner_eth(ip)))),
        "mpls": lambda ip: eth(0x8847, be32(100 << 12 | 64) + be32(200 << 12 | 0x100 | 64) + ip, tags=[(0x8100, 10)]),
        "pppoe": lambda ip: eth(0x8864, bytes([0x11, 0]) + be16(0x1234) + be16(2 + len(ip)) + be16(0x0021 if ip[0] >> 4 == 4 else 0x0057) + ip),
        "gtpu": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(2152, 2152, bytes([0x34, 0xff]) + be16(len(ip) + 8) + be32(0xabcdef) + bytes([0, 0, 0, 0x85, 1, 0x10, 5, 0]) + ip))),
        "teredo": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(3544, 40002, ip))),
        "ayiya": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(5072, 5072, bytes([0x41, 0x52, 0x11, 4 if ip[0] >> 4 == 4 else 41]) + be32(0) + bytes(36) + ip))),
        "pbb": lambda ip: eth(0x88e7, be32(123456) + inner_eth(ip)),
        "vntag": lambda ip: eth(0x8926, be16(5) + be16(0) + be16(ethertype(ip)) + ip),
        "fabricpath": lambda ip: eth(0x8903, be16(3 << 6 | 63) + inner_eth(ip)),
        # AYIYA between the client's own port and the server's 5072, both ways
        "ayiya-ports": lambda ip: eth(0x0800, ipv4(*ends(ip), 17, udp(*ayiya_ports(ip), bytes([0x41, 0x52, 0x11, 4 if ip[0] >> 4 == 4 else 41]) + be32(0) + bytes(36) + ip))),
        # VN-Tag before an 802.1Q tag, as a Cisco fabric extender sends them
        "vntag-vlan": lambda ip: eth(0x8926, be16(5) + be16(0) + be16(0x8100) + be16(30) + be16(ethertype(ip)) + ip),
        # PPP with protocol-field compression (RFC 1661 6.5): a one-byte protocol
        "pppoe-pfc": lambda ip: eth(0x8864, bytes([0x11, 0]) + be16(0x1234) + be16(1 + len(ip)) + bytes([0x21 if ip[0] >> 4 == 4 else 0x57]) + ip),
        # Aruba's GRE (0x8200) carrying an 802.11 QoS data frame to the distribution
        # system, its LLC/SNAP header naming the EtherType
        "aruba": lambda ip: eth(0x0800, ipv4(*ends(ip), 47, be16(0) + be16(0x8200) + wlan_header(0x01, 0x00) + snap(ip))),
        # Cisco HDLC (link type 104): unicast address, control, EtherType
        "chdlc": lambda ip: bytes([0x0F, 0]) + be16(ethertype(ip)) + ip,
        # Linux NFLOG (link type 239): family, version, resource id, then TLVs (length
        # and type little-endian, as a little-endian machine logs them): the packet
        # header, a prefix, the payload
        "nflog": lambda ip: bytes([2 if ip[0] >> 4 == 4 else 10, 0]) + be16(7) + nflog_tlv(1, be16(ethertype(ip)) + bytes([3, 0]))
                            + nflog_tlv(10, b"flowdb\0") + nflog_tlv(9, ip),
    }


def ayiya_ports(ip):
    """(source, destination) UDP ports: the client (10.77.0.2, fd77::2) sends from 40005."""
    client = ip[12:16] == bytes([10, 77, 0, 2]) if ip[0] >> 4 == 4 else ip[8:24][-1] == 2
    return (40005, 5072) if client else (5072, 40005)


# The link type of the captures whose frames are not Ethernet.
LINK_TYPES = {"chdlc": 104, "nflog": 239}


def nflog_tlv(kind, value):
    """One NFLOG attribute: length (header included) and type, little-endian, padded to 4."""
    tlv = struct.pack("<HH", 4 + len(value), kind) + value
    return tlv + bytes(-len(tlv) % 4)


def fragments6(ip, ident):
    """An IPv6 packet longer than 600 bytes as fragments of 512 data bytes, last first."""
    if ip[0] >> 4 != 6 or len(ip) <= 600:
        return [ip]
    nxt, payload = ip[6], ip[40:]
    cuts = list(range(0, len(payload), 512))
    out = []
    for start in cuts:
        chunk = payload[start:start + 512]
        more = 1 if start + 512 < len(payload) else 0
        out.append(ipv6(ip[8:24], ip[24:40], 44, bytes([nxt, 0]) + be16(start | more) + be32(ident) + chunk))
    return list(reversed(out))


def fragments4(ip):
    """An IPv4 packet longer than 600 bytes as fragments of 512 data bytes, last first."""
    if ip[0] >> 4 != 4 or len(ip) <= 600:
        return [ip]
    hl = (ip[0] & 0x0f) * 4
    header, payload = bytearray(ip[:hl]), ip[hl:]
    out = []
    for start in range(0, len(payload), 512):
        chunk = payload[start:start + 512]
        more = 0x2000 if start + 512 < len(payload) else 0
        h = bytearray(header)
        h[2:4] = be16(hl + len(chunk))
        h[6:8] = be16(more | start // 8)
        out.append(bytes(h) + chunk)
    return list(reversed(out))


# Teredo between a qualified client and its relay (RFC 4380 5.2): the inner client
# has a Teredo address (2001:0::/32), the server a native one; the UDP ports are what
# the NAT mapped and the relay chose, neither of them 3544.
TEREDO_CLIENT = bytes.fromhex("20010000c63364018000c4653fffcdfd")
NATIVE_SERVER = bytes.fromhex("20010db8007700000000000000000001")


def teredo_relay(packets, truth, out):
    """teredo-relay-6.pcap: the IPv6 capture with its addresses moved to a Teredo
    client and a native server, carried between UDP 52010 (the client's mapping) and
    40999 (the relay). The relay's first packet to the client and every bubble carry
    an origin indication; a bubble opens the exchange each way, and one bubble
    carries bytes after its header (Zeek's Teredo_bubble_with_payload)."""
    import ipaddress, json
    origin = be16(0) + be16(~40999) + bytes(b ^ 0xff for b in A4)
    def moved(ip):
        to_server = ip[39] == 1
        src, dst = (TEREDO_CLIENT, NATIVE_SERVER) if to_server else (NATIVE_SERVER, TEREDO_CLIENT)
        return ip[:8] + src + dst + ip[40:], to_server
    def frame(body, to_server):
        ports = (52010, 40999) if to_server else (40999, 52010)
        return eth(0x0800, ipv4(*((B4, A4) if to_server else (A4, B4)), 17, udp(*ports, body)))
    def bubble(to_server, extra=b""):
        src, dst = (TEREDO_CLIENT, NATIVE_SERVER) if to_server else (NATIVE_SERVER, TEREDO_CLIENT)
        return b"\x60\0\0\0" + be16(len(extra)) + bytes([59, 21]) + src + dst + extra
    s0, u0, _ = packets[0]
    frames = [(s0, u0, frame(bubble(True), True)), (s0, u0, frame(origin + bubble(False), False))]
    first_reply = True
    for n, (s, u, ip) in enumerate(packets):
        inner, to_server = moved(ip)
        body = inner
        if not to_server and first_reply:
            body, first_reply = origin + inner, False
        frames.append((s, u, frame(body, to_server)))
        if n == len(packets) // 2:
            frames.append((s, u, frame(bubble(True, b"\xde\xad\xbe\xef"), True)))
    write(os.path.join(out, "teredo-relay-6.pcap"), frames)
    names = {str(ipaddress.ip_address("fd77::2")): str(ipaddress.ip_address(TEREDO_CLIENT)),
             str(ipaddress.ip_address("fd77::1")): str(ipaddress.ip_address(NATIVE_SERVER))}
    ground = json.load(open(truth))
    for flow in ground["flows"]:
        for end in ("client", "server"):
            flow[end][0] = names.get(flow[end][0], flow[end][0])
    json.dump(ground, open(os.path.join(out, "teredo-relay-6.pcap.json"), "w"), indent=1)


def wlan_header(flags, qos):
    """An 802.11 QoS data frame's MAC header: frame control, duration, three addresses
    (a fourth between two distribution systems), sequence control, QoS control, and
    the HT control field when the order flag says so."""
    h = bytes([0x88, flags]) + be16(0) + bytes([0, 0x0b, 0x86, 0, 0, 1] * 3) + be16(0x1230)
    if flags & 0x03 == 0x03: h += bytes([0, 0x0b, 0x86, 0, 0, 4])
    h += bytes([qos, 0])
    if flags & 0x80: h += be32(0)
    return h


def snap(ip): return bytes([0xaa, 0xaa, 3, 0, 0, 0]) + be16(ethertype(ip)) + ip


def aruba_amsdu(packets, out, tag):
    """aruba-amsdu-TAG.pcap: consecutive packets of one direction aggregated, up to three
    a frame, into A-MSDU subframes (destination, source, length, LLC/SNAP, padding to
    4 bytes but after the last), in 4-address frames with an HT control field; each
    frame has the timestamp of its last packet."""
    frames, group = [], []
    def flush():
        if not group: return
        subs = []
        for _, _, ip in group:
            sub = bytes(12) + be16(8 + len(ip)) + snap(ip)
            subs.append(sub)
        body = b"".join(sub + bytes(-len(sub) % 4) for sub in subs[:-1]) + subs[-1]
        s, u, ip = group[-1]
        frames.append((s, u, eth(0x0800, ipv4(*ends(ip), 47, be16(0) + be16(0x8200) + wlan_header(0x83, 0x80) + body))))
        group.clear()
    for s, u, ip in packets:
        if group and (ends(group[0][2]) != ends(ip) or len(group) == 3):
            flush()
        group.append((s, u, ip))
    flush()
    write(os.path.join(out, f"aruba-amsdu-{tag}.pcap"), frames)


def write(path, frames, link=1):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link))
        for sec, usec, frame in frames:
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def main():
    out = sys.argv[1]
    v4 = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "Tests/Fixtures/raw-ipv4.pcap")
    v6 = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "Tests/Fixtures/ipv6-loss.pcap")
    os.makedirs(out, exist_ok=True)
    for base, tag in ((v4, "4"), (v6, "6")):
        packets = list(records(base))
        for name, wrap in wrappers().items():
            if name == "teredo" and tag == "4": continue          # Teredo carries IPv6 only
            dest = os.path.join(out, f"{name}-{tag}.pcap")
            write(dest, [(s, u, wrap(ip)) for s, u, ip in packets], LINK_TYPES.get(name, 1))
            shutil.copy(base + ".json", dest + ".json")
        frames, vx = [], []
        for n, (s, u, ip) in enumerate(packets):
            for frag in (fragments6(ip, 1000 + n) if tag == "6" else fragments4(ip)):
                kind = 0x86dd if tag == "6" else 0x0800
                frames.append((s, u, eth(kind, frag)))
                vx.append((s, u, eth(0x0800, ipv4(*ends(ip), 17, udp(40003, 4789, b"\x08\0\0\0" + be32(42 << 8) + eth(kind, frag))))))
        # GTP-U whose outer IPv4 packets are fragmented (a mobile core's MTU), every
        # packet with its own identification
        gtp = []
        for n, (s, u, ip) in enumerate(packets):
            outer = ipv4(*ends(ip), 17, udp(2152, 2152, bytes([0x30, 0xff]) + be16(len(ip)) + be32(0xabcdef) + ip), ident=2000 + n)
            gtp += [(s, u, eth(0x0800, frag)) for frag in fragments4(outer)]
        if tag == "6":
            teredo_relay(packets, base + ".json", out)
        aruba_amsdu(packets, out, tag)
        shutil.copy(base + ".json", os.path.join(out, f"aruba-amsdu-{tag}.pcap.json"))
        for name, fr in ((f"ipv{tag}-frag", frames), (f"vxlan-ipv{tag}-frag", vx), (f"gtpu-outer-frag-{tag}", gtp)):
            write(os.path.join(out, name + ".pcap"), fr)
            shutil.copy(base + ".json", os.path.join(out, name + ".pcap.json"))
    print(f"wrote {len([f for f in os.listdir(out) if f.endswith('.pcap')])} captures into {out}")


if __name__ == "__main__":
    main()
