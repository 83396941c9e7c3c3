#!/usr/bin/env python3
"""Checks UDP and ICMP flows against what was sent (scripts/make-datagram-traffic.sh).

  datagram-check.py --flowdb BIN CAPTURE...

Each CAPTURE is ingested into a fresh archive and compared with CAPTURE.json:
  - every UDP exchange is one `udp` flow between its endpoints, SF, whose
    deliveries each way are the datagrams sent (their lengths, in order) and whose
    bytes hash to what was sent;
  - every ping is one `icmp` flow with its request and reply counts as packets each
    way, the echo type and code 0 in the port columns;
  - the datagram to a closed port is an S0 `udp` flow holding its payload, and the
    ICMP port unreachable (type 3, code 3) a flow of its own from the server;
  - every QUIC handshake's ClientHello is read from the client's Initials: a `tls`
    row with its SNI and ALPN, a JA4 of transport q, the flow's app 'quic'.
Ends with `N passed, M failed`."""
import argparse, hashlib, json, os, sqlite3, subprocess, sys, tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flowdb", required=True)
    parser.add_argument("captures", nargs="+")
    args = parser.parse_args()
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    for capture in args.captures:
        truth = json.load(open(capture + ".json"))
        db = os.path.join(tempfile.mkdtemp(), "a.sqlite")
        subprocess.run([args.flowdb, "ingest", "--quiet", "--db", db, capture], check=True)
        con = sqlite3.connect(db)

        def flows(proto, client, server, client_port=None, server_port=None):
            q = "SELECT id, conn_state, c2s_packets, s2c_packets, client_port, server_port FROM flow WHERE proto = ? AND client_ip = ? AND server_ip = ?"
            values = [proto, client, server]
            if client_port is not None:
                q += " AND client_port = ?"
                values.append(client_port)
            if server_port is not None:
                q += " AND server_port = ?"
                values.append(server_port)
            return con.execute(q, values).fetchall()

        def direction(flow_id, d):
            rows = con.execute("SELECT length, data FROM chunk WHERE flow_id = ? AND dir = ? ORDER BY stream_offset",
                               (flow_id, d)).fetchall()
            return [r[0] for r in rows], hashlib.sha256(b"".join(r[1] for r in rows)).hexdigest()

        for x in truth["udp"]:
            (ci, cp), (si, sp) = x["client"], x["server"]
            found = flows("udp", ci, si, cp, sp)
            where = f"{os.path.basename(capture)} udp {ci}:{cp} > {si}:{sp}"
            check(len(found) == 1 and found[0][1] == "SF", f"{where}: one SF flow")
            if len(found) != 1:
                continue
            for d, name in ((0, "c2s"), (1, "s2c")):
                lengths, digest = direction(found[0][0], d)
                check(lengths == x[name] and digest == x[name + "_sha256"],
                      f"{where} {name}: {len(lengths)} datagrams, {sum(lengths)} bytes as sent")
        for ping in truth["pings"]:
            found = flows("icmp", ping["client"], ping["server"])
            echo = [f for f in found if f[4] in (8, 128) and f[5] == 0]
            check(len(echo) == 1 and echo[0][2] == ping["requests"] and echo[0][3] == ping["replies"],
                  f"{os.path.basename(capture)} ping {ping['client']} > {ping['server']}: one icmp flow, "
                  f"{ping['requests']} requests and {ping['replies']} replies")
        closed = truth["closed_port"]
        found = flows("udp", closed["client"], closed["server"], None, closed["port"])
        ok = len(found) == 1 and found[0][1] == "S0"
        if ok:
            lengths, digest = direction(found[0][0], 0)
            ok = digest == hashlib.sha256(closed["payload"].encode()).hexdigest()
        check(ok, f"{os.path.basename(capture)} closed port {closed['port']}: an S0 udp flow with its payload")
        unreachable = flows("icmp", closed["server"], closed["client"], 3, 3)
        check(len(unreachable) == 1 and unreachable[0][2] == 1,
              f"{os.path.basename(capture)} port unreachable: an icmp flow of its own, type 3 code 3")
        for q in truth.get("quic", []):
            rows = con.execute("""SELECT f.app, f.app_host, t.server_name, t.alpn_offered, substr(t.ja4, 1, 1)
                                  FROM flow f JOIN tls t ON t.flow_id = f.id
                                  WHERE f.proto = 'udp' AND f.client_ip = ? AND f.server_ip = ? AND f.server_port = ?""",
                               (q["client"], q["server"], q["port"])).fetchall()
            check(rows == [("quic", q["sni"], q["sni"], json.dumps(q["alpn"], separators=(",", ":")), "q")],
                  f"{os.path.basename(capture)} QUIC {q['client']} > {q['server']}: its ClientHello read from the Initials, SNI {q['sni']}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
