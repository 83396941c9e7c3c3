#!/usr/bin/env python3
"""Checks what `flowdb ingest` stored against the truth, capture by capture.

    scripts/archive-check.py [--flowdb BIN] [--oracle BIN] CAPTURE... [-- INGEST FLAGS]

Each capture is ingested (with --flush-every 0, as gopacket-oracle never flushes
before the end) into a fresh archive, then:
  - ground truth: where CAPTURE.json exists (written by ../shared/realtraffic), the
    bytes read back from `chunk` per flow and direction must equal the bytes really
    sent (length and sha256), checked by ../shared/realtraffic/truth.py;
  - oracle: per connection (its two endpoints), the `chunk` rows of its flows must
    equal gopacket-oracle's deliveries of its streams field by field (sender, start,
    end, skip, length, bytes, first/last byte time, statistics), in order, and every
    flow must be complete. gopacket starts a new stream for packets after a close
    (the last ACK); flowdb counts them on the connection: such streams are counted
    as flow accounting, apart from differences in delivered data.
Streams of the documented deviations (see oracle-diff.py) are listed apart.
Ends with 'N passed, M failed'; exit 1 on any failure.
"""
import hashlib, importlib.util, ipaddress, json, os, sqlite3, subprocess, sys, tempfile

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("oracle_diff", os.path.join(here, "scripts/oracle-diff.py"))
od = importlib.util.module_from_spec(spec); spec.loader.exec_module(od)

def endpoint(ip, port, v):
    return f"[{ip}]:{port}" if v == 6 else f"{ip}:{port}"

