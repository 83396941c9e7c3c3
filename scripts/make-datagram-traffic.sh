#!/usr/bin/env bash
# make-datagram-traffic.sh OUT.pcap
# Real UDP, ICMP and DNS between two network namespaces joined by a veth pair (MTU 1500),
# captured on the client's side; OUT.pcap.json holds what was sent (see below).
#  - dnsmasq answering dig over UDP and TCP, IPv4 and IPv6: A, AAAA, a CNAME chain, MX, TXT,
#    and NXDOMAIN;
#  - UDP exchanges whose bytes are known (scripts/udp-peer.py: datagrams of 1 to 30,000
#    bytes, the larger ones IP fragments), IPv4 and IPv6;
#  - ping (3 requests) and ping -6 (2);
#  - a datagram to a closed port, answered by ICMP port unreachable;
#  - a QUIC handshake between two aioquic stacks (PyPI), SNI quic.flowdb.test, ALPN h3,
#    IPv4 and IPv6.
# Needs root, tcpdump, dnsmasq-base, dnsutils (dig), iputils-ping, openssl, python3-aioquic (pip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
S=fdbS$$ C=fdbC$$
cleanup() {
  for p in ${dns:-} ${udp4:-} ${udp6:-} ${quic4:-} ${quic6:-} ${dump:-}; do kill "$p" 2>/dev/null || true; done
  sleep 0.2; ip netns del $S 2>/dev/null; ip netns del $C 2>/dev/null; true
}
trap cleanup EXIT
ip netns add $S; ip netns add $C
ip link add va netns $S type veth peer name vb netns $C
for ns in $S $C; do ip -n $ns link set lo up; done
ip -n $S link set va mtu 1500 up; ip -n $C link set vb mtu 1500 up
ip -n $S addr add 10.77.0.1/24 dev va; ip -n $C addr add 10.77.0.2/24 dev vb
ip -n $S addr add fd77::1/64 dev va nodad; ip -n $C addr add fd77::2/64 dev vb nodad
ip netns exec $S ethtool -K va tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $C ethtool -K vb tso off gso off gro off >/dev/null 2>&1 || true
truth=$(mktemp)
work=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 3650 -subj "/CN=quic.flowdb.test" 2>/dev/null
ip netns exec $S dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --interface=va --port=53 \
  --local=/flowdb.test/ --host-record=www.flowdb.test,10.77.0.80,fd77::80 \
  --cname=alias.flowdb.test,www.flowdb.test --cname=deep.flowdb.test,alias.flowdb.test \
  --mx-host=flowdb.test,mail.flowdb.test,10 --host-record=mail.flowdb.test,10.77.0.25 \
  --txt-record=flowdb.test,"v=spf1 -all","flowdb test record" --log-facility=/dev/null & dns=$!
ip netns exec $S python3 "$here/udp-peer.py" server 10.77.0.1 7777 & udp4=$!
ip netns exec $S python3 "$here/udp-peer.py" server fd77::1 7777 & udp6=$!
ip netns exec $S python3 "$here/quic-peer.py" server 10.77.0.1 4433 "$work/cert.pem" "$work/key.pem" & quic4=$!
ip netns exec $S python3 "$here/quic-peer.py" server fd77::1 4433 "$work/cert.pem" "$work/key.pem" & quic6=$!
ip netns exec $C tcpdump -q -i vb -s 0 -B 65536 -w "$out" 'not arp and not (icmp6 and (ip6[40] >= 133 and ip6[40] <= 136))' \
  2>"$out.tcpdump.log" & dump=$!
sleep 1.5
q() { ip netns exec $C dig +tries=1 +time=2 "$@" >/dev/null; }
q @10.77.0.1 www.flowdb.test A
q @10.77.0.1 www.flowdb.test AAAA
q @10.77.0.1 deep.flowdb.test A
q @10.77.0.1 flowdb.test MX
q @10.77.0.1 flowdb.test TXT
q @10.77.0.1 nothere.flowdb.test A
q @10.77.0.1 +tcp www.flowdb.test A
q @fd77::1 www.flowdb.test AAAA
q @fd77::1 +tcp alias.flowdb.test AAAA
ip netns exec $C python3 "$here/udp-peer.py" client 10.77.0.1 7777 "$truth"
ip netns exec $C python3 "$here/udp-peer.py" client fd77::1 7777 "$truth"
ip netns exec $C ping -q -c 3 -i 0.2 10.77.0.1 >/dev/null
ip netns exec $C ping -6 -q -c 2 -i 0.2 fd77::1 >/dev/null
ip netns exec $C python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"anyone there?", ("10.77.0.1", 9999))'
ip netns exec $C python3 "$here/quic-peer.py" client 10.77.0.1 4433 quic.flowdb.test h3
ip netns exec $C python3 "$here/quic-peer.py" client fd77::1 4433 quic6.flowdb.test flowdb-test
sleep 1
kill -INT $dump; wait $dump 2>/dev/null || true; dump=
grep -q "^0 packets dropped by kernel" "$out.tcpdump.log" || { echo "capture dropped packets:"; cat "$out.tcpdump.log"; exit 1; }
python3 - "$truth" "$out.json" <<'PY'
import json, sys
udp = [json.loads(line) for line in open(sys.argv[1])]
json.dump({"udp": udp,
           "pings": [{"client": "10.77.0.2", "server": "10.77.0.1", "requests": 3, "replies": 3},
                     {"client": "fd77::2", "server": "fd77::1", "requests": 2, "replies": 2}],
           "closed_port": {"client": "10.77.0.2", "server": "10.77.0.1", "port": 9999, "payload": "anyone there?"},
           "quic": [{"client": "10.77.0.2", "server": "10.77.0.1", "port": 4433, "sni": "quic.flowdb.test", "alpn": ["h3"]},
                    {"client": "fd77::2", "server": "fd77::1", "port": 4433, "sni": "quic6.flowdb.test", "alpn": ["flowdb-test"]}]},
          open(sys.argv[2], "w"), indent=1)
PY
rm -rf "$truth" "$work" "$out.tcpdump.log"
echo "$out: $(stat -c %s "$out") bytes"
