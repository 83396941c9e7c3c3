#!/usr/bin/env python3
"""Real traffic through tunnels, against its ground truth and tshark.

    scripts/tunnel-check.py [--flowdb BIN] CAPTURE...

Each CAPTURE (with CAPTURE.json, the bytes really sent: ../shared/realtraffic's
format, as scripts/make-tunnel-traffic.sh writes it) is ingested into a fresh
archive. Prints one row per capture: the encapsulation chains flowdb recorded, the
directions whose bytes equal the ground truth out of all directions (a truth entry
with a "vni" is matched with the flows under that VXLAN/Geneve VNI), flowdb's flows
and tshark's TCP conversations (when tshark is installed), and ends with
'N passed, M failed'. A capture passes when every direction is right, every real
connection is one flow, and (with tshark) the two counts agree.
"""
import argparse, os, sqlite3, subprocess, sys, tempfile

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tshark_conversations(capture):
    try:
        # Teredo off its port is found by content, as tshark does once its heuristic is on
        p = subprocess.run(["tshark", "--enable-heuristic", "teredo_udp", "-r", capture, "-q", "-z", "conv,tcp"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sum(1 for line in p.stdout.decode(errors="replace").splitlines() if "<->" in line)


def check_directions(db, capture):
    """Directions whose bytes equal the ground truth, and all directions. The n-th
    connection on a client/server pair (and tenant: the truth's "vni", the flow's
    vxlan/geneve identifier) is matched with the n-th flow on it."""
    import hashlib, ipaddress, json, re
    from collections import defaultdict
    def ep(ip, port): return f"{ipaddress.ip_address(ip)}:{port}"
    con = sqlite3.connect(db)
    flows = defaultdict(list)
    for fid, cip, cport, sip, sport, chain in con.execute(
            "SELECT id, client_ip, client_port, server_ip, server_port, encapsulation FROM flow WHERE proto = 'tcp' ORDER BY id"):
        m = re.search(r"(?:vxlan|geneve):(\d+)", chain or "")
        digests = []
        for d in (0, 1):
            h, n = hashlib.sha256(), 0
            for (data,) in con.execute("SELECT data FROM chunk WHERE flow_id = ? AND dir = ? ORDER BY id", (fid, d)):
                h.update(data); n += len(data)
            digests.append((n, h.hexdigest()))
        flows[(ep(cip, cport), ep(sip, sport), int(m.group(1)) if m else None)].append(digests)
        flows[(ep(cip, cport), ep(sip, sport), "any")].append(digests)
    con.close()
    with open(capture + ".json") as f:
        truth = json.load(f)["flows"]
    seen = defaultdict(int)
    right = 0
    for t in truth:
        key = (ep(*t["client"]), ep(*t["server"]), t.get("vni", "any"))
        candidates = flows.get(key, [])
        i = seen[key]; seen[key] += 1
        if i < len(candidates):
            got = candidates[i]
            right += got[0] == (t["c2s_len"], t["c2s_sha256"])
            right += got[1] == (t["s2c_len"], t["s2c_sha256"])
    return right, 2 * len(truth)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
    ap.add_argument("captures", nargs="+")
    args = ap.parse_args()
    passed = failed = 0
    print(f"{'capture':28} {'encapsulation':44} {'directions right':>16} {'flows':>6} {'tshark':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for n, capture in enumerate(args.captures):
            db = os.path.join(tmp, f"a{n}.sqlite")
            p = subprocess.run([args.flowdb, "ingest", "--quiet", "--db", db, capture], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0 or not os.path.exists(capture + ".json"):
                print(f"{os.path.basename(capture):28} ingest exit {p.returncode} {p.stderr.decode(errors='replace').strip()[:80]}")
                failed += 1
                continue
            right, total = check_directions(db, capture)
            ok = right == total
            con = sqlite3.connect(db)
            flows = con.execute("SELECT count(*) FROM flow WHERE proto = 'tcp'").fetchone()[0]
            chains = sorted({c or "-" for (c,) in con.execute("SELECT encapsulation FROM flow WHERE proto = 'tcp'")})
            con.close()
            import json
            with open(capture + ".json") as f:
                connections = len(json.load(f)["flows"])
            conversations = tshark_conversations(capture)
            good = ok and flows == connections and (conversations is None or conversations == flows)
            passed += good; failed += not good
            shown = "(no flow)" if not chains else chains[0] if len(chains) == 1 else f"{chains[0]} (+{len(chains) - 1} more)"
            print(f"{os.path.basename(capture):28} {shown[:44]:44} {f'{right} of {total}':>16} {flows:>6} "
                  f"{'-' if conversations is None else conversations:>6}{'' if good else '  FAILED'}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
