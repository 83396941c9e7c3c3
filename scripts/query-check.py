#!/usr/bin/env python3
"""For real-traffic captures: ingest each into a fresh archive, then for every
connection of the ground truth (CAPTURE.json from ../shared/realtraffic) run
`flowdb query --flow ID --show raw --dir client|server` and compare its sha256
with the bytes really sent. The n-th connection on a 4-tuple is the n-th flow
with data on it. Ends with 'N passed, M failed' (one count per direction).

    scripts/query-check.py [--flowdb BIN] CAPTURE...
"""
import argparse, hashlib, ipaddress, json, os, sqlite3, subprocess, sys, tempfile

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
ap.add_argument("captures", nargs="+")
args = ap.parse_args()
passed = failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for n, cap in enumerate(args.captures):
        db = os.path.join(tmp, f"q{n}.sqlite")
        subprocess.run([args.flowdb, "ingest", "--quiet", "--db", db, cap], check=True)
        con = sqlite3.connect(db)
        flows = con.execute("SELECT id, client_ip, client_port, server_ip, server_port, c2s_bytes + s2c_bytes FROM flow WHERE proto = 'tcp' ORDER BY id").fetchall()
        used, ok, bad = set(), 0, 0
        for t in json.load(open(cap + ".json"))["flows"]:
            c, s = (str(ipaddress.ip_address(t["client"][0])), t["client"][1]), (str(ipaddress.ip_address(t["server"][0])), t["server"][1])
            match = next((f for f in flows if f[0] not in used and (f[1], f[2]) == c and (f[3], f[4]) == s
                          and (f[5] > 0 or t["c2s_len"] + t["s2c_len"] == 0)), None)
            if match is None:
                bad += 2; print(f"MISSING {c} -> {s}"); continue
            used.add(match[0])
            for d, key in (("client", "c2s"), ("server", "s2c")):
                out = subprocess.run([args.flowdb, "query", "--db", db, "--flow", str(match[0]), "--show", "raw", "--dir", d],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
                if len(out) == t[key + "_len"] and hashlib.sha256(out).hexdigest() == t[key + "_sha256"]:
                    ok += 1
                else:
                    bad += 1; print(f"MISMATCH flow {match[0]} {d}: {len(out)} bytes, want {t[key + '_len']}")
        print(f"{'ok' if bad == 0 else 'FAILED'} {cap}: {ok} directions equal the bytes sent, {bad} differ")
        passed += ok; failed += bad
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
