#!/usr/bin/env python3
"""Writes Tests/Fixtures/malformed/: real captures with one header made malformed
the way hostile or broken senders make them (issue 25, items 1-3), and what tshark
reads in each (NAME.tshark.json), which the tests compare flowdb's archive with.

  header-cut-syn.pcap   sample-loss.pcap's first connection, its SYN's data offset
                        saying 40 bytes while the IP length leaves 32 (12 bytes of
                        0xaa where options would be). Stored as payload, those bytes
                        overwrote the first 12 bytes the client really sent.
  bad-tcp-options.pcap  the same connection with two data segments' options broken:
                        kind 0x74 length 104 with 10 bytes left, and length 1. The
                        data offset is valid: their payload must be kept.
  ip-version.pcap       srv6-encap-4in6.pcap (real traffic through an SRv6 tunnel)
                        with the inner IPv4 header of one connection's packets
                        starting with version 5: no connection may come of them.
  http-gap.pcap         the first connection of Tests/Fixtures/apps/app.pcap (real
                        HTTP keep-alive, three transactions) without the third
                        segment of its first response's body, as a capture that
                        missed it: the two responses after the gap must be found.

And in Tests/Fixtures/zeek/:
  idle-6min.pcap        sample-loss.pcap's first connection with a pause of 6 minutes
                        after its 20th packet (the later packets' times shifted),
                        and its second connection 3 minutes into the pause: Zeek's
                        tcp_inactivity_timeout (5 minutes) makes two connections of
                        the first.
  synack-first.pcap     sample-loss.pcap's first connection with its SYN-ACK before
                        its SYN, as a tap merging the two directions with a skewed
                        clock delivers them: Zeek takes the SYN-ACK's sender as the
                        originator (port 9000 is no likely service), then swaps the
                        roles at the SYN.

Each file is deterministic: running this again writes the same bytes.
  usage: scripts/make-malformed-fixtures.py  (needs tshark)"""
import json, os, struct, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
out_dir = os.path.join(root, "Tests", "Fixtures", "malformed")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    header, records, offset = data[:24], [], 24
    assert struct.unpack("<I", header[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D), path
    while offset < len(data):
        ts1, ts2, caplen, wirelen = struct.unpack("<IIII", data[offset:offset + 16])
        records.append([ts1, ts2, wirelen, bytearray(data[offset + 16:offset + 16 + caplen])])
        offset += 16 + caplen
    return header, records


def write_pcap(path, header, records):
    with open(path, "wb") as f:
        f.write(header)
        for ts1, ts2, wirelen, frame in records:
            f.write(struct.pack("<IIII", ts1, ts2, len(frame), max(wirelen, len(frame))))
            f.write(frame)


def ipv4_checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), bytes(header)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def tcp_of(frame):
    """(ip offset, tcp offset) of an Ethernet/IPv4/TCP frame."""
    assert frame[12:14] == b"\x08\x00" and frame[23] == 6
    ip = 14
    return ip, ip + (frame[ip] & 0x0F) * 4


def first_connection(records):
    """The records of the capture's first connection (by client port of its SYN)."""
    ip, tcp = tcp_of(records[0][3])
    port = struct.unpack("!H", records[0][3][tcp:tcp + 2])[0]
    keep = []
    for r in records:
        i, t = tcp_of(r[3])
        sport, dport = struct.unpack("!HH", r[3][t:t + 4])
        if port in (sport, dport):
            keep.append(r)
    return keep


def header_cut_syn(records):
    records = [list(r[:3]) + [bytearray(r[3])] for r in first_connection(records)]
    syn = records[0][3]
    ip, tcp = tcp_of(syn)
    assert syn[tcp + 13] == 0x02
    # 32 bytes of TCP header present of the 40 announced: the 20 fixed, then 0xaa
    cut = syn[:tcp + 20] + bytearray([0xAA] * 12)
    cut[tcp + 12] = (10 << 4) | (cut[tcp + 12] & 0x0F)
    struct.pack_into("!H", cut, ip + 2, len(cut) - ip)
    struct.pack_into("!H", cut, ip + 10, 0)
    struct.pack_into("!H", cut, ip + 10, ipv4_checksum(cut[ip:tcp]))
    records[0][3] = cut
    records[0][2] = len(cut)
    return records


def bad_tcp_options(records):
    records = [list(r[:3]) + [bytearray(r[3])] for r in first_connection(records)]
    broken = 0
    for r in records:
        frame = r[3]
        ip, tcp = tcp_of(frame)
        header = (frame[tcp + 12] >> 4) * 4
        payload = struct.unpack("!H", frame[ip + 2:ip + 4])[0] - (tcp - ip) - header
        if payload <= 0 or header != 32:
            continue
        if broken == 0:
            # NOP NOP, then kind 0x74 announcing 104 bytes with 10 left
            frame[tcp + 20:tcp + 32] = bytes([1, 1, 0x74, 104]) + bytes(8)
        else:
            # an option of length 1
            frame[tcp + 20:tcp + 32] = bytes([1, 1, 8, 1]) + bytes(8)
        broken += 1
        if broken == 2:
            break
    assert broken == 2
    return records


def ip_version(records):
    """Sets the version nibble of the inner IPv4 header to 5 in the packets of the
    capture's first inner TCP connection."""
    def inner(frame):
        if frame[12:14] != b"\x86\xdd":
            return None
        offset, nxt = 14 + 40, frame[14 + 6]
        while nxt in (0, 43, 60):
            nxt, offset = frame[offset], offset + (frame[offset + 1] + 1) * 8
        return offset if nxt == 4 and frame[offset + 9] == 6 else None
    port = None
    changed = 0
    out = []
    for ts1, ts2, wirelen, frame in records:
        frame = bytearray(frame)
        i = inner(frame)
        if i is not None:
            t = i + (frame[i] & 0x0F) * 4
            sport, dport = struct.unpack("!HH", frame[t:t + 4])
            if port is None and frame[t + 13] == 0x02:
                port = sport
            if port in (sport, dport):
                frame[i] = (5 << 4) | (frame[i] & 0x0F)
                changed += 1
        out.append([ts1, ts2, wirelen, frame])
    assert changed > 0
    return out


