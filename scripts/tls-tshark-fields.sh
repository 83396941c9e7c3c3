#!/usr/bin/env bash
# Writes what tshark reports for the TLS hellos of the ja4/ captures of ../shared
# (the ones whose expected/ output holds a JA4 over TCP), one line per hello:
#   capture  type(1|2)  src  srcport  dst  dstport  sni  ja3_full|ja3s_full  ja3|ja3s
# into Tests/Fixtures/tls/tshark-hellos.tsv, so that the suite compares flowdb's
# fingerprints with tshark's without needing tshark. Run by hand when tshark or the
# captures change.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$here/../shared/captures/ja4
out=$here/Tests/Fixtures/tls/tshark-hellos.tsv
mkdir -p "$(dirname "$out")"
: > "$out"
for json in "$dir"/expected/*.json; do
  grep -q -e '"JA4.1": "t' -e '"JA4": "t' "$json" || continue
  name=$(basename "$json" .json)
  tshark -r "$dir/$name" -Y 'tls.handshake.type == 1 || tls.handshake.type == 2' -T fields -E occurrence=f \
    -e tls.handshake.type -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
    -e tls.handshake.extensions_server_name -e tls.handshake.ja3_full -e tls.handshake.ja3 \
    -e tls.handshake.ja3s_full -e tls.handshake.ja3s 2>/dev/null |
  awk -F'\t' -v n="$name" 'BEGIN {OFS="\t"} {
      src = $2 != "" ? $2 : $3; dst = $5 != "" ? $5 : $6
      if ($1 == "1") print n, 1, src, $4, dst, $7, $8, $9, $10
      else print n, 2, src, $4, dst, $7, "", $11, $12 }' >> "$out"
done
wc -l < "$out"
