#!/usr/bin/env python3
"""Compares flowdb's dns rows with tshark's reading of the same DNS messages.

  dns-check.py --flowdb BIN CAPTURE...

Each CAPTURE is ingested into a fresh archive; for every DNS response tshark
dissects (UDP or TCP), the row flowdb wrote for that transaction (same endpoints,
message id and name) must agree on: the name asked, its type and class, the response
code, the AA, TC, RD (of the query) and RA flags, and the answer section (each
record's data as flowdb renders it: the address, the name of a CNAME, NS, PTR, MX,
SRV or SOA record, `TXT <length> <string>` per string) with its TTLs. Every query
tshark sees must have a row; a message whose name tshark cannot read either (it
shows `<Name too long>`) has none. Ends with `N of M fields agree`."""
import argparse, json, os, sqlite3, subprocess, sys, tempfile


def tshark_messages(capture):
    out = subprocess.run(["tshark", "-r", capture, "-Y", "dns", "-T", "json", "--no-duplicate-keys"],
                         capture_output=True, text=True, check=True).stdout
    for packet in json.loads(out or "[]"):
        layers = packet["_source"]["layers"]
        dns = layers["dns"]
        if isinstance(dns, list):
            dns = dns[0]
        ip = layers.get("ip") or layers.get("ipv6")
        src = ip.get("ip.src") or ip.get("ipv6.src")
        dst = ip.get("ip.dst") or ip.get("ipv6.dst")
        transport = layers.get("udp") or layers.get("tcp")
        sport = transport.get("udp.srcport") or transport.get("tcp.srcport")
        dport = transport.get("udp.dstport") or transport.get("tcp.dstport")
        yield src, int(sport), dst, int(dport), dns


def as_list(v):
    return v if isinstance(v, list) else [v]


def render(answer):
    kind = int(answer["dns.resp.type"])
    if kind == 1:
        return answer["dns.a"]
    if kind == 28:
        return answer["dns.aaaa"]
    names = {5: "dns.cname", 2: "dns.ns", 12: "dns.ptr.domain_name", 15: "dns.mx.mail_exchange",
             33: "dns.srv.target", 6: "dns.soa.mname"}
    if kind in names:
        return answer[names[kind]]
    if kind == 16:
        return " ".join(f"TXT {len(t.encode())} {t}" for t in as_list(answer["dns.txt"]))
    return "<" + TYPE_NAMES.get(kind, str(kind)) + ">"


# flowdb names other record types as Zeek's DNS::query_types does
TYPE_NAMES = {10: "NULL", 13: "HINFO", 17: "RP", 24: "SIG", 25: "KEY", 29: "LOC", 35: "NAPTR", 39: "DNAME", 41: "OPT",
              43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA",
              64: "SVCB", 65: "HTTPS", 99: "SPF", 250: "TSIG", 256: "URI", 257: "CAA"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flowdb", required=True)
    parser.add_argument("captures", nargs="+")
    args = parser.parse_args()
    agree = total = 0
    problems = []

    def compare(what, ours, theirs, where):
        nonlocal agree, total
        total += 1
        if ours == theirs:
            agree += 1
        else:
            problems.append(f"  DIFFER {where}: {what}: flowdb {ours!r}, tshark {theirs!r}")

    for capture in args.captures:
        db = os.path.join(tempfile.mkdtemp(), "a.sqlite")
        subprocess.run([args.flowdb, "ingest", "--quiet", "--db", db, capture], check=True)
        con = sqlite3.connect(db)
        rows = con.execute("""SELECT f.client_ip, f.client_port, f.server_ip, f.server_port, d.trans_id, d.query, d.qtype,
                                     d.qclass, d.rcode, d.aa, d.tc, d.rd, d.ra, d.answers, d.ttls
                              FROM dns d JOIN flow f ON f.id = d.flow_id""").fetchall()
        by_key = {}
        for r in rows:
            by_key.setdefault((r[0], r[1], r[2], r[3], r[4], r[5]), []).append(r)
        queries = responses = 0
        for src, sport, dst, dport, dns in tshark_messages(capture):
            flags = dns["dns.flags_tree"]
            ident = int(dns["dns.id"], 16)
            query = next(iter(dns.get("Queries", {}).values()), {})
            if isinstance(query, list):
                query = query[0]
            name = query.get("dns.qry.name")
            if name == "<Root>":
                name = ""           # tshark's label for the empty name
            elif name is not None and name.startswith("<") and name.endswith(">"):
                # a name tshark could not read either ("<Name too long>"): flowdb writes no row
                compare("no row for a message whose name is malformed", by_key.get(
                    (dst, dport, src, sport, int(dns["dns.id"], 16), None), []), [], f"{capture} {name}")
                continue
            response = flags["dns.flags.response"] == "1"
            key = (dst, dport, src, sport, ident, name) if response else (src, sport, dst, dport, ident, name)
            where = f"{os.path.basename(capture)} {key}"
            found = by_key.get(key, [])
            if not response:
                queries += 1
                compare("a row for the query", len(found) >= 1, True, where)
                if found:
                    compare("rd", bool(found[0][11]), flags["dns.flags.recdesired"] == "1", where)
                continue
            responses += 1
            compare("a row for the response", len(found) >= 1, True, where)
            if not found:
                continue
            r = found[0]
            compare("query", r[5], name, where)
            compare("qtype", r[6], int(query["dns.qry.type"]) if query else None, where)
            compare("qclass", r[7], int(query["dns.qry.class"], 16) if query else None, where)
            compare("rcode", r[8], int(flags["dns.flags.rcode"]), where)
            compare("aa", bool(r[9]), flags.get("dns.flags.authoritative") == "1", where)
            compare("tc", bool(r[10]), flags.get("dns.flags.truncated") == "1", where)
            compare("ra", bool(r[12]), flags.get("dns.flags.recavail") == "1", where)
            answers = []
            for v in dns.get("Answers", {}).values():
                answers += v if isinstance(v, list) else [v]
            compare("answers", (r[13] or "").split(",") if r[13] else [],
                    [render(a).replace(",", "\\x2c") for a in answers], where)
            compare("TTLs", (r[14] or "").split(",") if r[14] else [], [a["dns.resp.ttl"] for a in answers], where)
        print(f"{os.path.basename(capture)}: {queries} queries, {responses} responses, {len(rows)} rows")
    for p in problems:
        print(p)
    print(f"{agree} of {total} fields agree")
    return 0 if agree == total and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
