#!/usr/bin/env bash
# flood-test.sh: ingests bench-data/flood.pcap (scripts/make-flood.py: 100,000
# concurrent TCP connections, each holding out-of-order data) with the release
# flowdb, with default options and with --max-pages-total at a few values, and
# prints peak RSS (GNU time), wall time and the archive's checks as a table.
# Fails when the default run needs 1 GB or more, or an archive is not as expected.
#   LIMITS="0 1000 10000 100000"  --max-pages-total values (0: default options)
#   EXTRA="--flush-every 0"       more ingest options for every run
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
flood=${FLOOD:-bench-data/flood.pcap}
limits=${LIMITS:-"0 1000 10000 100000"}
extra=${EXTRA:-}
connections=100000

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  else echo "flood-test: needs GNU time: sudo apt-get install -y time"; exit 1; fi
fi
swift build -c release --product flowdb >/dev/null
flowdb=.build/release/flowdb
if [ ! -s "$flood" ]; then
  mkdir -p "$(dirname "$flood")"
  python3 scripts/make-flood.py "$flood" --connections $connections
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { sqlite3 "$1" "$2"; }
status=0
printf '%-24s %9s %7s %9s %7s %8s %7s %10s %10s %9s\n' \
  options "peak RSS" wall integrity flows complete gaps "c2s bytes" "s2c bytes" "overlap"
for limit in $limits; do
  db=$work/flood-$limit.sqlite
  args=()
  label=default
  if [ "$limit" != 0 ]; then args=(--max-pages-total "$limit"); label="--max-pages-total $limit"; fi
  # shellcheck disable=SC2086
  /usr/bin/time -v -o "$work/time" "$flowdb" ingest --quiet --db "$db" "${args[@]}" $extra "$flood" >"$work/out"
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/time")
  integrity=$(q "$db" 'PRAGMA integrity_check')
  flows=$(q "$db" 'SELECT count(*) FROM flow')
  complete=$(q "$db" 'SELECT count(*) FROM flow WHERE complete = 1')
  gaps=$(q "$db" 'SELECT count(*) FROM gap')
  c2s=$(q "$db" 'SELECT sum(c2s_bytes) FROM flow')
  s2c=$(q "$db" 'SELECT sum(s2c_bytes) FROM flow')
  overlap=$(q "$db" 'SELECT sum(overlap_bytes) FROM delivery')
  printf '%-24s %6d MB %7s %9s %7d %8d %7d %10d %10d %9d\n' \
    "$label" $((rss_kb / 1024)) "$wall" "$integrity" "$flows" "$complete" "$gaps" "$c2s" "$s2c" "$overlap"
  if [ "$integrity" != ok ] || [ "$flows" != $connections ] || [ "$complete" != $connections ]; then
    echo "flood-test: unexpected archive for $label"; status=1
  fi
  if [ "$limit" = 0 ]; then
    # Every connection: 600 client bytes after one 200-byte gap, 200 server bytes.
    if [ "$gaps" != $connections ] || [ "$c2s" != $((600 * connections)) ] || [ "$s2c" != $((200 * connections)) ]; then
      echo "flood-test: default run lost or invented bytes"; status=1
    fi
    if [ "$rss_kb" -ge $((1024 * 1024)) ]; then
      echo "flood-test: default options need 1 GB or more ($((rss_kb / 1024)) MB)"; status=1
    fi
  fi
  rm -f "$db" "$db".*
done
exit $status
