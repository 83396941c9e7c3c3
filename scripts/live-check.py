#!/usr/bin/env python3
"""Real traffic through `flowdb capture -i`, checked against the bytes really sent.

    scripts/live-check.py --flowdb BIN [--plan loss-both|many|big|burst] [--connections N]
        [--concurrency N] [--loss PCT] [--signal TERM|INT] [--rotate-size SIZE] [--rounds N]
        [--keep-dir DIR]

Two network namespaces joined by a veth pair (offloads off); ../shared/realtraffic/peer.py
serves in one and runs the connection plan in the other. Every direction of the link
loses PCT% of TCP packets on both sides of the capture point (nftables `numgen random`
on both namespaces' input and output hooks). In the client namespace `flowdb capture -i`
archives the interface and writes rotated pcap files, started as a shell script's
background job would be (SIGINT ignored), while tcpdump captures the same interface
for comparison; during the run the archive is queried again and again (`flowdb query`
and a read-only sqlite3 connection). Then the capture is stopped with the signal, as a
service manager would, and:

  - its exit status must be 0, and the queries during the run must have succeeded and
    seen flows;
  - every direction of every connection must equal the bytes sent (truth.py);
  - the capture rows must be complete, each naming a file whose size and SHA-256 they
    hold, and no packet may have been dropped;
  - the rotated files together must hold exactly the packets tcpdump saw (the same
    multiset of packet bytes);
  - `flowdb query --flow N --pcap` of live-captured flows (the biggest one, and one that
    spans two files when there is one) must write exactly the flow's packets, and
    ingesting that export must give the connection's bytes again.

Prints the figures (connections, packets, files, drops, flowdb's peak RSS, queries) and
ends with 'live-check: N passed, M failed'; exit 1 on any failure. Needs root, tcpdump,
nftables and ethtool.
"""
import argparse, hashlib, importlib.util, json, os, random, resource, shutil, signal, sqlite3, struct, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(here, "..", "shared", "realtraffic")
_spec = importlib.util.spec_from_file_location("archive_check", os.path.join(here, "scripts/archive-check.py"))
archive_check = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(archive_check)

def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

