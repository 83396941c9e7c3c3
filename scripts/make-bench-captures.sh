#!/usr/bin/env bash
# Generates the benchmark captures under bench-data/ (not committed) from real
# TCP traffic with ../shared/realtraffic, unless they already exist:
#   bulk.pcap   200 connections x 5 MB (plan "big"), about 1.1 GB
#   one100m.pcap  one connection, 100 MB from the server (for --show raw)
#   lossy.pcap  plan "big" with 2% loss before the capture point (out of order, retransmissions)
# Needs root, tcpdump, nftables, ethtool, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
out=${BENCH_DATA:-$here/bench-data}
mkdir -p "$out"
if [ ! -s "$out/bulk.pcap" ]; then
  bash "$rt/capture.sh" big "$out/bulk.pcap" v4
fi
if [ ! -s "$out/lossy.pcap" ]; then
  bash "$rt/capture.sh" big "$out/lossy.pcap" v4 2
fi
if [ ! -s "$out/one100m.pcap" ]; then
  work=$(mktemp -d)
  cp "$rt"/capture.sh "$rt"/peer.py "$work"/
  printf '%s\n' 'import json, sys' 'json.dump({"concurrency": 1, "conns": [{"rounds": [[100, 100 << 20]], "end": "fin"}]}, sys.stdout)' > "$work/plan.py"
  bash "$work/capture.sh" one "$out/one100m.pcap" v4
  rm -rf "$work"
fi
ls -l "$out"
