#!/usr/bin/env bash
# Makes the bundled sample capture Samples/sample-loss.pcap and its ground truth
# (Samples/sample-loss.pcap.json) with ../shared/realtraffic: two network namespaces,
# real Linux TCP stacks, 3% loss before and 2% after the capture point, so the
# capture holds out-of-order segments, retransmissions and overlaps.
# Needs root, tcpdump, nftables, ethtool, python3. Usage: scripts/make-sample.sh [OUT.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
out=${1:-$here/Samples/sample-loss.pcap}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$rt"/capture.sh "$rt"/peer.py "$work"/
# A plan of our own: 10 connections of a few KB to 90 KB each way, some with several
# request/response rounds, two ending in RST. capture.sh asks plan.py for the plan.
cat > "$work/plan.py" <<'PY'
import json, random, sys
rng = random.Random("flowdb-sample")
conns = []
for i in range(10):
    rounds = [[rng.choice([0, 200, 3000, 20000]), rng.choice([0, 1500, 9000, 60000, 90000])]
              for _ in range(rng.choice([1, 1, 2, 3]))]
    conns.append({"rounds": rounds, "end": "rst" if i in (3, 7) else "fin"})
json.dump({"concurrency": 4, "conns": conns}, sys.stdout)
PY
bash "$work/capture.sh" sample "$out" v4 3 2