def read_pcap(path):
    """(linktype, [(ts_ns, bytes)]) of a pcap file (micro- or nanosecond, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(order + "I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[off:off + 16])
        out.append((sec * 10**9 + (frac if nano else frac * 1000), data[off + 16:off + 16 + caplen], off))
        off += 16 + caplen
    return link, out

def make_plan(kind, n, conc, rng):
    conns = []
    if kind == "burst":       # many short connections at once: the 10,000-connection burst
        for i in range(n):
            conns.append({"rounds": [[rng.randint(0, 400), rng.randint(0, 4000)]], "end": "rst" if i % 13 == 6 else "fin"})
    elif kind == "mixed":     # a few big transfers among many small ones
        for i in range(n):
            big = i % 25 == 0
            conns.append({"rounds": [[rng.randint(0, 5000), rng.randint(200000, 3 << 20) if big else rng.randint(0, 60000)]
                                     for _ in range(rng.randint(1, 3))], "end": "rst" if i % 9 == 4 else "fin"})
    else:
        raise SystemExit(f"unknown plan {kind}")
    return {"concurrency": conc, "conns": conns}

def kill9_checks(args, db, pcapdir, ns, check, results, seen):
    """What a killed capture leaves."""
    check("queries during the run succeeded and saw flows", seen["query_ok"] > 0 and seen["query_failed"] == 0 and seen["max_flows"] > 0,
          f"{seen['query_ok']} flowdb queries, up to {seen['max_flows']} flows seen")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    flows = con.execute("SELECT count(*) FROM flow WHERE proto = 'tcp'").fetchone()[0]
    con.close()
    check("the killed capture's archive passes integrity_check and holds flows", integrity == "ok" and flows > 0,
          f"integrity_check: {integrity}, {flows} flows committed")
    p = subprocess.run([args.flowdb, "query", "--db", db, "--proto", "tcp", "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check("flowdb query reads it", p.returncode == 0 and len(p.stdout.splitlines()) == flows, f"{len(p.stdout.splitlines())} flows listed")
    p = subprocess.run(["ip", "netns", "exec", ns, args.flowdb, "capture", "-i", "vb", "--db", db, "--duration", "1s", "--quiet"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = p.stderr.decode(errors="replace")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT id, path, status, error, size, sha256 FROM capture WHERE status <> 'complete'").fetchall()
    ok = p.returncode == 0 and "was interrupted" in err and len(rows) == 1 and rows[0][2] == "failed" and "interrupted" in (rows[0][3] or "")
    detail = f"capture {rows[0][0]}: {rows[0][2]}" if rows else "no interrupted row"
    if ok:
        data = open(rows[0][1], "rb").read()
        ok = len(data) == rows[0][4] and hashlib.sha256(data).hexdigest() == rows[0][5]
        detail += f", size and sha256 of its file ({len(data)} bytes) recorded" if ok else ", size/sha256 not those of its file"
    check("the next capture marks the interrupted one failed and records its file", ok, detail)
    # The flow to export was recorded by the killed capture: preferably one with packets
    # in its interrupted file, else its last. Never one of the 1-second capture above,
    # which kept no packets (no --write-pcap); its rows have a higher capture id.
    fid = con.execute("""SELECT f.id FROM flow f WHERE f.proto = 'tcp' AND (f.packet_capture_id = ?1
                             OR EXISTS (SELECT 1 FROM packet_block b WHERE b.flow_id = f.id AND b.capture_id = ?1))
                         ORDER BY f.c2s_packets + f.s2c_packets DESC LIMIT 1""", (rows[0][0],)).fetchone() if rows else None
    if fid is None:
        fid = con.execute("SELECT id FROM flow WHERE proto = 'tcp' AND capture_id <= ? ORDER BY id DESC LIMIT 1",
                          (rows[0][0] if rows else 1 << 62,)).fetchone()
    out = os.path.join(os.path.dirname(db), "killed-flow.pcap")
    for x in (out, out + ".custody.json"):
        if os.path.exists(x): os.unlink(x)
    p = subprocess.run([args.flowdb, "query", "--db", db, "--flow", str(fid[0]), "--pcap", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    want = con.execute("SELECT count(*) FROM packet WHERE flow_id = ?", (fid[0],)).fetchone()[0]
    got = len(read_pcap(out)[1]) if p.returncode == 0 else -1
    check(f"query --pcap of flow {fid[0]}, committed before the kill", p.returncode == 0 and got == want,
          f"{got} of {want} packets" + ("" if p.returncode == 0 else "; " + p.stderr.decode(errors="replace").strip()))
    return 0

def main():
    # A test runner may start this with signals blocked (a mask its thread had), which
    # children inherit: tcpdump would then never see its SIGINT. Unblocked here.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
    ap.add_argument("--plan", default="loss-both", help="a plan of realtraffic/plan.py, or burst, mixed")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--loss", type=float, default=2)
    ap.add_argument("--signal", default="TERM", choices=["TERM", "INT"])
    ap.add_argument("--rotate-size", default="4MB")
    ap.add_argument("--rounds", type=int, default=1, help="run the plan this many times, one after the other")
    ap.add_argument("--seed", default="live")
    ap.add_argument("--keep-dir", help="work here and keep the files")
    ap.add_argument("--kill9", action="store_true",
                    help="kill -9 the capture in the middle of the traffic instead, and check what it leaves: an archive that "
                         "passes integrity_check, is queryable, whose interrupted capture the next one marks failed and "
                         "whose committed packets export")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("live-check: needs root (network namespaces)"); return 2

    work = args.keep_dir or tempfile.mkdtemp(prefix="flowdb-live-")
    os.makedirs(work, exist_ok=True)
    db, pcapdir = os.path.join(work, "live.sqlite"), os.path.join(work, "pcap")
    for p in (db, db + "-wal", db + "-shm"):
        if os.path.exists(p): os.unlink(p)
    os.makedirs(pcapdir, exist_ok=True)
    for f in os.listdir(pcapdir): os.unlink(os.path.join(pcapdir, f))
    S, C = f"fdbLS{os.getpid()}", f"fdbLC{os.getpid()}"
    procs = []
    results = []
    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)

    try:
        sh("ip", "netns", "add", S); sh("ip", "netns", "add", C)
        sh("ip", "link", "add", "va", "netns", S, "type", "veth", "peer", "name", "vb", "netns", C)
        for ns, dev, addr in ((S, "va", "10.77.0.1/24"), (C, "vb", "10.77.0.2/24")):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up")
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", check=False)
            if args.loss > 0:
                pct = str(int(args.loss)) if float(args.loss).is_integer() else str(args.loss)
                rules = f"""table inet loss {{
                  chain in {{ type filter hook input priority 0; meta l4proto tcp numgen random mod 1000 < {int(args.loss * 10)} drop; }}
                  chain out {{ type filter hook output priority 0; meta l4proto tcp numgen random mod 1000 < {int(args.loss * 10)} drop; }}
                }}"""
                subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules.encode(), check=True)
        server = subprocess.Popen(["ip", "netns", "exec", S, sys.executable, os.path.join(shared, "peer.py"), "server", "10.77.0.1", "9000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        ref = os.path.join(work, "tcpdump.pcap")
        dump = subprocess.Popen(["ip", "netns", "exec", C, "tcpdump", "-q", "-i", "vb", "-s", "0", "--time-stamp-precision=nano", "-B", "131072", "-w", ref],
                                stdout=subprocess.DEVNULL, stderr=open(ref + ".log", "w"))
        procs.append(dump)
        # a shell script's background job: SIGINT ignored (flowdb must stop on it all the same)
        errlog = open(os.path.join(work, "capture.log"), "w+")
        cap = subprocess.Popen(["ip", "netns", "exec", C, args.flowdb, "capture", "-i", "vb", "--db", db, "--write-pcap", pcapdir,
                                "--rotate-size", args.rotate_size, "--commit-every", "1s", "--buffer-size", "128"],
                               stdout=open(os.path.join(work, "capture.out"), "w"), stderr=errlog,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        procs.append(cap)
        deadline = time.time() + 30
        while time.time() < deadline:
            errlog.seek(0)
            if "listening on vb" in errlog.read(): break
            if cap.poll() is not None: break
            time.sleep(0.05)
        errlog.seek(0)
        check("flowdb capture prints 'listening on vb'", "listening on vb" in errlog.read())
        time.sleep(0.5)

        # queries while it runs
        seen = {"query_ok": 0, "query_failed": 0, "max_flows": 0, "sql_ok": 0, "sql_failed": 0, "errors": []}
        stop_queries = threading.Event()
        seen["anon_mb"] = 0
        def querier():
            while not stop_queries.is_set():
                try:      # flowdb's own memory (RssAnon), without the kernel's ring buffer mapped into it
                    for line in open(f"/proc/{cap.pid}/status"):
                        if line.startswith("RssAnon:"): seen["anon_mb"] = max(seen["anon_mb"], int(line.split()[1]) // 1024)
                except OSError:
                    pass
                # what an analyst watching a sensor asks: the last minute's flows
                p = subprocess.run([args.flowdb, "query", "--db", db, "--format", "json", "--since", "60s", "--limit", "100000"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if p.returncode == 0:
                    seen["query_ok"] += 1
                    try:
                        n = len(json.loads(p.stdout or b"[]"))
                    except ValueError:
                        n = sum(1 for l in p.stdout.splitlines() if l.strip())
                    seen["max_flows"] = max(seen["max_flows"], n)
                else:
                    seen["query_failed"] += 1; seen["errors"].append(p.stderr.decode(errors="replace").strip())
                try:
                    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                    con.execute("SELECT count(*), sum(c2s_bytes + s2c_bytes) FROM flows").fetchone()
                    con.close()
                    seen["sql_ok"] += 1
                except sqlite3.Error as e:
                    seen["sql_failed"] += 1; seen["errors"].append(str(e))
                time.sleep(1)
        qt = threading.Thread(target=querier); qt.start()

        rng = random.Random(args.seed)
        truth_flows, unfinished = [], 0
        started = time.time()
        for r in range(args.rounds):
            planfile, manifest = os.path.join(work, f"plan{r}.json"), os.path.join(work, f"truth{r}.json")
            if args.plan in ("burst", "mixed"):
                plan = make_plan(args.plan, args.connections, args.concurrency, rng)
                json.dump(plan, open(planfile, "w"))
            else:
                with open(planfile, "w") as f:
                    subprocess.run([sys.executable, os.path.join(shared, "plan.py"), args.plan, f"{args.seed}{r}"], stdout=f, check=True)
            client = subprocess.Popen(["ip", "netns", "exec", C, sys.executable, os.path.join(shared, "peer.py"), "client", "10.77.0.1",
                                       "9000", planfile, manifest], stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(work, "client.log"), "w"))
            if args.kill9:
                time.sleep(2.5)
                cap.kill(); cap.wait()
            if client.wait() != 0:
                check("the traffic client ran its plan", False, open(os.path.join(work, "client.log")).read().strip()[-800:])
                return summarize(results)
            planned = json.load(open(manifest))["flows"]
            # a connection the client could not finish (its thread died: reset by the server,
            # a connect that failed) has no known bytes: it is left out, and counted
            truth_flows += [f for f in planned if f is not None]
            unfinished += sum(1 for f in planned if f is None)
            if args.kill9: break
        traffic_seconds = time.time() - started
        time.sleep(1.5)
        stop_queries.set(); qt.join()
        # peak memory so far, then the stop
        rss = 0
        try:
            for line in open(f"/proc/{cap.pid}/status"):
                if line.startswith("VmHWM:"): rss = int(line.split()[1]) // 1024
        except OSError:
            pass
        if args.kill9:
            stop_queries.set()
            kill9_checks(args, db, pcapdir, C, check, results, seen)
            return finish(results, work, args.keep_dir)
        cap.send_signal(signal.SIGTERM if args.signal == "TERM" else signal.SIGINT)
        try:
            rc = cap.wait(timeout=120)
        except subprocess.TimeoutExpired:
            cap.kill(); rc = "timeout"
        dump.send_signal(signal.SIGINT); dump.wait(timeout=30)
        errlog.seek(0); log = errlog.read()
        check(f"exit status after SIG{args.signal} is 0", rc == 0, f"{rc}; stderr: {log.strip()[-500:]}" if rc != 0 else "")
        check("queries during the run succeeded and saw flows",
              seen["query_ok"] > 0 and seen["query_failed"] == 0 and seen["sql_ok"] > 0 and seen["sql_failed"] == 0 and seen["max_flows"] > 0,
              f"{seen['query_ok']} flowdb queries, {seen['sql_ok']} sqlite3 reads, up to {seen['max_flows']} flows seen" +
              (f"; failures: {seen['errors'][:3]}" if seen["errors"] else ""))

        # the bytes against the truth (archive-check's comparison, through truth.py)
        truth = os.path.join(work, "traffic.json")
        json.dump({"flows": truth_flows}, open(truth, "w"))
        ok, last = archive_check.check_truth(db, truth[:-len(".json")])
        check("every direction equals the bytes sent", bool(ok) and not last.startswith("0 passed"), last)
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

        # capture rows and files
        rows = con.execute("""SELECT id, path, status, size, sha256, packets, packets_received, kernel_drops, interface_drops, interface
                              FROM capture ORDER BY id""").fetchall()
        files_ok, total_records, problems = True, 0, []
        records, all_records = [], []
        for cid, path, status, size, sha, packets, received, kdrop, idrop, iface in rows:
            if status != "complete": problems.append(f"capture {cid} is {status}")
            if iface != "vb": problems.append(f"capture {cid} interface {iface}")
            try:
                data = open(path, "rb").read()
            except OSError as e:
                problems.append(f"capture {cid}: {e}"); continue
            if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"capture {cid} {path}: size/sha256 differ from the row")
            link, recs = read_pcap(path)
            if len(recs) != packets: problems.append(f"capture {cid}: {len(recs)} records, row says {packets}")
            total_records += len(recs)
            records += [r[1] for r in recs]
            all_records += recs
        drops = sum((r[7] or 0) + (r[8] or 0) for r in rows)
        check("capture rows complete, naming files with their size and sha256", not problems, "; ".join(problems[:5]) or f"{len(rows)} files")
        check("no packet dropped (kernel, interface)", drops == 0, f"{drops} dropped")
        # tcpdump ran before and after flowdb: its packets in flowdb's time window must be flowdb's
        _, refrecs = read_pcap(ref)
        from collections import Counter
        # the window both captures covered (each starts and stops at its own moment)
        first = max(min((t for t, _, _ in all_records), default=0), min((t for t, _, _ in refrecs), default=0))
        last = min(max((t for t, _, _ in all_records), default=0), max((t for t, _, _ in refrecs), default=0))
        mine = Counter(hashlib.sha1(b).digest() for t, b, _ in all_records if first <= t <= last)
        theirs = Counter(hashlib.sha1(b).digest() for t, b, _ in refrecs if first <= t <= last)
        outside = sum(1 for t, _, _ in refrecs if not first <= t <= last) + sum(1 for t, _, _ in all_records if not first <= t <= last)
        check("rotated files hold exactly the packets tcpdump saw", mine == theirs,
              f"{sum(mine.values())} packets in {len(rows)} files, tcpdump {sum(theirs.values())}, in the time both captured "
              f"({outside} of either before or after it)" + ("" if mine == theirs else f"; only flowdb: {sum((mine - theirs).values())}, only tcpdump: {sum((theirs - mine).values())}"))

        # export of live-captured flows
        picks = []
        big = con.execute("SELECT id FROM flow ORDER BY c2s_bytes + s2c_bytes DESC LIMIT 1").fetchone()
        if big: picks.append(big[0])
        span = con.execute("""SELECT f.id FROM flow f WHERE EXISTS (SELECT 1 FROM packet_block b WHERE b.flow_id = f.id AND b.capture_id <> f.packet_capture_id)
                              ORDER BY f.id LIMIT 1""").fetchone()
        if span and span[0] not in picks: picks.append(span[0])
        exported = []
        for fid in picks:
            out = os.path.join(work, f"flow{fid}.pcap")
            for x in (out, out + ".custody.json"):
                if os.path.exists(x): os.unlink(x)
            p = subprocess.run([args.flowdb, "query", "--db", db, "--flow", str(fid), "--pcap", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            want = con.execute("SELECT count(*) FROM packet WHERE flow_id = ?", (fid,)).fetchone()[0]
            ok = p.returncode == 0
            detail = p.stderr.decode(errors="replace").strip()
            if ok:
                _, recs = read_pcap(out)
                ok = len(recs) == want
                detail = f"flow {fid}: {len(recs)} packets exported, {want} in the archive"
                # the export, ingested alone, gives the connection's bytes again
                one = os.path.join(work, f"flow{fid}.sqlite")
                for x in (one, one + "-wal", one + "-shm"):
                    if os.path.exists(x): os.unlink(x)
                subprocess.run([args.flowdb, "ingest", "--quiet", "--db", one, out], check=True)
                c1 = sqlite3.connect(one)
                again = {(d): hashlib.sha256(b"".join(r[0] for r in c1.execute("SELECT data FROM chunk WHERE dir = ? ORDER BY id", (d,)))).hexdigest() for d in (0, 1)}
                orig = {(d): hashlib.sha256(b"".join(r[0] for r in con.execute("SELECT data FROM chunk WHERE flow_id = ? AND dir = ? ORDER BY id", (fid, d)))).hexdigest() for d in (0, 1)}
                ok = ok and again == orig
                detail += ", its bytes " + ("equal" if again == orig else "DIFFER") + " after ingesting the export"
            exported.append(ok)
            check(f"query --pcap of live flow {fid}" + (" (spans two files)" if span and fid == span[0] else ""), ok, detail)
        if not picks: check("query --pcap of a live flow", False, "no flow")

        flows = con.execute("SELECT count(*) FROM flow WHERE proto = 'tcp'").fetchone()[0]
        states = con.execute("SELECT conn_state, count(*) FROM flow WHERE proto = 'tcp' GROUP BY 1 ORDER BY 2 DESC").fetchall()
        print(f"figures: {len(truth_flows)} connections sent in {traffic_seconds:.1f} s"
              + (f" ({unfinished} more the client could not finish, left out of the truth)" if unfinished else "") + f", {flows} flows "
              f"({', '.join(f'{s} {n}' for s, n in states)}), {total_records} packets in {len(rows)} files, "
              f"{drops} dropped, flowdb peak RSS {rss} MB (the 128 MB ring buffer included; its own memory, sampled: up to {seen['anon_mb']} MB), {seen['query_ok']} queries + {seen['sql_ok']} sqlite3 reads during the run")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                try: p.wait(timeout=5)
                except subprocess.TimeoutExpired: pass
        sh("ip", "netns", "del", S, check=False); sh("ip", "netns", "del", C, check=False)
    return finish(results, work, args.keep_dir)

def finish(results, work, keep_dir):
    """Prints the summary; a failed run keeps its files (capture log, archive, pcaps) to look at."""
    status = summarize(results)
    if status == 0 and not keep_dir:
        shutil.rmtree(work, ignore_errors=True)
    elif status != 0:
        print(f"live-check: files kept in {work}")
    return status

def summarize(results):
    failed = results.count(False)
    print(f"live-check: {results.count(True)} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
