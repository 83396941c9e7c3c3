#!/usr/bin/env bash
# Seeds Fuzz/Corpus/applications with the first 16 KB of each direction of every
# flow of the ../shared/captures/ja4 captures (TLS, HTTP, SSH), read back through
# flowdb (release build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
flowdb=${FLOWDB:-$here/.build/release/flowdb}
out=$here/Fuzz/Corpus/applications
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for cap in "$here"/../shared/captures/ja4/*.pcap*; do
  name=$(basename "$cap")
  "$flowdb" ingest --quiet --db "$work/$name.sqlite" "$cap" 2>/dev/null || true
  for id in $("$flowdb" query --db "$work/$name.sqlite" --limit 0 --json 2>/dev/null | sed -n 's/^{"id":\([0-9]*\),.*/\1/p'); do
    for dir in client server; do
      "$flowdb" query --db "$work/$name.sqlite" --flow "$id" --show raw --dir "$dir" 2>/dev/null | head -c 16384 > "$work/seed" || true
      [ -s "$work/seed" ] && cp "$work/seed" "$out/$name-$id-$dir"
    done
  done
done
ls "$out" | wc -l
