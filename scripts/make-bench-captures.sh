#!/usr/bin/env bash
# Generates the benchmark captures under bench-data/ (not committed) from real
# TCP traffic with ../shared/realtraffic, unless they already exist:
#   bulk.pcap   200 connections x 5 MB (plan "big"), about 1.1 GB
# Needs root, tcpdump, nftables, ethtool, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
out=${BENCH_DATA:-$here/bench-data}
mkdir -p "$out"
if [ ! -s "$out/bulk.pcap" ]; then
  bash "$rt/capture.sh" big "$out/bulk.pcap" v4
fi
ls -l "$out"
