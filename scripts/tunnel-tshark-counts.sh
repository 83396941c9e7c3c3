#!/usr/bin/env bash
# tunnel-tshark-counts.sh CAPTURE...
# For every capture (with its ground truth CAPTURE.json beside it, as make-tunnel-traffic.sh and
# ../shared/realtraffic/capture.sh write), prints
#   NAME tshark-tcp-conversations N truth-connections M
# N: the rows of `tshark -q -z conv,tcp` (tshark decodes the tunnels and reassembles IP fragments,
# so these are the inner TCP conversations); M: the connections in the truth file.
# Exits 1 if any N differs from its M. Needs tshark and python3.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CAPTURE..." >&2; exit 2; }
rc=0
for cap; do
  name=$(basename "$cap"); name=${name%.pcap}
  n=$(tshark -r "$cap" -q -z conv,tcp 2>/dev/null | grep -c '<->' || true)
  if [ -r "$cap.json" ]; then
    m=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["flows"]))' "$cap.json")
  else
    m=-
  fi
  echo "$name tshark-tcp-conversations $n truth-connections $m"
  [ "$n" = "$m" ] || rc=1
done
exit $rc
