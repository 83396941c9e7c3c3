#!/usr/bin/env bash
# Lists the captures holding TCP that the oracle comparison runs on: the bundled
# sample, the fixtures, and every file of ../shared/captures in scripts/tcp-captures.txt.
here=$(cd "$(dirname "$0")/.." && pwd)
echo "$here/Samples/sample-loss.pcap"
ls "$here"/Tests/Fixtures/*.pcap "$here"/Tests/Fixtures/deviations/*.pcap
ls "$here"/Tests/Fixtures/malformed/{header-cut-syn,bad-tcp-options}.pcap
sed "s|^|$here/../shared/captures/|" "$here/scripts/tcp-captures.txt"
