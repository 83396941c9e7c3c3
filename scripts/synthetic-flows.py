#!/usr/bin/env python3
"""synthetic-flows.py ARCHIVE N: adds N synthetic flows to a flowdb archive (for query
benchmarks): random client/server addresses (90% IPv4 in 10.0.0.0/8, 10% IPv6 in
fd00::/16), random ports (servers on a few well-known ones), times over one week,
Zeek connection states in realistic shares, and for the HTTP and TLS ports an `http` or
`tls` row naming one of 20,000 hosts (so --sni, --http-host and --state have work)."""
import ipaddress, random, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
con = sqlite3.connect(db)
cap = con.execute("SELECT id FROM capture LIMIT 1").fetchone()[0]
start = 1_795_000_000 * 10**9
def addr(v):
    if v == 4:
        a = ipaddress.IPv4Address(0x0A000000 | rng.getrandbits(24))
        return str(a), bytes(10) + b"\xff\xff" + a.packed
    a = ipaddress.IPv6Address((0xfd00 << 112) | rng.getrandbits(112))
    return str(a), a.packed
rows, tls, http = [], [], []
base = con.execute("SELECT coalesce(max(id), 0) FROM flow").fetchone()[0]
states = ["SF"] * 70 + ["S0"] * 10 + ["REJ"] * 5 + ["RSTO"] * 5 + ["RSTR"] * 3 + ["S1"] * 3 + ["OTH"] * 2 + ["SH", "RSTOS0"]
hosts = [f"h{i}.example{i % 97}.com" for i in range(20000)]
def flush():
    global rows, tls, http
    con.executemany("INSERT INTO flow(id, capture_id, ip_version, client_ip, client_port, server_ip, server_port, client_ip_key, server_ip_key, first_ts, last_ts, first_packet, c2s_bytes, s2c_bytes, c2s_stored, s2c_stored, c2s_packets, s2c_packets, gaps, c2s_closed, s2c_closed, complete, conn_state, app, app_host) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.executemany("INSERT INTO tls(flow_id, server_name, ja3, version) VALUES (?,?,?,'TLSv1.3')", tls)
    con.executemany("INSERT INTO http(flow_id, trans_depth, host, method, uri, status_code) VALUES (?,1,?,'GET','/',200)", http)
    rows, tls, http = [], [], []
for i in range(n):
    v1 = 4 if rng.random() < 0.9 else 6
    c, ck = addr(v1)
    s, sk = addr(v1)
    t = start + rng.randrange(7 * 86400 * 10**9)
    d = rng.randrange(10**6, 600 * 10**9)
    port = rng.choice([80, 443, 22, 25, 53, 8080, 3389, 445])
    fid = base + i + 1
    app = host = None
    if port in (443, 80, 8080) and rng.random() < 0.8:
        host = rng.choice(hosts)
        if port == 443:
            app = "tls"; tls.append((fid, host, f"{rng.randrange(300):032x}"))
        else:
            app = "http"; http.append((fid, host))
    rows.append((fid, cap, v1, c, rng.randrange(1024, 65536), s, port,
                 ck, sk, t, t + d, 0, rng.randrange(0, 10**6), rng.randrange(0, 10**7), 0, 0, rng.randrange(1, 9999), 0, 0, 1, 1, 1,
                 rng.choice(states), app, host))
    if len(rows) == 50_000:
        flush()
if rows:
    flush()
con.commit()
con.execute("ANALYZE")
con.commit()
