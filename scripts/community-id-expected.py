#!/usr/bin/env python3
"""Writes Tests/Fixtures/community-id/expected.json: for each capture, the Community
IDs (v1, seed 0) that pycommunityid (PyPI `communityid`, Corelight's reference
implementation) gives its packets, from their addresses, IP protocol and ports (ICMP
type and code) as tshark decodes them. CommunityIDTests compares flowdb's flows with
these sets.

  usage: scripts/community-id-expected.py CAPTURE... > Tests/Fixtures/community-id/expected.json
  (paths relative to the repository)"""
import json, subprocess, sys
import communityid

FIELDS = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt", "tcp.srcport", "tcp.dstport",
          "udp.srcport", "udp.dstport", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code"]


def first(v):
    return v.split(",")[0] if v else ""


def ids(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=\t"] + sum([["-e", f] for f in FIELDS], []),
                         capture_output=True, text=True, check=True).stdout
    cid = communityid.CommunityID()
    found = set()
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        src, dst = first(v["ip.src"]) or first(v["ipv6.src"]), first(v["ip.dst"]) or first(v["ipv6.dst"])
        if not src:
            continue
        # the transport by the layer tshark decoded (ICMP first: an error carries the
        # datagram it answers, whose UDP or TCP ports tshark shows too; IPv6's next
        # header may be an extension header, so it is not asked)
        if v["icmp.type"]:
            t = communityid.FlowTuple.make_icmp(src, dst, int(first(v["icmp.type"])), int(first(v["icmp.code"])))
        elif v["icmpv6.type"]:
            t = communityid.FlowTuple.make_icmp6(src, dst, int(first(v["icmpv6.type"])), int(first(v["icmpv6.code"])))
        elif v["tcp.srcport"]:
            t = communityid.FlowTuple.make_tcp(src, dst, int(first(v["tcp.srcport"])), int(first(v["tcp.dstport"])))
        elif v["udp.srcport"]:
            t = communityid.FlowTuple.make_udp(src, dst, int(first(v["udp.srcport"])), int(first(v["udp.dstport"])))
        else:
            continue
        found.add(cid.calc(t))
    return sorted(found)


print(json.dumps({p: ids(p) for p in sys.argv[1:]}, indent=1, sort_keys=True))
