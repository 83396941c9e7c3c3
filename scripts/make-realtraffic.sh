#!/usr/bin/env bash
# Generates real-traffic captures with ground truth under bench-data/realtraffic/
# (not committed) with ../shared/realtraffic: the inputs of the oracle comparison
# and the ground-truth checks beyond the small committed fixtures.
#   clean-v4        48 connections, no loss
#   loss-pre-v4     5% loss before the capture point: holes filled later (out of order)
#   loss-post-v4    5% loss after the capture point: duplicates and overlaps
#   loss-both-v6    IPv6, 200 concurrent connections, 3% loss on both sides
#   many-v4         5000 short connections: ephemeral ports get reused
#   any-loss-v4     tcpdump -i any (Linux cooked v2), 3% loss before the capture point
# Needs root, tcpdump, nftables, ethtool, python3. Existing files are kept.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
out=${REALTRAFFIC_DATA:-$here/bench-data/realtraffic}
mkdir -p "$out"
make_one() { # name plan family drop-before drop-after iface
  [ -s "$out/$1.pcap" ] || bash "$rt/capture.sh" "$2" "$out/$1.pcap" "$3" "$4" "$5" "$6"
}
make_one clean-v4 clean v4 0 0 vb
make_one loss-pre-v4 loss-pre v4 5 0 vb
make_one loss-post-v4 loss-post v4 0 5 vb
make_one loss-both-v6 loss-both v6 3 3 vb
make_one many-v4 many v4 0 0 vb
make_one any-loss-v4 loss-pre v4 3 0 any
ls -l "$out"
