#!/usr/bin/env bash
# Reads every capture under the given folders (default: ../shared/captures) with
# `flowdb inspect` and counts the outcomes: read to the end, rejected with an
# error (exit 1, one line on stderr), crashed (any other exit), hung (timeout).
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
read_ok=0 rejected=0 crashed=0 hung=0 total=0
while IFS= read -r -d '' f; do
  total=$((total + 1))
  err=$(timeout 30 "$bin" inspect --limit 0 "$f" 2>&1 >/dev/null); rc=$?
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
done < <(find "${dirs[@]}" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
grep -E '^(HUNG|CRASHED|UNCLEAR)' "$log" || true
echo "files $total: read $read_ok, rejected with a clear error $rejected, crashed $crashed, hung $hung"
[ $crashed = 0 ] && [ $hung = 0 ]