def http_gap(records):
    """The first connection without the third data segment the server sent."""
    keep, server_segments = [], 0
    for r in first_connection(records):
        ip, tcp = tcp_of(r[3])
        sport = struct.unpack("!H", r[3][tcp:tcp + 2])[0]
        payload = struct.unpack("!H", r[3][ip + 2:ip + 4])[0] - (tcp - ip) - (r[3][tcp + 12] >> 4) * 4
        if sport == 8080 and payload > 0:
            server_segments += 1
            if server_segments == 3:
                continue
        keep.append(r)
    return keep


def idle_6min(records):
    """The first connection, its packets from the 21st on 6 minutes later, with the
    second connection 3 minutes after the 20th."""
    first = first_connection(records)
    port = lambda r: struct.unpack("!H", r[3][tcp_of(r[3])[1]:tcp_of(r[3])[1] + 2])[0]
    ports = {port(first[0])}
    second_port = next(port(r) for r in records if port(r) not in ports and port(r) != 9000)
    second = [r for r in records if second_port in struct.unpack("!HH", r[3][tcp_of(r[3])[1]:tcp_of(r[3])[1] + 4])]
    out = [[r[0] + (360 if n >= 20 else 0), r[1], r[2], r[3]] for n, r in enumerate(first)]
    shift = first[19][0] + 180 - second[0][0]
    out += [[r[0] + shift, r[1], r[2], r[3]] for r in second]
    return sorted(out, key=lambda r: (r[0], r[1]))


def synack_first(records):
    """The first connection with its SYN-ACK before its SYN (their times swapped too),
    as a tap that merges the two directions with a skewed clock hands it over."""
    first = [list(r) for r in first_connection(records)]
    flags = lambda r: r[3][tcp_of(r[3])[1] + 13]
    syn = next(n for n, r in enumerate(first) if flags(r) & 0x12 == 0x02)
    synack = next(n for n, r in enumerate(first) if flags(r) & 0x12 == 0x12)
    a, b = first[syn], first[synack]
    a[0:2], b[0:2] = b[0:2], a[0:2]
    first[syn], first[synack] = b, a
    return first


def tshark(args):
    return subprocess.run(["tshark"] + args, capture_output=True, text=True, check=True).stdout


def follow_raw(path, stream):
    """tshark's `follow,tcp,raw` of one stream: the hex of the bytes each endpoint
    (address:port) sent."""
    text = tshark(["-r", path, "-q", "-z", f"follow,tcp,raw,{stream}"])
    nodes = [line.split(": ", 1)[1].strip() for line in text.splitlines() if line.startswith("Node ")]
    sent = {node: [] for node in nodes}
    for line in text.split("Node 1:")[1].split("\n")[1:]:
        if not line or line.startswith("="):
            continue
        sent[nodes[1] if line.startswith("\t") else nodes[0]].append(line.strip())
    return {node: "".join(parts) for node, parts in sent.items()}


def main():
    os.makedirs(out_dir, exist_ok=True)
    header, sample = read_pcap(os.path.join(root, "Samples", "sample-loss.pcap"))
    theader, tunnel = read_pcap(os.path.join(root, "Tests", "Fixtures", "tunnels", "srv6-encap-4in6.pcap"))
    aheader, apps = read_pcap(os.path.join(root, "Tests", "Fixtures", "apps", "app.pcap"))
    zeek_dir = os.path.join(root, "Tests", "Fixtures", "zeek")
    os.makedirs(zeek_dir, exist_ok=True)
    write_pcap(os.path.join(zeek_dir, "idle-6min.pcap"), header, idle_6min(sample))
    print(os.path.join(zeek_dir, "idle-6min.pcap"))
    write_pcap(os.path.join(zeek_dir, "synack-first.pcap"), header, synack_first(sample))
    print(os.path.join(zeek_dir, "synack-first.pcap"))
    for name, hdr, records in [("header-cut-syn", header, header_cut_syn(sample)),
                               ("bad-tcp-options", header, bad_tcp_options(sample)),
                               ("ip-version", theader, ip_version(tunnel)),
                               ("http-gap", aheader, http_gap(apps))]:
        path = os.path.join(out_dir, name + ".pcap")
        write_pcap(path, hdr, records)
        truth = {"source": "scripts/make-malformed-fixtures.py", "tshark": tshark(["-v"]).split("\n")[0]}
        if name == "ip-version":
            conv = tshark(["-r", path, "-q", "-z", "conv,tcp"])
            truth["tcp_conversations"] = sum(1 for l in conv.splitlines() if "<->" in l)
            truth["bogus_ip_version_packets"] = len(tshark(["-r", path, "-Y", "_ws.expert.message contains \"Bogus IP version\"",
                                                              "-T", "fields", "-e", "frame.number"]).split())
        elif name == "http-gap":
            fields = tshark(["-r", path, "-Y", "http.request || http.response", "-T", "fields", "-e", "http.request.method",
                             "-e", "http.request.uri", "-e", "http.response.code", "-e", "http.content_length"])
            truth["http_messages"] = [line.split("\t") for line in fields.splitlines()]
        else:
            truth["follow_raw_stream_0"] = follow_raw(path, 0)
        with open(path + ".tshark.json", "w") as f:
            json.dump(truth, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    sys.exit(main())
