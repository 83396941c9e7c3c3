#!/usr/bin/env bash
# Writes what tshark reports for the SSH captures of ../shared/captures/ja4, one
# line per packet carrying an identification line or a KEXINIT:
#   capture  src  srcport  dst  dstport  protocol  hassh_algorithms  hassh  hasshserver_algorithms  hasshserver
# into Tests/Fixtures/ssh/tshark-ssh.tsv, so that the suite compares flowdb's SSH
# fields with tshark's without needing tshark. Run by hand when they change.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$here/../shared/captures/ja4
out=$here/Tests/Fixtures/ssh/tshark-ssh.tsv
mkdir -p "$(dirname "$out")"
: > "$out"
for cap in "$dir"/ssh*; do
  name=$(basename "$cap")
  tshark -r "$cap" -Y 'ssh.protocol || ssh.kex.hassh || ssh.kex.hasshserver' -T fields -E occurrence=f \
    -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e ssh.protocol \
    -e ssh.kex.hassh_algorithms -e ssh.kex.hassh -e ssh.kex.hasshserver_algorithms -e ssh.kex.hasshserver 2>/dev/null |
  awk -F'\t' -v n="$name" 'BEGIN {OFS="\t"} {
      src = $1 != "" ? $1 : $2; dst = $4 != "" ? $4 : $5
      print n, src, $3, dst, $6, $7, $8, $9, $10, $11 }' >> "$out"
done
wc -l < "$out"
