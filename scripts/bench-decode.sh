#!/usr/bin/env bash
# Capture + decode throughput (issue 3): flowdb's Capture+Decoding layers vs
# gopacket's read-and-decode alone vs gopacket-oracle -quiet (read, decode and
# reassembly) vs `cat FILE > /dev/null`, on bench-data/bulk.pcap, runs interleaved.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
file=${1:-$here/bench-data/bulk.pcap}
runs=${RUNS:-3}
[ -s "$file" ] || "$here/scripts/make-bench-captures.sh"
swift build -c release --package-path "$here/Benchmarks" --product DecodeThroughput >/dev/null
oracle_dir=${ORACLE_DIR:-$here/../shared/oracle}
[ -x "$oracle_dir/bin/gopacket-oracle" ] || bash "$oracle_dir/build.sh" >/dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/gopacket-decode"
cp "$here/Benchmarks/gopacket-decode/main.go" "$work/src/gopacket-decode/"
(cd "$work/src/gopacket-decode" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" go build -o "$work/gopacket-decode" .)
size=$(stat -c %s "$file")
cat "$file" > /dev/null   # warm the page cache
for i in $(seq "$runs"); do
  s=$(date +%s.%N); cat "$file" > /dev/null; e=$(date +%s.%N)
  echo "run $i cat: $(echo "$size / 1000000 / ($e - $s)" | bc -l | xargs printf '%.0f') MB/s"
  "$here/Benchmarks/.build/release/DecodeThroughput" "$file" 1 | sed "s/^/run $i flowdb /" | tail -1
  "$work/gopacket-decode" "$file" | sed "s/^/run $i /"
  "$oracle_dir/bin/gopacket-oracle" -quiet "$file" | sed "s/^/run $i gopacket-oracle -quiet: /"
done
