#!/usr/bin/env python3
"""Many archives, one question, and the engines fleets run (`make fleet-check`).

Builds one archive per "sensor" from the real-traffic captures (bench-data/
realtraffic, the application and datagram captures), then checks:
  1. `flowdb query --db DIR` is exactly the union of each archive's answer, for
     several filters (rows: archive, id, community_id);
  2. `flowdb export` of every archive, then the Spark job (contrib/spark, pyspark
     with Debian's OpenJDK, local[2]) answers each question as `flowdb query` does:
     every flow to an SNI, every flow that asked a DNS name, connections by state
     and service, top talkers per day (the last two computed from `flowdb query
     --format json` of all flows);
  3. chdb (ClickHouse in-process) gives the same rows as Spark for each question;
  4. a Spark answer row resolved back with `--flow ARCHIVE:ID --pcap` gives the
     packets the archive's own export gives;
and measures export and Spark times as the number of archives grows (--scale).

  usage: scripts/fleet-check.py --flowdb BIN [--work DIR] [--scale 1,2,4,8]"""
import argparse, collections, datetime, glob, json, os, shutil, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:400]), flush=True)


def run(*args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0 and b"no flows match" not in r.stderr:
        raise SystemExit(f"{' '.join(map(str, args))}: {r.stderr.decode(errors='replace')}")
    return r


def jsonl(b):
    return [json.loads(l) for l in b.decode().splitlines() if l.strip()]


def spark(dirs, *question):
    r = run(sys.executable, os.path.join(here, "contrib/spark/fleet_questions.py"), *dirs, "--question", *question, "--json")
    return jsonl(r.stdout)


def chdb(d, *question):
    r = run(sys.executable, os.path.join(here, "contrib/clickhouse/fleet.py"), d, *question)
    return jsonl(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowdb", required=True)
    ap.add_argument("--work")
    ap.add_argument("--scale", default="")
    a = ap.parse_args()
    flowdb = a.flowdb
    work = a.work or tempfile.mkdtemp(prefix="flowdb-fleet-")
    archives = os.path.join(work, "archives")
    os.makedirs(archives, exist_ok=True)
    sensors = {os.path.basename(p)[:-5]: [p] for p in sorted(glob.glob(os.path.join(here, "bench-data/realtraffic/*.pcap")))}
    sensors["apps"] = [os.path.join(here, "Tests/Fixtures/apps/app.pcap")]
    sensors["datagrams"] = [os.path.join(here, "Tests/Fixtures/datagrams/dns-udp-icmp.pcap"), os.path.join(here, "Samples/sample-dns.pcap")]
    sensors["sample"] = [os.path.join(here, "Samples/sample-loss.pcap")]
    t = time.time()
    for name, caps in sensors.items():
        db = os.path.join(archives, name + ".sqlite")
        if not os.path.exists(db):
            run(flowdb, "ingest", "--quiet", "--db", db, *caps)
    print(f"{len(sensors)} archives in {archives} ({time.time() - t:.1f} s)")

    # a live capture on loopback, a new archive every 2 s, one connection across them
    live = os.path.join(work, "live")
    shutil.rmtree(live, ignore_errors=True)
    os.makedirs(live)
    if os.geteuid() == 0:
        cap = subprocess.Popen([flowdb, "capture", "-i", "lo", "--filter", "port 47021 or port 47022", "--archive-every", "2s",
                                "--archive-dir", live, "--duration", "9s", "--quiet"], stderr=subprocess.PIPE)
        time.sleep(1.5)
        run(sys.executable, os.path.join(here, "scripts/periods-traffic.py"), "50", "47021", "47022")
        cap.wait()
        names = sorted(f for f in os.listdir(live) if f.endswith(".sqlite"))
        chain = jsonl(run(flowdb, "query", "--db", live, "--port", "47021", "--proto", "tcp", "--format", "json", "--limit", "0").stdout)
        links = []
        for r in chain:
            row = subprocess.run(["sqlite3", os.path.join(live, r["archive"]),
                                  f"SELECT ifnull(continues_from, ''), ifnull(continued_in, '') FROM flow WHERE id = {r['id']}"],
                                 capture_output=True, text=True).stdout.strip().split("|")
            links.append((f"{r['archive']}:{r['id']}", row[0], row[1]))
        linked = all(a[2] == b[0] and b[1] == a[0] for a, b in zip(links, links[1:]))
        check(f"live capture, a new archive every 2 s: {len(names)} archives; the connection is {len(chain)} flows, each linked to the next and back",
              len(names) >= 4 and len(chain) >= 3 and linked and links[0][1] == "" and links[-1][2] == "", links)
        dirs = [archives, live]
    else:
        print("SKIP the live capture (needs root)")
        dirs = [archives]

    # 1. one question of many archives
    for filt in ([], ["--port", "53"], ["--proto", "tcp", "--state", "SF"], ["--app", "tls"], ["--host", "fd77::/16"],
                 ["--since", "2026-11-29"], ["--contains", "GET /"]):
        whole = jsonl(run(flowdb, "query", *sum([["--db", d] for d in dirs], []), "--format", "json", "--limit", "0", *filt).stdout)
        union = []
        for db in sorted(sum([glob.glob(os.path.join(d, "*.sqlite")) for d in dirs], [])):
            name = os.path.basename(db)
            union += [(name, r["id"], r["community_id"]) for r in jsonl(run(flowdb, "query", "--db", db, "--format", "json", "--limit", "0", *filt).stdout)]
        got = [(r["archive"], r["id"], r["community_id"]) for r in whole]
        check(f"query --db DIR {' '.join(filt) or '(all)'}: the union of the {len(union and dirs) and len(sum([glob.glob(os.path.join(d, '*.sqlite')) for d in dirs], []))} archives' answers ({len(got)} flows)",
              sorted(got) == sorted(union) and len(got) > 0, f"{len(got)} vs {len(union)}")

    # 2. export, then Spark
    export = os.path.join(work, "export")
    shutil.rmtree(export, ignore_errors=True)
    t = time.time()
    run(flowdb, "export", "--db", archives, "--out", export)
    print(f"export: {len(os.listdir(export))} files, {sum(os.path.getsize(os.path.join(export, f)) for f in os.listdir(export))} bytes, {time.time() - t:.2f} s")
    every = jsonl(run(flowdb, "query", "--db", archives, "--format", "json", "--limit", "0").stdout)
    by_key = {(r["archive"], r["id"]): r for r in every}

    sni = "server.flowdb.test"
    want = [(r["archive"], r["id"]) for r in jsonl(run(flowdb, "query", "--db", archives, "--sni", sni, "--format", "json", "--limit", "0").stdout)]
    t = time.time()
    got_spark = spark([export], "sni", sni)
    spark_time = time.time() - t
    check(f"Spark: every flow to SNI {sni} is query --sni's ({len(want)} flows)",
          sorted((r["archive"], r["flow_id"]) for r in got_spark) == sorted(want) and len(want) > 0, got_spark[:3])
    got_ch = chdb(export, "sni", sni)
    check("chdb: the same rows as Spark (sni)", sorted((r["archive"], r["flow_id"]) for r in got_ch) == sorted(want), got_ch[:3])

    name = "www.flowdb.test"
    want = [(r["archive"], r["id"]) for r in jsonl(run(flowdb, "query", "--db", archives, "--dns-query", name, "--format", "json", "--limit", "0").stdout)]
    got_spark = spark([export], "dns", name)
    check(f"Spark: every flow that asked DNS for {name} is query --dns-query's ({len(want)} flows)",
          sorted((r["archive"], r["flow_id"]) for r in got_spark) == sorted(want) and len(want) > 0, got_spark[:3])
    got_ch = chdb(export, "dns", name)
    check("chdb: the same rows as Spark (dns)", sorted((r["archive"], r["flow_id"]) for r in got_ch) == sorted(want), got_ch[:3])

    counts = collections.Counter((r["proto"], r["conn_state"], r["app"]) for r in every)
    got_spark = spark([export], "states")
    check(f"Spark: connections by transport, state and service are query's ({len(counts)} groups)",
          {(r["proto"], r["conn_state"], r.get("app")): r["flows"] for r in got_spark} == dict(counts), got_spark[:3])
    firsts_ok = all(by_key[(r["archive"], r["flow_id"])]["conn_state"] == r["conn_state"] for r in got_spark)
    check("Spark: each group's example flow is of that group", firsts_ok)
    got_ch = chdb(export, "states")
    check("chdb: the same groups and counts as Spark (states)",
          {(r["proto"], r["conn_state"], r["app"]): int(r["flows"]) for r in got_ch} == dict(counts), got_ch[:3])

    # top talkers per day, from query's rows
    per = collections.defaultdict(lambda: [0, 0])
    for r in every:
        day = datetime.datetime.fromtimestamp(r["first_ts"] // 1_000_000_000, datetime.timezone.utc).strftime("%Y-%m-%d")
        for ip in (r["client_ip"], r["server_ip"]):
            per[(day, ip)][0] += 1
            per[(day, ip)][1] += r["c2s_bytes"] + r["s2c_bytes"]
    days = collections.defaultdict(list)
    for (day, ip), (n, b) in per.items():
        days[day].append((-b, ip, n))
    want = sorted((day, place + 1, ip, n, -nb) for day, rows in days.items() for place, (nb, ip, n) in enumerate(sorted(rows)[:10]))
    got_spark = spark([export], "talkers")
    check(f"Spark: top talkers per day are query's ({len(days)} days)",
          sorted((r["day"], r["place"], r["ip"], r["flows"], r["bytes"]) for r in got_spark) == want, got_spark[:3])
    got_ch = chdb(export, "talkers")
    check("chdb: the same top talkers as Spark",
          sorted((r["day"], int(r["place"]), r["ip"], int(r["flows"]), int(r["bytes"])) for r in got_ch) == want, got_ch[:3])

    # 4. an answer row back to its packets
    row = max(got_spark, key=lambda r: r["bytes"])
    out = os.path.join(work, "resolved.pcap"), os.path.join(work, "direct.pcap")
    run(flowdb, "query", "--db", archives, "--flow", f"{row['archive']}:{row['flow_id']}", "--pcap", out[0], "--force")
    run(flowdb, "query", "--db", os.path.join(archives, row["archive"]), "--flow", str(row["flow_id"]), "--pcap", out[1], "--force")
    same = open(out[0], "rb").read() == open(out[1], "rb").read()
    check(f"the top talker's flow {row['archive']}:{row['flow_id']} resolved through --flow ARCHIVE:ID --pcap: the archive's own export",
          same and os.path.getsize(out[0]) > 24)
    ids = {json.loads(l)["archive_id"] for l in open(os.path.join(export, row["archive"][:-7] + ".flow.ndjson"))}
    check("the row's archive_id is its archive's", ids == {row["archive_id"]}, ids)

    # scale: export and Spark time as archives are added (copies of the sensors)
    if a.scale:
        base = sorted(glob.glob(os.path.join(archives, "*.sqlite")))
        for n in [int(x) for x in a.scale.split(",")]:
            d = os.path.join(work, f"scale-{n}")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            for i in range(n):
                for db in base:
                    shutil.copy(db, os.path.join(d, f"s{i:03d}-" + os.path.basename(db)))
            e = os.path.join(work, f"scale-{n}-export")
            shutil.rmtree(e, ignore_errors=True)
            t = time.time()
            run(flowdb, "export", "--db", d, "--out", e)
            te = time.time() - t
            t = time.time()
            rows = spark([e], "states")
            ts = time.time() - t
            t = time.time()
            qs = jsonl(run(flowdb, "query", "--db", d, "--sni", sni, "--format", "json", "--limit", "0").stdout)
            tq = time.time() - t
            size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
            esize = sum(os.path.getsize(os.path.join(e, f)) for f in os.listdir(e))
            flows = sum(r["flows"] for r in rows)
            print(f"scale {n * len(base)} archives ({size} bytes, {flows} flows): export {te:.2f} s ({esize} bytes), "
                  f"Spark states {ts:.1f} s, query --db --sni {tq:.2f} s ({len(qs)} flows)", flush=True)
            shutil.rmtree(d)
            shutil.rmtree(e)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
