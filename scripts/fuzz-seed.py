#!/usr/bin/env python3
"""Seeds Fuzz/Corpus/decoder from real packets: each seed is one byte naming the
link type (its index in FuzzDecoder's table) followed by one captured packet.
  usage: scripts/fuzz-seed.py [MORE-CAPTURES...]  (e.g. the output of scripts/wrap-captures.py)"""
import hashlib, os, struct, sys
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
links = [1, 0, 108, 12, 101, 228, 229, 113, 276, 147, 104, 239]
sources = ["Samples/sample-loss.pcap", "Tests/Fixtures/sll2-any.pcap", "Tests/Fixtures/ipv6-loss.pcap",
           "Tests/Fixtures/loop-be.pcap", "Tests/Fixtures/null-be.pcap", "Tests/Fixtures/raw-ipv4.pcap",
           "Tests/Fixtures/qinq.pcap", "Tests/Fixtures/malformed/header-cut-syn.pcap",
           "Tests/Fixtures/malformed/bad-tcp-options.pcap", "Tests/Fixtures/malformed/ip-version.pcap",
           "../shared/captures/tcpdump-tests/nflog.pcap", "../shared/captures/tcpdump-tests/HDLC.pcap"] + sys.argv[1:]
out = os.path.join(root, "Fuzz/Corpus/decoder")
os.makedirs(out, exist_ok=True)
for src in sources:
    data = open(src if os.path.isabs(src) else os.path.join(root, src), "rb").read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    dlt = struct.unpack(e + "I", data[20:24])[0]
    dlt = 12 if dlt == 101 else dlt
    i, n = 24, 0
    while i + 16 <= len(data) and n < 12:
        incl = struct.unpack(e + "I", data[i + 8:i + 12])[0]
        seed = bytes([links.index(dlt)]) + data[i + 16:i + 16 + min(incl, 200)]
        open(os.path.join(out, hashlib.sha1(seed).hexdigest()), "wb").write(seed)
        i += 16 + incl; n += 1
print(len(os.listdir(out)), "seeds in", out)
