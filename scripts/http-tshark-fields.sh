#!/usr/bin/env bash
# Writes what tshark reports for every HTTP request and response of the HTTP
# captures of ../shared/captures (ja4/http*, https-connect, tcpdump-tests/*http*),
# one line per message, in capture order:
#   capture  src  srcport  dst  dstport  method  uri  version  host  user_agent
#   referer  code  phrase  content_type  content_length
# into Tests/Fixtures/http/tshark-http.tsv, so that the suite compares flowdb's
# HTTP fields with tshark's without needing tshark. Run by hand when they change.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
caps=$here/../shared/captures
out=$here/Tests/Fixtures/http/tshark-http.tsv
mkdir -p "$(dirname "$out")"
: > "$out"
for cap in "$caps"/ja4/http1.pcapng "$caps"/ja4/http1-with-cookies.pcapng "$caps"/ja4/http-empty-useragent.pcap \
           "$caps"/ja4/https-connect.pcap $(ls "$caps"/tcpdump-tests/*http*.pcap 2>/dev/null); do
  name=${cap#"$caps"/}
  tshark -r "$cap" -Y 'http.request || http.response' -T fields -E occurrence=f \
    -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
    -e http.request.method -e http.request.uri -e http.request.version -e http.response.version -e http.host \
    -e http.user_agent -e http.referer -e http.response.code -e http.response.phrase -e http.content_type \
    -e http.content_length 2>/dev/null |
  awk -F'\t' -v n="$name" 'BEGIN {OFS="\t"} {
      src = $1 != "" ? $1 : $2; dst = $4 != "" ? $4 : $5; version = $9 != "" ? $9 : $10
      print n, src, $3, dst, $6, $7, $8, version, $11, $12, $13, $14, $15, $16, $17 }' >> "$out"
done
wc -l < "$out"
