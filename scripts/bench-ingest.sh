#!/usr/bin/env bash
# make bench: flowdb ingest (release, default options) vs gopacket-oracle -quiet
# (libpcap read + gopacket decode + reassembly, no storage) vs tcpflow writing its
# files, interleaved, RUNS times each, output on tmpfs (/dev/shm), page cache warm.
# Prints MB/s per run, medians, ratios and flowdb's peak RSS (/usr/bin/time -v),
# then one run of each on the real disk (bench-data/disk-out), where timings vary more.
#   captures: bench-data/bulk.pcap (200 x 5 MB), bench-data/small.pcap (100,000
#   connections of a few KB), bench-data/lossy.pcap (the bulk plan with 2% loss
#   before the capture point); made by scripts/make-bench-captures.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
out=${BENCH_OUT:-/dev/shm/flowdb-bench}
command -v tcpflow >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpflow >/dev/null; }
"$here/scripts/make-bench-captures.sh" >/dev/null
"$here/scripts/build-oracle.sh" >/dev/null
swift build -c release --product flowdb --package-path "$here" >/dev/null
flowdb=$here/.build/release/flowdb oracle=$here/.build-oracle/gopacket-oracle
mkdir -p "$out"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for cap in "$here/bench-data/bulk.pcap" "$here/bench-data/small.pcap" "$here/bench-data/lossy.pcap"; do
  [ -s "$cap" ] || continue
  size=$(stat -c %s "$cap"); cat "$cap" > /dev/null
  : > "$out/f.txt"; : > "$out/g.txt"; : > "$out/t.txt"; : > "$out/rss.txt"; : > "$out/c.txt"
  for i in $(seq "$runs"); do
    rm -rf "$out/a.sqlite"* "$out/tcpflow"; mkdir -p "$out/tcpflow"
    # the physical floor: storing every byte cannot be faster than copying them into
    # tmpfs. Timed first, with tmpfs emptied: after the others' 2 GB of output it
    # varied from 303 to 1,986 MB/s in one sitting.
    cat "$cap" > /dev/null
    s=$(date +%s%N); cp "$cap" "$out/copy.pcap"; e=$(date +%s%N); rm -f "$out/copy.pcap"
    echo "$size $s $e" | awk '{printf "%.0f\n", $1 / 1000 / (($3 - $2) / 1000000)}' >> "$out/c.txt"
    s=$(date +%s%N); /usr/bin/time -f %M -o "$out/rss1" "$flowdb" ingest --quiet --db "$out/a.sqlite" "$cap"; e=$(date +%s%N)
    echo "$size $s $e" | awk '{printf "%.0f\n", $1 / 1000 / (($3 - $2) / 1000000)}' >> "$out/f.txt"; cat "$out/rss1" >> "$out/rss.txt"
    s=$(date +%s%N); "$oracle" -quiet "$cap" > /dev/null; e=$(date +%s%N)
    echo "$size $s $e" | awk '{printf "%.0f\n", $1 / 1000 / (($3 - $2) / 1000000)}' >> "$out/g.txt"
    s=$(date +%s%N); tcpflow -r "$cap" -o "$out/tcpflow" 2>/dev/null; e=$(date +%s%N)
    echo "$size $s $e" | awk '{printf "%.0f\n", $1 / 1000 / (($3 - $2) / 1000000)}' >> "$out/t.txt"
    echo "$(basename "$cap") run $i: flowdb $(tail -1 "$out/f.txt") MB/s (RSS $(tail -1 "$out/rss.txt") KB), gopacket $(tail -1 "$out/g.txt") MB/s, tcpflow $(tail -1 "$out/t.txt") MB/s, cp $(tail -1 "$out/c.txt") MB/s"
  done
  f=$(median < "$out/f.txt"); g=$(median < "$out/g.txt"); t=$(median < "$out/t.txt"); r=$(median < "$out/rss.txt"); c=$(median < "$out/c.txt")
  echo "$(basename "$cap") median: flowdb $f MB/s, gopacket-oracle -quiet $g MB/s, tcpflow $t MB/s, cp to tmpfs $c MB/s;" \
       "flowdb/gopacket $(echo "$f $g" | awk '{printf "%.2f", $1/$2}'), flowdb/tcpflow $(echo "$f $t" | awk '{printf "%.2f", $1/$2}')," \
       "flowdb's time / cp's time $(echo "$c $f" | awk '{printf "%.2f", $1/$2}'), peak RSS $((r / 1024)) MB"
done
rm -rf "$out"
disk=$here/bench-data/disk-out
cap=$here/bench-data/bulk.pcap size=$(stat -c %s "$cap")
rm -rf "$disk"; mkdir -p "$disk/tcpflow"
rate() { awk -v b="$size" -v s="$1" -v e="$2" 'BEGIN {printf "%.0f", b / 1000 / ((e - s) / 1000000)}'; }
s=$(date +%s%N); "$flowdb" ingest --quiet --db "$disk/a.sqlite" "$cap"; sync; e=$(date +%s%N); f=$(rate "$s" "$e")
s=$(date +%s%N); "$oracle" -quiet "$cap" > /dev/null; e=$(date +%s%N); g=$(rate "$s" "$e")
s=$(date +%s%N); tcpflow -r "$cap" -o "$disk/tcpflow" 2>/dev/null; sync; e=$(date +%s%N); t=$(rate "$s" "$e")
echo "bulk.pcap on the real disk (one run, including sync): flowdb $f MB/s, gopacket-oracle -quiet $g MB/s, tcpflow $t MB/s"
rm -rf "$disk"
