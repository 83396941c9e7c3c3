#!/usr/bin/env bash
# Makes the small real-traffic fixtures under Tests/Fixtures/ (each with its ground
# truth, FILE.json) from real Linux TCP stacks in network namespaces, using
# ../shared/realtraffic. Needs root, tcpdump, nftables, ethtool, iproute2, python3.
#   sll2-any.pcap        tcpdump -i any: Linux cooked v2 (DLT_LINUX_SLL2, 276)
#   ipv6-loss.pcap       IPv6 with 4% loss before the capture point
#   loop-be.pcap         derived from sll2-any.pcap: DLT_LOOP (108) headers
#   null-be.pcap         derived from sll2-any.pcap: DLT_NULL (0), big-endian family
#   raw-ipv4.pcap        derived from sll2-any.pcap: LINKTYPE_RAW (101)
#   qinq.pcap            derived from sll2-any.pcap: Ethernet, 802.1ad outer tag 100 + 802.1Q inner tag 200
# The derived files wrap the same real IP packets in other link-layer headers: this
# machine's kernel has no 802.1Q support and Linux has no DLT_LOOP/DLT_NULL capture.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
out=$here/Tests/Fixtures
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$rt"/capture.sh "$rt"/peer.py "$work"/
# Three short connections, one ending in RST: enough for every code path, tiny on disk.
cat > "$work/plan.py" <<'PY'
import json, sys
conns = [{"rounds": [[300, 4000], [20, 9000]], "end": "fin"},
         {"rounds": [[5000, 100]], "end": "rst"},
         {"rounds": [[0, 12000]], "end": "fin"}]
json.dump({"concurrency": 1, "conns": conns}, sys.stdout)
PY
bash "$work/capture.sh" tiny "$out/sll2-any.pcap" v4 0 0 any
bash "$work/capture.sh" tiny "$out/ipv6-loss.pcap" v6 4 0

# Other link-layer headers around the same real IPv4 packets.
python3 - "$out" <<'PY'
import struct, sys, shutil
out = sys.argv[1]
def records(path):
    data = open(path, "rb").read()
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    i = 24
    while i + 16 <= len(data):
        s, f, incl, orig = struct.unpack(e + "IIII", data[i:i + 16])
        yield magic, e, s, f, orig, data[i + 16:i + 16 + incl]
        i += 16 + incl
def write(path, linktype, header_for):
    with open(path, "wb") as w:
        first = True
        for magic, e, s, f, orig, pkt in records(out + "/sll2-any.pcap"):
            if first:
                w.write(magic + struct.pack(e + "HHiIII", 2, 4, 0, 0, 262144, linktype)); first = False
            if struct.unpack(">H", pkt[0:2])[0] != 0x0800:
                continue
            ip = pkt[20:]
            body = header_for(ip) + ip
            w.write(struct.pack(e + "IIII", s, f, len(body), orig - 20 + len(body) - len(ip)) + body)
write(out + "/loop-be.pcap", 108, lambda ip: struct.pack(">I", 2))
write(out + "/null-be.pcap", 0, lambda ip: struct.pack(">I", 2))
write(out + "/raw-ipv4.pcap", 101, lambda ip: b"")
mac = bytes.fromhex("02000000000a02000000000b")
write(out + "/qinq.pcap", 1, lambda ip: mac + bytes.fromhex("88a80064" "810000c8" "0800"))
for n in ("loop-be", "null-be", "raw-ipv4", "qinq"):
    shutil.copy(out + "/sll2-any.pcap.json", out + "/" + n + ".pcap.json")
PY
ls -l "$out"
