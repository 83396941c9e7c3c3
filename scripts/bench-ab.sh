#!/usr/bin/env bash
# Before/after ingest benchmark for a change: two flowdb binaries, interleaved
# (A B A B ...), RUNS times each per capture, archives on tmpfs, page cache warm.
# Prints MB/s per run, medians, the after/before ratio, peak RSS and archive size.
#   usage: scripts/bench-ab.sh BEFORE_BIN AFTER_BIN [CAPTURE...]
#   (default captures: bench-data/bulk.pcap small.pcap lossy.pcap)
# Build the "before" binary from a worktree of the earlier commit, e.g.
#   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && swift build -c release --product flowdb)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
before=$1 after=$2; shift 2
runs=${RUNS:-3}
out=${BENCH_OUT:-/dev/shm/flowdb-ab}
caps=("$@")
[ ${#caps[@]} -gt 0 ] || caps=("$here/bench-data/bulk.pcap" "$here/bench-data/small.pcap" "$here/bench-data/lossy.pcap")
mkdir -p "$out"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for cap in "${caps[@]}"; do
  size=$(stat -c %s "$cap"); cat "$cap" > /dev/null
  : > "$out/a.txt"; : > "$out/b.txt"
  for i in $(seq "$runs"); do
    for side in a b; do
      bin=$before; [ $side = b ] && bin=$after
      rm -f "$out/$side.sqlite"*
      s=$(date +%s%N); /usr/bin/time -f %M -o "$out/rss" "$bin" ingest --quiet --db "$out/$side.sqlite" "$cap"; e=$(date +%s%N)
      mbs=$(awk -v b="$size" -v s="$s" -v e="$e" 'BEGIN {printf "%.0f", b / 1000 / ((e - s) / 1000000)}')
      echo "$mbs" >> "$out/$side.txt"
      echo "$(basename "$cap") run $i $([ $side = a ] && echo before || echo after): $mbs MB/s, RSS $(( $(cat "$out/rss") / 1024 )) MB, archive $(stat -c %s "$out/$side.sqlite") bytes"
      rm -f "$out/$side.sqlite"*      # one archive on tmpfs at a time
    done
  done
  a=$(median < "$out/a.txt"); b=$(median < "$out/b.txt")
  echo "$(basename "$cap") median: before $a MB/s, after $b MB/s, after/before $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')"
done
rm -rf "$out"
