#!/usr/bin/env python3
"""Ingests captures and compares the archive's http and tls tables with what
tshark reports for the same packets, field by field, connection by connection:

  HTTP: method, uri, version, host, user_agent, referrer, status_code, status_msg,
        response content type, request/response body length (Content-Length; for a
        chunked body, the sum of tshark's http.chunk_size)
  SSH:  client and server identification lines, HASSH, HASSHServer
  TLS:  server_name, version (negotiated), cipher, alpn_offered, next_protocol, ja3,
        ja3s, certificate chain SHA-256 (TLS <= 1.2), and the server certificate's
        subject, issuer, serial and validity against `openssl x509 -nameopt RFC2253`
        on the certificate tshark extracted

Prints one line per field: agreed / compared, and every disagreement.
usage: app-check.py [--flowdb BIN] CAPTURE...   (exit 0 when every field agrees)
"""
import argparse
import collections
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile


def tshark(capture, display_filter, fields, occurrence="a"):
    # make-app-traffic.sh's SMTP and SSH servers listen on ports tshark does not know
    args = ["tshark", "-r", capture, "-d", "tcp.port==2525,smtp", "-d", "tcp.port==2222,ssh", "-d", "tcp.port==14433,tls",
            "-Y", display_filter,
            "-T", "fields", "-E", "occurrence=" + occurrence, "-E", "aggregator=|"]
    extra = ["ipv6.src", "ipv6.dst"] if "ip.src" in fields else []
    for f in fields + extra:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(fields + extra, line.split("\t"))) for line in out.splitlines()]
    for r in rows:
        # IPv6 packets: their addresses in the IPv4 fields' place
        if extra and not r.get("ip.src"):
            r["ip.src"], r["ip.dst"] = r.get("ipv6.src", ""), r.get("ipv6.dst", "")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flowdb", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "flowdb"))
    parser.add_argument("captures", nargs="+")
    args = parser.parse_args()
    agree = collections.Counter()
    total = collections.Counter()
    problems = []

    def compare(field, ours, theirs, where):
        total[field] += 1
        if ours == theirs:
            agree[field] += 1
        else:
            problems.append(f"{where}: {field}: flowdb {ours!r}, tshark {theirs!r}")

    for capture in args.captures:
        work = tempfile.mkdtemp(prefix="flowdb-app-check-")
        db = os.path.join(work, "a.sqlite")
        subprocess.run([args.flowdb, "ingest", "--quiet", "--db", db, capture], check=True)
        con = sqlite3.connect(db)
        key = lambda ip, port, sip, sport: f"{ip}:{port}>{sip}:{sport}"

        # HTTP: tshark's messages in order per connection (client's view)
        http_fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "http.request.method", "http.request.uri",
                       "http.request.version", "http.response.version", "http.host", "http.user_agent", "http.referer",
                       "http.response.code", "http.response.phrase", "http.content_type", "http.content_length_header",
                       "http.chunk_size", "http.request.line"]
        requests, responses = collections.defaultdict(list), collections.defaultdict(list)
        informational = collections.defaultdict(list)
        for frame in tshark(capture, "http.request || http.response", http_fields):
            # a frame may hold several messages (pipelining): tshark aggregates their fields with "|"
            n = max(len(frame["http.request.method"].split("|")), len(frame["http.response.code"].split("|")))
            if not frame["tcp.srcport"]:
                continue        # HTTP over UDP (SSDP): flowdb reads TCP only
            for i in range(n):
                m = {k: (v.split("|")[i] if len(v.split("|")) == n else v) for k, v in frame.items()}
                if m["http.request.method"]:
                    requests[key(m["ip.src"], m["tcp.srcport"], m["ip.dst"], m["tcp.dstport"])].append(m)
                elif m["http.response.code"].startswith("1"):
                    informational[key(m["ip.dst"], m["tcp.dstport"], m["ip.src"], m["tcp.srcport"])].append(m["http.response.code"])
                else:
                    responses[key(m["ip.dst"], m["tcp.dstport"], m["ip.src"], m["tcp.srcport"])].append(m)
        rows = con.execute("""SELECT f.client_ip, f.client_port, f.server_ip, f.server_port, h.trans_depth, h.method, h.uri,
                                     h.version, h.host, h.user_agent, h.referrer, h.status_code, h.status_msg,
                                     h.response_content_type, h.request_body_len, h.response_body_len, h.request_headers,
                                     h.response_headers, h.response_chunked, h.request_chunked, h.informational
                              FROM http h JOIN flow f ON f.id = h.flow_id ORDER BY f.id, h.trans_depth""").fetchall()
        ours = collections.defaultdict(list)
        for r in rows:
            ours[key(*r[:4])].append(r)
        for conn in sorted(set(requests) | set(ours)):
            theirs_q, theirs_r = requests.get(conn, []), responses.get(conn, [])
            ours_q = [r for r in ours.get(conn, []) if r[5] is not None]
            ours_r = [r for r in ours.get(conn, []) if r[11] is not None]
            compare("http transactions", len(ours_q), len(theirs_q), conn)
            for o, t in zip(ours_q, theirs_q):
                where = f"{capture} {conn} #{o[4]}"
                compare("http method", o[5], t["http.request.method"], where)
                compare("http uri", o[6], t["http.request.uri"], where)
                compare("http version", "HTTP/" + o[7], t["http.request.version"], where)
                compare("http host", o[8] or "", t["http.host"], where)
                compare("http user_agent", o[9] or "", t["http.user_agent"], where)
                compare("http referrer", o[10] or "", t["http.referer"], where)
                length = t["http.content_length_header"]
                chunks = t["http.chunk_size"]
                if length or chunks:
                    compare("http request_body_len", o[14], int(length) if length else sum(int(c) for c in chunks.split("|")), where)
            ours_informational = [c for r in ours.get(conn, []) if r[20] for c in json.loads(r[20])]
            if ours_informational or informational.get(conn):
                compare("http informational (1xx)", [str(c) for c in ours_informational], informational.get(conn, []), conn)
            methods = {r[4]: r[5] for r in ours.get(conn, [])}
            for o, t in zip(ours_r, theirs_r):
                where = f"{capture} {conn} #{o[4]}"
                compare("http status_code", str(o[11]), t["http.response.code"], where)
                compare("http status_msg", o[12] or "", t["http.response.phrase"], where)
                compare("http response content type", o[13] or "", t["http.content_type"], where)
                length = t["http.content_length_header"]
                chunks = t["http.chunk_size"]
                if methods.get(o[4]) == "HEAD" or o[11] in (204, 304):
                    # no body, whatever Content-Length announces (Zeek counts 0)
                    compare("http response_body_len (HEAD, 204, 304)", o[15], 0, where)
                elif chunks:
                    compare("http response_body_len (chunked)", o[15], sum(int(c) for c in chunks.split("|")), where)
                elif length:
                    compare("http response_body_len", o[15], int(length), where)

        # TLS: first ClientHello and ServerHello per connection
        hello_fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tls.handshake.type",
                        "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str", "tls.handshake.ja3",
                        "tls.handshake.ja3s", "tls.handshake.ciphersuite", "tls.handshake.extensions.supported_version",
                        "tls.handshake.version", "tls.handshake.certificate", "tls.handshake.cipherspec"]
        clients, servers = {}, {}
        for m in tshark(capture, "tls.handshake.type == 1 || tls.handshake.type == 2", hello_fields):
            types = m["tls.handshake.type"].split("|")
            if "1" in types:
                clients.setdefault(key(m["ip.src"], m["tcp.srcport"], m["ip.dst"], m["tcp.dstport"]), m)
            if "2" in types:
                servers.setdefault(key(m["ip.dst"], m["tcp.dstport"], m["ip.src"], m["tcp.srcport"]), m)
        certs, leaves = {}, {}
        for m in tshark(capture, "tls.handshake.type == 11", ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tls.handshake.certificate"]):
            k = key(m["ip.dst"], m["tcp.dstport"], m["ip.src"], m["tcp.srcport"])
            if k not in certs and m["tls.handshake.certificate"]:
                ders = [bytes.fromhex(c.replace(":", "")) for c in m["tls.handshake.certificate"].split("|")]
                certs[k] = [hashlib.sha256(d).hexdigest() for d in ders]
                text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer", "-serial",
                                       "-startdate", "-enddate", "-nameopt", "RFC2253", "-dateopt", "iso_8601"],
                                      input=ders[0], capture_output=True).stdout.decode()
                leaves[k] = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        names = {0x0002: "SSLv2", 0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
        for r in con.execute("""SELECT f.client_ip, f.client_port, f.server_ip, f.server_port, t.server_name, t.version,
                                       t.cipher, t.alpn_offered, t.next_protocol, t.ja3, t.ja3s, t.cert_chain_sha256,
                                       t.subject, t.issuer, t.serial, t.not_before, t.not_after, t.ja4, t.client_version
                                FROM tls t JOIN flow f ON f.id = t.flow_id""").fetchall():
            conn = key(*r[:4])
            c, s = clients.get(conn), servers.get(conn)
            where = f"{capture} {conn}"
            if c is None:
                # inside a CONNECT tunnel: tshark dissects the tunnel as HTTP only
                compare("tls hellos tshark did not dissect", "noted", "noted", where)
                continue
            compare("tls server_name", r[4] or "", c["tls.handshake.extensions_server_name"], where)
            if c["tls.handshake.cipherspec"]:
                # a hello in SSL 2.0's record format: no JA3 or JA4 (tshark computes none), the version offered
                compare("tls ja3, ja4 (SSLv2 record)", (r[9], r[17]), (None, None), where)
                compare("tls client_version (SSLv2 record)", r[18], names.get(int(c["tls.handshake.version"].split("|")[0], 16)), where)
            else:
                compare("tls ja3", r[9], c["tls.handshake.ja3"], where)
            offered = json.loads(r[7]) if r[7] else []
            compare("tls alpn_offered", offered, [a for a in c["tls.handshake.extensions_alpn_str"].split("|") if a], where)
            if s:
                compare("tls ja3s", r[10], s["tls.handshake.ja3s"], where)
                sv = s["tls.handshake.extensions.supported_version"]
                version = int(sv, 16) if sv else int(s["tls.handshake.version"].split("|")[-1], 16)
                compare("tls version", r[5], names.get(version, hex(version)), where)
                suite = int(s["tls.handshake.ciphersuite"], 16)
                named = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True).stdout if not hasattr(main, "_v") else main._v
                main._v = named
                table = {int(l.split("\t")[2], 0): l.split("\t")[3] for l in named.splitlines()
                         if l.startswith("V\ttls.handshake.ciphersuite\t")}
                compare("tls cipher", r[6], table.get(suite), where)
                chosen = s["tls.handshake.extensions_alpn_str"]
                compare("tls next_protocol", r[8] or "", chosen, where)
            if conn in certs and r[5] == "TLSv1.3":
                # encrypted in TLS 1.3: tshark read it with the TLS secrets stored in the capture
                compare("tls 1.3 certificates tshark decrypted (not compared)", "noted", "noted", where)
            elif conn in certs:
                compare("tls cert chain sha256", json.loads(r[11]) if r[11] else [], certs[conn], where)
                leaf = leaves[conn]
                compare("tls subject", r[12], leaf.get("subject"), where)
                compare("tls issuer", r[13], leaf.get("issuer"), where)
                compare("tls serial", r[14], leaf.get("serial"), where)
                def iso(ns):
                    import datetime
                    return datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
                compare("tls not_before", iso(r[15]) if r[15] is not None else None, leaf.get("notBefore"), where)
                compare("tls not_after", iso(r[16]) if r[16] is not None else None, leaf.get("notAfter"), where)
        # SSH: identification lines and HASSH per direction
        ssh_fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "ssh.protocol", "ssh.kex.hassh", "ssh.kex.hasshserver"]
        seen = collections.defaultdict(dict)
        for m in tshark(capture, "ssh.protocol || ssh.kex.hassh || ssh.kex.hasshserver", ssh_fields, occurrence="f"):
            sender = key(m["ip.src"], m["tcp.srcport"], m["ip.dst"], m["tcp.dstport"])
            for f in ("ssh.protocol", "ssh.kex.hassh", "ssh.kex.hasshserver"):
                if m[f]:
                    seen[sender].setdefault(f, m[f])
        for r in con.execute("""SELECT f.client_ip, f.client_port, f.server_ip, f.server_port, s.client, s.server, s.hassh, s.hassh_server
                                FROM ssh s JOIN flow f ON f.id = s.flow_id""").fetchall():
            c2s, s2c = key(*r[:4]), key(r[2], r[3], r[0], r[1])
            where = f"{capture} {c2s}"
            compare("ssh client", r[4], seen[c2s].get("ssh.protocol"), where)
            compare("ssh server", r[5], seen[s2c].get("ssh.protocol"), where)
            compare("ssh hassh", r[6], seen[c2s].get("ssh.kex.hassh"), where)
            compare("ssh hassh_server", r[7], seen[s2c].get("ssh.kex.hasshserver"), where)
        con.close()
        shutil.rmtree(work, ignore_errors=True)

    for field in sorted(total):
        print(f"{field}: {agree[field]} of {total[field]} agree")
    for p in problems[:40]:
        print("  DIFFER", p)
    print(f"{sum(agree.values())} of {sum(total.values())} fields agree")
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
