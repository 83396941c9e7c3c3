#!/usr/bin/env bash
# Runs Tests/Gopacket/hostile_test.go inside a copy of Debian's gopacket 1.1.19
# reassembly package: the values HostileTCPTests.swift expects for conflicting
# retransmissions, the sequence wrap and closing with queued pages, from gopacket itself.
# Needs golang-go and golang-github-google-gopacket-dev (scripts/build-oracle.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/github.com/google"
cp -r /usr/share/gocode/src/github.com/google/gopacket "$work/src/github.com/google/"
cp "$here/Tests/Gopacket/hostile_test.go" "$work/src/github.com/google/gopacket/reassembly/"
cd "$work/src/github.com/google/gopacket/reassembly"
GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" go test -count 1 -run '^TestHostile' -v . | grep -E '^(---|ok|FAIL|PASS)'
