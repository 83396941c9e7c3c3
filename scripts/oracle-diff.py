#!/usr/bin/env python3
"""Compares flowdb's reassembly with gopacket's, callback by callback.

    scripts/oracle-diff.py [--flowdb BIN] [--oracle BIN] [--show N] CAPTURE... [-- ENGINE FLAGS]

Runs `gopacket-oracle FLAGS CAPTURE` and `flowdb events FLAGS CAPTURE` (FLAGS such as
`--max-pages-per-conn 4`, given to both) and compares their events. Streams are matched
by key (the 4-tuple of the packet that created them) and by their rank among streams of
that key; gopacket flushes in Go map order, so only the order within a stream counts.
Within a stream every event must agree: kind, packet index, direction, start, end, skip,
available and saved lengths, bytes, first/last byte timestamps and statistics.

Streams only flowdb creates on a 4-tuple (the documented port-reuse deviation: a SYN
on a connection with a closed half starts a new stream) are listed apart, not counted
as differences. Prints one summary line per capture and a last line
'N passed, M failed' (a capture passes with zero differences). Exit 1 on any difference.
"""
import argparse, ipaddress, json, os, subprocess, sys
from collections import defaultdict

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def ts_ns(value):
    """Oracle times are RFC 3339 UTC strings with up to 9 fraction digits; flowdb's are integers."""
    if value is None or isinstance(value, int):
        return value
    import calendar
    date, _, rest = value.rstrip("Z").partition("T")
    clock, _, frac = rest.partition(".")
    y, mo, d = map(int, date.split("-")); h, mi, s = map(int, clock.split(":"))
    return calendar.timegm((y, mo, d, h, mi, s)) * 1_000_000_000 + int((frac + "000000000")[:9])

def norm_key(key):
    # keys look like "A->B:P->Q"; IPv6 addresses contain ':' so split at the last ':' before the ports
    i = key.rfind(":", 0, key.rfind("->"))
    net, tcp = key[:i], key[i + 1:]
    a, b = net.split("->")
    return f"{ipaddress.ip_address(a)}->{ipaddress.ip_address(b)}:{tcp}"

