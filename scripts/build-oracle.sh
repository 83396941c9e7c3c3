#!/usr/bin/env bash
# Builds gopacket-oracle (../shared/oracle/main.go: gopacket 1.1.19's reassembly,
# printing every callback) into .build-oracle/, installing Go and Debian's gopacket
# source when missing (as root). ../shared may be read-only, so nothing is written there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${ORACLE_SRC:-$here/../shared/oracle/main.go}
out=$here/.build-oracle/gopacket-oracle
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
gopacket=/usr/share/gocode/src/github.com/google/gopacket
if ! command -v go >/dev/null || [ ! -d "$gopacket/reassembly" ] || [ ! -f /usr/include/pcap.h ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing golang-go golang-github-google-gopacket-dev libpcap-dev (for the gopacket oracle)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-github-google-gopacket-dev libpcap-dev >/dev/null
  else
    echo "the gopacket oracle needs: sudo apt-get install -y golang-go golang-github-google-gopacket-dev libpcap-dev" >&2
    exit 1
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/gopacket-oracle" "$(dirname "$out")"
cp "$src" "$work/src/gopacket-oracle/main.go"
(cd "$work/src/gopacket-oracle" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" go build -o "$out" .)
echo "built $out"
