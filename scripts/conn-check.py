#!/usr/bin/env python3
"""Counts connections as an analyst does, against the ground truth of real traffic.

    scripts/conn-check.py [--flowdb BIN] CAPTURE... [-- INGEST FLAGS]

Each CAPTURE (with CAPTURE.json from ../shared/realtraffic: every connection really
made, its endpoints and how it ended) is ingested into a fresh archive. Then:
  - every real connection is exactly one flow (the n-th connection on a reused
    client/server pair is the n-th flow on it, in creation order);
  - a connection closed by FIN both ways is SF, one ended by RST is RSTO or RSTR;
  - no other flow exists (no empty flow for a last ACK, none seen from the server).
Prints the counts per capture and ends with 'N passed, M failed'; exit 1 on any failure.
"""
import argparse, ipaddress, json, os, sqlite3, subprocess, sys, tempfile
from collections import defaultdict

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def endpoint(ip, port):
    return f"{ipaddress.ip_address(ip)}:{port}"


def check(flowdb, capture, flags, db):
    p = subprocess.run([flowdb, "ingest", "--quiet", "--db", db, *flags, capture],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return False, f"ingest exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}"
    with open(capture + ".json") as f:
        truth = json.load(f)["flows"]
    real = defaultdict(list)
    for t in truth:
        real[(endpoint(*t["client"]), endpoint(*t["server"]))].append(t["end"])
    con = sqlite3.connect(db)
    flows = defaultdict(list)
    rows = con.execute("SELECT id, client_ip, client_port, server_ip, server_port, conn_state FROM flow WHERE proto = 'tcp' ORDER BY id").fetchall()
    for fid, cip, cport, sip, sport, state in rows:
        flows[(endpoint(cip, cport), endpoint(sip, sport))].append((fid, state))
    one_each = closed_ok = closed_n = reset_ok = reset_n = 0
    problems = []
    for pair, ends in real.items():
        got = flows.pop(pair, [])
        if len(got) == len(ends):
            one_each += len(ends)
        else:
            problems.append(f"{pair[0]} -> {pair[1]}: {len(ends)} connection(s), {len(got)} flow(s)")
        for end, (fid, state) in zip(ends, got):
            if end == "fin":
                closed_n += 1
                if state == "SF": closed_ok += 1
                else: problems.append(f"flow {fid} {pair[0]} -> {pair[1]}: closed by FIN, conn_state {state}")
            else:
                reset_n += 1
                if state in ("RSTO", "RSTR"): reset_ok += 1
                else: problems.append(f"flow {fid} {pair[0]} -> {pair[1]}: ended by RST, conn_state {state}")
    other = sum(len(v) for v in flows.values())
    for pair, got in list(flows.items())[:5]:
        problems.append(f"other flow(s) {[fid for fid, _ in got]}: {pair[0]} -> {pair[1]} {[s for _, s in got]}")
    ok = not problems and one_each == len(truth) and other == 0
    summary = (f"{len(truth)} connections, {len(rows)} flows; exactly one flow: {one_each}; "
               f"FIN both ways and SF: {closed_ok} of {closed_n}; RST and RSTO/RSTR: {reset_ok} of {reset_n}; other flows: {other}")
    return ok, summary + "".join(f"\n    {p}" for p in problems[:10])


def main():
    argv, flags = sys.argv[1:], []
    if "--" in argv:
        i = argv.index("--"); argv, flags = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
    ap.add_argument("captures", nargs="+")
    args = ap.parse_args(argv)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, capture in enumerate(args.captures):
            ok, text = check(args.flowdb, capture, flags, os.path.join(tmp, f"a{n}.sqlite"))
            print(f"{'ok' if ok else 'FAILED'} {capture}: {text}")
            passed += ok; failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