def ingest(flowdb, capture, flags, db):
    p = subprocess.run([flowdb, "ingest", "--quiet", "--db", db, "--flush-every", "0", *flags, capture],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stderr.decode(errors="replace").strip()

def check_truth(db, capture):
    truth = capture + ".json"
    if not os.path.exists(truth):
        return None, "no ground truth"
    con = sqlite3.connect(db)
    lines = []
    for fid, cip, cport, sip, sport in con.execute("SELECT id, client_ip, client_port, server_ip, server_port FROM flow WHERE proto = 'tcp' ORDER BY id"):
        for d, name in ((0, "c2s"), (1, "s2c")):
            h, n = hashlib.sha256(), 0
            for (data,) in con.execute("SELECT data FROM chunk WHERE flow_id = ? AND dir = ? ORDER BY id", (fid, d)):
                h.update(data); n += len(data)
            lines.append(json.dumps({"client": f"{cip}:{cport}", "server": f"{sip}:{sport}", "dir": name, "bytes": n, "sha256": h.hexdigest()}))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([sys.executable, os.path.join(here, "../shared/realtraffic/truth.py"), truth, f.name], stdout=subprocess.PIPE)
    os.unlink(f.name)
    last = p.stdout.decode().strip().splitlines()[-1]
    return last.endswith(" 0 failed"), last

def canonical(a, b):
    return tuple(sorted((a, b)))

def check_oracle(db, capture, oracle, flags):
    """Deliveries per connection (its two endpoints, either way round), in call order,
    with each delivery's sender: the archive's chunk rows of all its flows against
    gopacket's deliveries of all its streams. One flow per connection means that
    gopacket's streams of packets after a close (the last ACK, a retransmitted FIN)
    continue their connection's flow: counted apart, as flow accounting."""
    events, rc, err = od.load([oracle, *[f[1:] if f.startswith("--") else f for f in flags], capture])
    theirs = od.streams(events)
    con = sqlite3.connect(db)
    mine, flows, incomplete = {}, {}, []
    for fid, v, cip, cport, sip, sport, complete in con.execute(
            "SELECT id, ip_version, client_ip, client_port, server_ip, server_port, complete FROM flow WHERE proto = 'tcp' ORDER BY id"):
        c, s_ = f"{ipaddress.ip_address(cip)}:{cport}", f"{ipaddress.ip_address(sip)}:{sport}"
        key = canonical(c, s_)
        flows.setdefault(key, []).append(fid)
        if not complete: incomplete.append(fid)
        for r in con.execute("""SELECT dir, is_start, is_end, skip, length, hex(data), ts_first, ts_last, chunks, packets,
                                       queued_bytes, queued_packets, overlap_bytes, overlap_packets
                                FROM chunk WHERE flow_id = ? ORDER BY id""", (fid,)):
            d, st, en, sk, ln, hx, t1, t2, ch, pk, qb, qp, ob, op = r
            mine.setdefault(key, []).append(("sg", c if d == 0 else s_, bool(st), bool(en), sk, ln, hx.lower(),
                         t1, t2, tuple(sorted({"chunks": ch, "packets": pk, "queued_bytes": qb, "queued_packets": qp,
                                               "overlap_bytes": ob, "overlap_packets": op}.items()))))
    streams = {}   # connection key -> [(client, server, events)] of gopacket's streams
    for skey, ranked in theirs.items():
        net, _, tcp = skey.rpartition(":")
        a, b = net.split("->"); pa, pb = tcp.split("->")
        src, dst = f"{a}:{pa}", f"{b}:{pb}"
        for evs in ranked:
            streams.setdefault(canonical(src, dst), []).append((src, dst, evs))
    for ranked in streams.values():
        # streams of one connection key, in creation order (the oracle numbers them)
        ranked.sort(key=lambda s: s[2][0][1] if s[2] and s[2][0][0] == "new" else 0)
    diffs, deviations, accounting, compared, deliveries = [], [], 0, 0, 0
    for key in sorted(set(flows) | set(streams)):
        nf, ns = len(flows.get(key, [])), len(streams.get(key, []))
        if nf > ns and ns:
            deviations.append(f"{key}: {nf} flows, gopacket {ns} streams (port reuse)"); continue
        if nf < ns:
            accounting += ns - nf
        expected = []
        for src, dst, evs in streams.get(key, []):
            expected += [("sg", src if e[2] == "client->server" else dst, e[3], e[4], e[5], e[6], e[8], e[9], e[10], e[11])
                         for e in evs if e[0] == "sg"]
        rows = mine.get(key, [])
        compared += 1; deliveries += len(expected)
        if rows != expected:
            i = next((i for i, (p, q) in enumerate(zip(rows, expected)) if p != q), min(len(rows), len(expected)))
            line = f"{key} chunk {i}: archive {rows[i] if i < len(rows) else 'none'} | gopacket {expected[i] if i < len(expected) else 'none'}"
            if od.crosses_wrap(capture, int(key[0].rsplit(":", 1)[1]), int(key[1].rsplit(":", 1)[1])):
                deviations.append("sequence wrap (documented: gopacket's Difference is one short across 2^32): " + line)
            else:
                diffs.append(line)
    if incomplete:
        diffs.append(f"flows not marked complete: {incomplete[:10]}")
    lt = od.link_type(capture)
    if diffs and not events and lt in od.UNDECODABLE:
        deviations.append(f"gopacket cannot decode {od.UNDECODABLE[lt]}: {len(diffs)} keys are flowdb's alone"); diffs = []
    known = od.load_deviations()
    if diffs and os.path.basename(capture) in known:
        deviations.append(f"{len(diffs)} connection(s) differ as documented: {known[os.path.basename(capture)]}"); diffs = []
    return diffs, deviations, accounting, compared, deliveries

def main():
    argv, flags = sys.argv[1:], []
    if "--" in argv:
        i = argv.index("--"); argv, flags = argv[:i], argv[i + 1:]
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
    ap.add_argument("--oracle", default=os.path.join(here, ".build-oracle/gopacket-oracle"))
    ap.add_argument("captures", nargs="+")
    args = ap.parse_args(argv)
    passed = failed = flows = chunks = merged = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, capture in enumerate(args.captures):
            db = os.path.join(tmp, f"a{n}.sqlite")
            rc, err = ingest(args.flowdb, capture, flags, db)
            truth_ok, truth = check_truth(db, capture) if os.path.exists(db) else (False, "no archive")
            diffs, deviations, m, f, c = check_oracle(db, capture, args.oracle, flags) if os.path.exists(db) else (["no archive"], [], 0, 0, 0)
            flows += f; chunks += c; merged += m
            ok = not diffs and truth_ok is not False and rc == 0
            passed += ok; failed += not ok
            print(f"{'ok' if ok else 'FAILED'} {capture}: ground truth: {truth}; oracle: {f} connections, {c} chunks, "
                  f"{len(diffs)} differences in delivered data, {len(deviations)} deviations, "
                  f"flow accounting: {m} gopacket stream(s) after a close counted on their connection"
                  + (f"; ingest exit {rc}: {err}" if rc else ""))
            for line in diffs[:5]: print("    difference:", line[:400])
            for line in deviations[:3]: print("    deviation:", line[:400])
    print(f"compared {flows} connections, {chunks} chunks with gopacket; flow accounting: {merged} streams continued their connection")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)

if __name__ == "__main__":
    main()
