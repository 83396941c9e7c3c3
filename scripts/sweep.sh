#!/usr/bin/env bash
# Ingests every capture under the given folders (default: ../shared/captures; `make
# sweep` adds Tests/Fixtures/hostile), each
# into a fresh archive (read, decode, reassemble, store), and counts the outcomes:
# read to the end, rejected with a clear error (exit 1, one line on stderr naming
# the file), crashed (any other exit or output), hung (timeout). After each run the
# archive must pass PRAGMA integrity_check, and no run may exceed SWEEP_MAX_RSS_MB
# of memory (default 1024; /usr/bin/time measures it). Prints the counts of each
# folder, then the total and the largest peak RSS.
#   scripts/sweep.sh [FLOWDB_BINARY] [DIR...]
# Set SWEEP_LOG to keep the per-file results.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/.build/release/flowdb}
shift || true
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("$here/../shared/captures")
log=${SWEEP_LOG:-$(mktemp)}
: > "$log"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
max_rss_mb=${SWEEP_MAX_RSS_MB:-1024}
peak_kb=0 peak_file=""
[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
all_total=0 all_read=0 all_rejected=0 all_crashed=0 all_hung=0
for dir in "${dirs[@]}"; do
  read_ok=0 rejected=0 crashed=0 hung=0 total=0
  while IFS= read -r -d '' f; do
    total=$((total + 1))
    rm -f "$work"/a.sqlite*
    err=$(timeout 60 /usr/bin/time -f %M -o "$work/rss" "$bin" ingest --quiet --db "$work/a.sqlite" "$f" 2>&1 >/dev/null); rc=$?
    rss=$(tail -1 "$work/rss" 2>/dev/null); [[ $rss =~ ^[0-9]+$ ]] || rss=0
    if [ "$rss" -gt "$peak_kb" ]; then peak_kb=$rss peak_file=$f; fi
    if [ $rc -le 1 ] && [ "$rss" -gt $((max_rss_mb * 1024)) ]; then rc=98; err="peak RSS $((rss / 1024)) MB over $max_rss_mb MB"; fi
    if [ $rc -le 1 ] && [ -f "$work/a.sqlite" ] && [ "$(sqlite3 "$work/a.sqlite" 'PRAGMA integrity_check')" != ok ]; then
      rc=99; err="integrity_check failed"
    fi
    case $rc in
      0) read_ok=$((read_ok + 1)); echo "read     $f" >> "$log" ;;
      1) if [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "flowdb: $f"* ]]; then
           rejected=$((rejected + 1)); echo "rejected $f: $err" >> "$log"
         else
           crashed=$((crashed + 1)); echo "UNCLEAR  $f: $err" >> "$log"
         fi ;;
      124) hung=$((hung + 1)); echo "HUNG     $f" >> "$log" ;;
      *) crashed=$((crashed + 1)); echo "CRASHED($rc) $f: $(printf '%s' "$err" | head -3)" >> "$log" ;;
    esac
  done < <(find "$dir" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
  echo "$dir: files $total: read $read_ok, rejected with a clear error $rejected, crashed $crashed, hung $hung"
  all_total=$((all_total + total)) all_read=$((all_read + read_ok)) all_rejected=$((all_rejected + rejected))
  all_crashed=$((all_crashed + crashed)) all_hung=$((all_hung + hung))
done
grep -E '^(HUNG|CRASHED|UNCLEAR)' "$log" || true
echo "files $all_total: read $all_read, rejected with a clear error $all_rejected, crashed $all_crashed, hung $all_hung"
echo "largest peak RSS: $((peak_kb / 1024)) MB ($peak_file)"
[ $all_crashed = 0 ] && [ $all_hung = 0 ]
