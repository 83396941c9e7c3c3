#!/usr/bin/env bash
# Where udp-mix.pcap's time goes: ingests its bulk datagrams and its DNS exchanges
# apart (split by tcpdump), then measures what SQLite alone takes to insert the DNS
# half's rows (INSERT ... SELECT from the finished archive into an empty one: no
# Swift, no parsing, one statement per table), the floor of any row-per-flow design.
#   usage: scripts/udp-floor.sh FLOWDB [bench-data/udp-mix.pcap]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
flowdb=$1 mix=${2:-$here/bench-data/udp-mix.pcap}
out=${BENCH_OUT:-/dev/shm/flowdb-floor}
mkdir -p "$out"; rm -f "$out"/*
tcpdump -r "$mix" -w "$out/bulk.pcap" 'not port 53' 2>/dev/null
tcpdump -r "$mix" -w "$out/dns.pcap" 'port 53' 2>/dev/null
for part in bulk dns; do
  cat "$out/$part.pcap" > /dev/null
  s=$(date +%s%N); "$flowdb" ingest --quiet --db "$out/$part.sqlite" "$out/$part.pcap"; e=$(date +%s%N)
  echo "$part: $(stat -c %s "$out/$part.pcap") bytes in $(( (e - s) / 1000000 )) ms," \
       "$(sqlite3 "$out/$part.sqlite" 'SELECT count(*) FROM flow') flows"
done
sqlite3 "$out/floor.sqlite" < "$here/schema/current.sql"
sqlite3 "$out/floor.sqlite" <<SQL
ATTACH '$out/dns.sqlite' AS done;
PRAGMA foreign_keys = OFF;
.timer on
BEGIN; INSERT INTO main.capture SELECT * FROM done.capture; COMMIT;
BEGIN; INSERT INTO main.flow SELECT * FROM done.flow; COMMIT;
BEGIN; INSERT INTO main.payload SELECT * FROM done.payload; COMMIT;
BEGIN; INSERT INTO main.delivery_block SELECT * FROM done.delivery_block; COMMIT;
BEGIN; INSERT INTO main.dns SELECT * FROM done.dns; COMMIT;
SQL
rm -rf "$out"
