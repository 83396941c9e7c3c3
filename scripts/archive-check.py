#!/usr/bin/env python3
"""Checks what `flowdb ingest` stored against the truth, capture by capture.

    scripts/archive-check.py [--flowdb BIN] [--oracle BIN] CAPTURE... [-- INGEST FLAGS]

Each capture is ingested (with --flush-every 0, as gopacket-oracle never flushes
before the end) into a fresh archive, then:
  - ground truth: where CAPTURE.json exists (written by ../shared/realtraffic), the
    bytes read back from `chunk` per flow and direction must equal the bytes really
    sent (length and sha256), checked by ../shared/realtraffic/truth.py;
  - oracle: the `chunk` rows of every flow must equal gopacket-oracle's deliveries
    of the same stream field by field (direction, start, end, skip, length, bytes,
    first/last byte time, statistics), in order, and every flow must be complete.
Streams of the documented deviations (see oracle-diff.py) are listed apart.
Ends with 'N passed, M failed'; exit 1 on any failure.
"""
import hashlib, importlib.util, json, os, sqlite3, subprocess, sys, tempfile

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
    for fid, cip, cport, sip, sport in con.execute("SELECT id, client_ip, client_port, server_ip, server_port FROM flow ORDER BY id"):
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

def check_oracle(db, capture, oracle, flags):
    events, rc, err = od.load([oracle, *[f[1:] if f.startswith("--") else f for f in flags], capture])
    theirs = od.streams(events)
    con = sqlite3.connect(db)
    mine = {}
    for fid, cip, cport, sip, sport, complete in con.execute(
            "SELECT id, client_ip, client_port, server_ip, server_port, complete FROM flow ORDER BY id"):
        rows = []
        for r in con.execute("""SELECT dir, is_start, is_end, skip, length, hex(data), ts_first, ts_last, chunks, packets,
                                       queued_bytes, queued_packets, overlap_bytes, overlap_packets
                                FROM chunk WHERE flow_id = ? ORDER BY id""", (fid,)):
            d, st, en, sk, ln, hx, t1, t2, ch, pk, qb, qp, ob, op = r
            rows.append(("sg", "client->server" if d == 0 else "server->client", bool(st), bool(en), sk, ln, hx.lower(),
                         t1, t2, tuple(sorted({"chunks": ch, "packets": pk, "queued_bytes": qb, "queued_packets": qp,
                                               "overlap_bytes": ob, "overlap_packets": op}.items()))))
        key = od.norm_key(f"{cip}->{sip}:{cport}->{sport}")
        mine.setdefault(key, []).append((rows, complete))
    diffs, deviations, compared, deliveries = [], [], 0, 0
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key, []), theirs.get(key, [])
        if len(a) > len(b) and b:
            deviations.append(f"{key}: {len(a)} flows, gopacket {len(b)} streams (port reuse)"); continue
        if len(a) != len(b):
            diffs.append(f"{key}: {len(a)} flows, gopacket {len(b)} streams"); continue
        for n, ((rows, complete), evs) in enumerate(zip(a, b)):
            want = [(e[0], e[2], e[3], e[4], e[5], e[6], e[8], e[9], e[10], e[11]) for e in evs if e[0] == "sg"]
            compared += 1; deliveries += len(want)
            if rows != want:
                i = next((i for i, (p, q) in enumerate(zip(rows, want)) if p != q), min(len(rows), len(want)))
                diffs.append(f"{key} #{n} chunk {i}: archive {rows[i] if i < len(rows) else 'none'} | gopacket {want[i] if i < len(want) else 'none'}")
            elif not complete and any(e[0] == "complete" for e in evs):
                diffs.append(f"{key} #{n}: flow not marked complete")
    lt = od.link_type(capture)
    if diffs and not events and lt in od.UNDECODABLE:
        deviations.append(f"gopacket cannot decode {od.UNDECODABLE[lt]}: {len(diffs)} keys are flowdb's alone"); diffs = []
    known = od.load_deviations()
    if diffs and os.path.basename(capture) in known:
        deviations.append(f"{len(diffs)} flow(s) differ as documented: {known[os.path.basename(capture)]}"); diffs = []
    return diffs, deviations, compared, deliveries

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
    passed = failed = flows = chunks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, capture in enumerate(args.captures):
            db = os.path.join(tmp, f"a{n}.sqlite")
            rc, err = ingest(args.flowdb, capture, flags, db)
            truth_ok, truth = check_truth(db, capture) if os.path.exists(db) else (False, "no archive")
            diffs, deviations, f, c = check_oracle(db, capture, args.oracle, flags) if os.path.exists(db) else (["no archive"], [], 0, 0)
            flows += f; chunks += c
            ok = not diffs and truth_ok is not False and rc == 0
            passed += ok; failed += not ok
            print(f"{'ok' if ok else 'FAILED'} {capture}: ground truth: {truth}; oracle: {f} flows, {c} chunks, "
                  f"{len(diffs)} differences, {len(deviations)} deviations" + (f"; ingest exit {rc}: {err}" if rc else ""))
            for line in diffs[:5]: print("    difference:", line[:400])
            for line in deviations[:3]: print("    deviation:", line[:400])
    print(f"compared {flows} flows, {chunks} chunks with gopacket")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)

if __name__ == "__main__":
    main()
