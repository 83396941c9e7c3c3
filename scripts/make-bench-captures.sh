#!/usr/bin/env bash
# Generates the benchmark captures under bench-data/ (not committed) from real
# TCP traffic with ../shared/realtraffic, unless they already exist:
#   bulk.pcap   200 connections x 5 MB (plan "big"), about 1.1 GB
#   one100m.pcap  one connection, 100 MB from the server (for --show raw)
#   lossy.pcap  plan "big" with 2% loss before the capture point (out of order, retransmissions)
#   small.pcap  100,000 connections of a few KB each (64 at a time; the client's
#               namespace uses ports 1024-65535 and reuses TIME_WAIT ports, so
#               about a third of the 4-tuples carry a second connection)
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
if [ ! -s "$out/small.pcap" ]; then
  work=$(mktemp -d)
  cp "$rt"/capture.sh "$rt"/peer.py "$work"/
  # 100,000 connections cannot fit in the default 28,232 ephemeral ports
  sed -i 's|^ip netns add $S; ip netns add $C$|&\nip netns exec $C sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1|' "$work/capture.sh"
  cat > "$work/plan.py" <<'PLAN'
import json, random, sys
rng = random.Random("small")
conns = [{"rounds": [[rng.randint(50, 600), rng.randint(500, 6000)]], "end": "rst" if i % 13 == 6 else "fin"}
         for i in range(100_000)]
json.dump({"concurrency": 64, "conns": conns}, sys.stdout)
PLAN
  bash "$work/capture.sh" small "$out/small.pcap" v4
  rm -rf "$work"
fi
ls -l "$out"
