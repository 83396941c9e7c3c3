#!/usr/bin/env python3
"""Kills `flowdb ingest` with SIGKILL at random moments and checks what is left.

    scripts/interrupt-test.py [--flowdb BIN] [--trials N] [--mid-ingest M] [--copies K] [--seed S]

The input is the bundled sample repeated K times with shifted ports and times (a
capture of K x 10 connections). A reference archive is made without interruption.
Each trial ingests into a fresh archive (small batches, so kills land between and
inside commits), kills it after a random delay, then checks:
  - PRAGMA integrity_check is 'ok' and PRAGMA foreign_key_check is empty;
  - the capture is absent or marked incomplete (status 'running'), unless the kill
    came after the ingest had finished;
  - the archive can be queried (the flows and chunk views in SQL, and `flowdb query`
    itself, listing flows and reading one flow's bytes back);
  - running the same ingest again exits 0 and gives content identical to the
    reference (every flow and chunk row, bytes included).
With --mid-ingest M, trials go on (up to 4 x M of them) until M kills have landed
while the capture was incomplete. Ends with 'N passed, M failed'.
"""
import argparse, hashlib, os, random, signal, sqlite3, struct, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def multiply(src, dst, copies):
    data = open(src, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1" or data[:4] == b"\x4d\x3c\xb2\xa1", "little-endian pcap expected"
    records, i = [], 24
    while i + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[i:i + 16])
        records.append((sec, frac, incl, orig, bytearray(data[i + 16:i + 16 + incl]))); i += 16 + incl
    out = bytearray(data[:24])
    for k in range(copies):
        for sec, frac, incl, orig, pkt in records:
            p = bytearray(pkt)
            # Ethernet + IPv4 (IHL 5): shift the client's port (the one that is not 9000)
            sport, dport = struct.unpack(">HH", p[34:38])
            if sport != 9000: p[34:36] = struct.pack(">H", (sport + 97 * k) & 0xffff)
            if dport != 9000: p[36:38] = struct.pack(">H", (dport + 97 * k) & 0xffff)
            out += struct.pack("<IIII", sec + k, frac, incl, orig) + p
    open(dst, "wb").write(out)

def content(db):
    con = sqlite3.connect(db)
    h = hashlib.sha256()
    for row in con.execute("""SELECT client_ip, client_port, server_ip, server_port, first_ts, last_ts, c2s_bytes, s2c_bytes,
                                     c2s_packets, s2c_packets, gaps, c2s_closed, s2c_closed, complete FROM flow ORDER BY id"""):
        h.update(repr(row).encode())
    for row in con.execute("""SELECT f.client_port, c.dir, c.is_start, c.is_end, c.skip, c.length, c.data, c.stream_offset,
                                     c.ts_first, c.ts_last, c.packets, c.chunks, c.queued_bytes, c.queued_packets,
                                     c.overlap_bytes, c.overlap_packets
                              FROM chunk c JOIN flow f ON f.id = c.flow_id ORDER BY c.id"""):
        h.update(repr(row).encode())
    con.close()
    return h.hexdigest()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", default=os.path.join(here, ".build/release/flowdb"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--mid-ingest", type=int, default=0)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="flowdb-interrupt-")
    cap = os.path.join(tmp, "input.pcap")
    multiply(os.path.join(here, "Samples/sample-loss.pcap"), cap, args.copies)
    cmd = lambda db: [args.flowdb, "ingest", "--quiet", "--batch-bytes", "100000", "--db", db, cap]
    ref = os.path.join(tmp, "reference.sqlite")
    t0 = time.monotonic(); subprocess.run(cmd(ref), check=True); duration = time.monotonic() - t0
    want = content(ref)
    passed = failed = mid = 0
    trial = -1
    while True:
        trial += 1
        if trial >= args.trials and mid >= args.mid_ingest: break
        if trial >= max(args.trials, 4 * args.mid_ingest): break
        db = os.path.join(tmp, f"trial{trial}.sqlite")
        delay = rng.uniform(0.0, duration * 1.05)
        p = subprocess.Popen(cmd(db))
        time.sleep(delay)
        finished_before_kill = p.poll() is not None
        p.send_signal(signal.SIGKILL); p.wait()
        problems = []
        if os.path.exists(db):
            con = sqlite3.connect(db)
            ic = con.execute("PRAGMA integrity_check").fetchone()[0]
            if ic != "ok": problems.append(f"integrity_check: {ic}")
            if con.execute("PRAGMA foreign_key_check").fetchall(): problems.append("foreign_key_check not empty")
            try:
                statuses = [r[0] for r in con.execute("SELECT status FROM capture")]
                con.execute("SELECT count(*) FROM flows").fetchone(); con.execute("SELECT count(*), sum(length(data)) FROM chunk").fetchone()
            except sqlite3.Error as e:
                problems.append(f"query failed: {e}"); statuses = []
            if statuses and statuses != ["complete"] and statuses != ["running"]:
                problems.append(f"capture status {statuses}")
            if statuses == ["complete"] and not finished_before_kill:
                pass  # the kill came after the last commit; nothing is incomplete
            elif statuses == ["running"]:
                mid += 1
            con.close()
            listed = subprocess.run([args.flowdb, "query", "--db", db, "--limit", "0", "--csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if listed.returncode not in (0, 1) or (listed.returncode == 1 and listed.stderr != b"flowdb: no flows match\n"):
                problems.append(f"flowdb query exit {listed.returncode}: {listed.stderr.decode()[:200]}")
            elif listed.returncode == 0 and len(listed.stdout.splitlines()) > 1:
                first = listed.stdout.splitlines()[1].split(b",")[0].decode()
                raw = subprocess.run([args.flowdb, "query", "--db", db, "--flow", first, "--show", "raw", "--dir", "server"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if raw.returncode != 0: problems.append(f"flowdb query --show raw exit {raw.returncode}: {raw.stderr.decode()[:200]}")
        r = subprocess.run(cmd(db), stderr=subprocess.PIPE)
        if r.returncode != 0: problems.append(f"re-run exit {r.returncode}: {r.stderr.decode()[:200]}")
        elif content(db) != want: problems.append("content differs from the uninterrupted run")
        ok = not problems
        passed += ok; failed += not ok
        print(f"trial {trial}: killed after {delay:.3f}s of {duration:.3f}s: {'ok' if ok else 'FAILED ' + '; '.join(problems)}")
    import shutil; shutil.rmtree(tmp, ignore_errors=True)
    print(f"{mid} trials killed with the capture marked incomplete")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)

main()