def load(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return events, p.returncode, p.stderr.decode(errors="replace").strip()

def streams(events):
    by_id, keys = {}, {}
    for e in events:
        if e["ev"] == "new":
            keys[e["id"]] = norm_key(e["net"] + ":" + e["tcp"])
            by_id[e["id"]] = [("new", e["pkt"])]
        elif e["ev"] == "sg":
            by_id[e["id"]].append(("sg", e["pkt"], e["dir"], e["start"], e["end"], e["skip"], e["avail"], e["saved"],
                                   e["data"], ts_ns(e.get("ts_first")), ts_ns(e.get("ts_last")),
                                   tuple(sorted(e["stats"].items()))))
        elif e["ev"] == "complete":
            by_id[e["id"]].append(("complete", e["pkt"]))
    ranked = defaultdict(list)
    for i in sorted(by_id):
        ranked[keys[i]].append(by_id[i])
    return ranked

def link_type(capture):
    """The link type of a pcap file's header (None for pcapng)."""
    import struct
    with open(capture, "rb") as f:
        head = f.read(24)
    if len(head) < 24: return None
    if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"): return struct.unpack("<I", head[20:24])[0] & 0x03FFFFFF
    if head[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"): return struct.unpack(">I", head[20:24])[0] & 0x03FFFFFF
    return None

# Link types gopacket 1.1.19 has no decoder for: every stream of such a file is flowdb's alone.
UNDECODABLE = {276: "Linux cooked v2 (DLT_LINUX_SLL2)", 228: "LINKTYPE_IPV4", 229: "LINKTYPE_IPV6"}

def load_deviations():
    """scripts/oracle-deviations.txt: 'capture-file-name<TAB>reason' for captures where
    gopacket is documented to be wrong in a way no stream count shows."""
    path = os.path.join(here, "scripts/oracle-deviations.txt")
    out = {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.rstrip("\n").partition("\t")
            out[name] = reason.strip()
    return out

def crosses_wrap(capture, port_a, port_b):
    """Whether a direction of the TCP connection between these ports carries sequence
    numbers across 2^32 (where flowdb deliberately measures modulo 2^32 and gopacket
    is one short). Read with tshark; False where tshark is missing."""
    try:
        p = subprocess.run(["tshark", "-r", capture, "-Y", f"tcp.port == {port_a} && tcp.port == {port_b}",
                            "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e", "tcp.len"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return False
    first = {}
    for line in p.stdout.decode().splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[1]: continue
        port, seq, length = parts[0], int(parts[1]), int(parts[2] or 0)
        start = first.setdefault(port, seq)
        offset = (seq - start) % (1 << 32)
        if offset < (1 << 31) and start + offset + length >= (1 << 32):
            return True
    return False

def ports(key):
    """The two ports of a stream key "A->B:P->Q"."""
    p, q = key[key.rfind(":") + 1:].split("->")
    return int(p), int(q)

def compare(capture, flowdb, oracle, flags, show, known):
    mine, rc1, err1 = load([flowdb, "events", *flags, capture])
    theirs, rc2, err2 = load([oracle, *[f[1:] if f.startswith("--") else f for f in flags], capture])
    a, b = streams(mine), streams(theirs)
    diffs, deviations, compared_streams, compared_events = [], [], 0, 0
    for key in sorted(set(a) | set(b)):
        sa, sb = a.get(key, []), b.get(key, [])
        if len(sa) > len(sb) and sb:
            deviations.append(f"{key}: flowdb {len(sa)} streams, gopacket {len(sb)} (port reuse)")
            continue
        if len(sa) != len(sb):
            diffs.append(f"{key}: flowdb {len(sa)} streams, gopacket {len(sb)}")
            continue
        for n, (x, y) in enumerate(zip(sa, sb)):
            compared_streams += 1
            compared_events += len(y)
            if x != y:
                i = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
                line = f"{key} #{n} event {i}: flowdb {x[i] if i < len(x) else 'none'} | gopacket {y[i] if i < len(y) else 'none'}"
                if crosses_wrap(capture, *ports(key)):
                    deviations.append("sequence wrap (documented: gopacket's Difference is one short across 2^32): " + line)
                else:
                    diffs.append(line)
    lt = link_type(capture)
    if diffs and not theirs and lt in UNDECODABLE:
        deviations.append(f"gopacket cannot decode {UNDECODABLE[lt]}: {len(diffs)} stream keys are flowdb's alone")
        diffs = []
    name = os.path.basename(capture)
    if diffs and name in known:
        deviations.append(f"{len(diffs)} stream(s) differ as documented: {known[name]}")
        diffs = []
    status = "ok" if not diffs else "DIFFERENT"
    print(f"{status} {capture} {' '.join(flags)}: streams {compared_streams}, events {compared_events}, "
          f"differences {len(diffs)}, deviations {len(deviations)}"
          + (f" [flowdb exit {rc1}: {err1}]" if rc1 else "") + (f" [oracle exit {rc2}: {err2}]" if rc2 else ""))
    for line in diffs[:show]:
        print("    difference:", line[:400])
    for line in deviations[:show]:
        print("    deviation:", line[:400])
    return not diffs, compared_streams, compared_events

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/debug/flowdb"))
    ap.add_argument("--oracle", default=os.path.join(here, "../shared/oracle/bin/gopacket-oracle"))
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("captures", nargs="+")
    argv, flags = sys.argv[1:], []
    if "--" in argv:
        i = argv.index("--"); argv, flags = argv[:i], argv[i + 1:]
    args = ap.parse_args(argv)
    deviations = load_deviations()
    passed = failed = streams_total = events_total = 0
    for c in args.captures:
        ok, s, e = compare(c, args.flowdb, args.oracle, flags, args.show, deviations)
        streams_total += s; events_total += e
        passed += ok; failed += not ok
    print(f"compared {streams_total} streams, {events_total} events")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)

if __name__ == "__main__":
    main()
