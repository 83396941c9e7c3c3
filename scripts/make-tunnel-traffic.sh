#!/usr/bin/env bash
# make-tunnel-traffic.sh OUTDIR [PLAN]
# Real TCP traffic (../shared/realtraffic/peer.py, unchanged) through Linux-native
# encapsulations, captured with tcpdump ON THE UNDERLAY veth so the capture holds the
# outer headers. For every capture NAME it writes OUTDIR/NAME.pcap and OUTDIR/NAME.pcap.json
# (the ground truth peer.py writes: per connection the endpoints, fin|rst, and the length and
# sha256 of each direction's bytes; vxlan-two-vni adds "vni" to every flow).
#
# Every capture has its own namespaces (fdbT<pid>-*), joined by a veth underlay
# 192.0.2.1/24 + 2001:db8::1/64 (server side, "ua") <-> 192.0.2.2/24 + 2001:db8::2/64
# (client side, "ub"); inner addresses are 10.77.0.1 / 10.77.0.2 and fd77::1 / fd77::2;
# the server listens on port 9000; offloads (tx checksum, TSO, GSO, GRO) are off on every veth
# and tunnel device, so the captures have wire-sized packets and valid checksums.
# The capture is taken on the client's underlay veth "ub" (no capture filter).
#
# Encapsulations whose device or route the kernel refuses are skipped with the kernel's
# error message, and listed at the end. So are the fragment captures when the capture does
# not really hold fragments (checked with tshark when it is installed).
#
# PLAN: a plan.py plan name (clean, many, ...) for bigger captures; by default a small plan
# of 3 concurrent connections (one ending in RST) keeps each capture far below 1 MB.
# ONLY="vxlan ipv4-frag ..." makes only the named captures; KEEP_SKIPPED=1 keeps a capture that
# failed its checks as NAME.pcap.skipped.
# Needs root, iproute2, tcpdump, ethtool, python3 (tshark for the fragment checks).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [PLAN]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
rt=${REALTRAFFIC:-$here/../shared/realtraffic}
[ -r "$rt/peer.py" ] || { echo "no peer.py in $rt (set REALTRAFFIC)" >&2; exit 2; }
mkdir -p "$1"; out=$(cd "$1" && pwd)
plan_name=${2:-}
P=fdbT$$
tmp=$(mktemp -d "/tmp/$P.XXXXXX")
nss=() srvs=() dump='' skipped=() made=()

reset() { # stop this capture's processes and remove its namespaces
  local p n
  if [ -n "$dump" ]; then kill -INT "$dump" 2>/dev/null || true; wait "$dump" 2>/dev/null || true; fi
  dump=
  for p in "${srvs[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  srvs=()
  for n in "${nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  nss=()
}
cleanup() { set +e; reset; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
skip() { # NAME REASON
  local why=${2//$'\n'/; }
  skipped+=("$1: $why"); echo "SKIP $1: $why" >&2
  if [ -n "${KEEP_SKIPPED:-}" ]; then mv -f "$out/$1.pcap" "$out/$1.pcap.skipped" 2>/dev/null || true
  else rm -f "$out/$1.pcap"; fi
  rm -f "$out/$1.pcap.json"
  reset
}
X() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }      # run in namespace
L() { local n=$1; shift; ip -n "$P-$n" "$@"; }              # ip command in namespace
nooff() { X "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true; }
mkns() {
  local n
  for n; do
    ip netns add "$P-$n"; nss+=("$P-$n")
    L "$n" link set lo up
    X "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.tcp_syn_retries=3
  done
}
veth() { # NS1 DEV1 NS2 DEV2 MTU: a veth pair, up, offloads off
  ip link add "$2" netns "$P-$1" mtu "$5" type veth peer name "$4" netns "$P-$3" mtu "$5"
  L "$1" link set "$2" up; L "$3" link set "$4" up
  nooff "$1" "$2"; nooff "$3" "$4"
}
underlay() { # A B [MTU]: ua in A (192.0.2.1, 2001:db8::1), ub in B (.2, ::2); no IPv6 below 1280
  veth "$1" ua "$2" ub "${3:-1500}"
  L "$1" addr add 192.0.2.1/24 dev ua; L "$2" addr add 192.0.2.2/24 dev ub
  if [ "${3:-1500}" -ge 1280 ]; then
    L "$1" addr add 2001:db8::1/64 dev ua nodad; L "$2" addr add 2001:db8::2/64 dev ub nodad
  fi
}
inner_addrs() { # A B DEV FAMILIES(4|6|46) [PREFIXLEN4 PREFIXLEN6]
  local l4=${5:-24} l6=${6:-64}
  if [[ $4 == *4* ]]; then L "$1" addr add 10.77.0.1/"$l4" dev "$3"; L "$2" addr add 10.77.0.2/"$l4" dev "$3"; fi
  if [[ $4 == *6* ]]; then L "$1" addr add fd77::1/"$l6" dev "$3" nodad; L "$2" addr add fd77::2/"$l6" dev "$3" nodad; fi
}
server_addr() { [ "$1" = 6 ] && echo fd77::1 || echo 10.77.0.1; }

cap_start() { # NAME NS DEV: tcpdump on the underlay, no filter (outer headers, ARP/NDP too)
  local _
  ip netns exec "$P-$2" tcpdump -Z root -n -i "$3" -s 0 -B 65536 -U -w "$out/$1.pcap" 2>"$tmp/$1.tcpdump.log" &
  dump=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/$1.tcpdump.log" && return 0; sleep 0.1; done
  echo "tcpdump did not start:" >&2; cat "$tmp/$1.tcpdump.log" >&2; exit 1
}
cap_stop() { # NAME
  sleep 1; kill -INT "$dump"; wait "$dump" 2>/dev/null || true; dump=
  grep -q "^0 packets dropped by kernel" "$tmp/$1.tcpdump.log" || {
    echo "$1: capture dropped packets:" >&2; cat "$tmp/$1.tcpdump.log" >&2; exit 1; }
}
srv_start() { # NS ADDR
  local _
  ip netns exec "$P-$1" python3 "$rt/peer.py" server "$2" 9000 & srvs+=($!)
  for _ in $(seq 100); do
    [ -n "$(X "$1" ss -Hltn "sport = :9000")" ] && return 0; sleep 0.1
  done
  echo "server in $1 did not listen on $2" >&2; exit 1
}
client() { # NS ADDR PLAN TRUTH: fails unless every planned connection is in the truth file
  timeout 300 ip netns exec "$P-$1" python3 "$rt/peer.py" client "$2" 9000 "$3" "$4" || return 1
  python3 - "$3" "$4" <<'EOF'
import json, sys
plan, flows = json.load(open(sys.argv[1]))["conns"], json.load(open(sys.argv[2]))["flows"]
bad = sum(f is None for f in flows)
if len(flows) != len(plan) or bad:
    sys.exit(f"{bad} of {len(plan)} connections failed")
EOF
}
traffic() { # NAME SERVER-NS CLIENT-NS FAMILY [CAPTURE-NS CAPTURE-DEV]
  local addr; addr=$(server_addr "$4")
  srv_start "$2" "$addr"
  cap_start "$1" "${5:-$3}" "${6:-ub}"
  if ! client "$3" "$addr" "$tmp/plan.json" "$out/$1.pcap.json" 2>"$tmp/$1.client.log"; then
    skip "$1" "no traffic through the tunnel: $(tail -n 1 "$tmp/$1.client.log")"; return 0
  fi
  cap_stop "$1"
  made+=("$1"); echo "$1: $(stat -c %s "$out/$1.pcap") bytes" >&2
  reset
}
frames() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# --- a tunnel device on each side ---------------------------------------------------------
# dev_tunnel NAME UNDERLAY(4|6) INNER(4|6) CARRIES(4|6|46) 'ip link add t0 ARGS' [TUNNEL-MTU]
# ARGS may use @L (local underlay address), @R (remote) and @D (underlay device).
dev_tunnel() {
  local name=$1 uf=$2 inf=$3 carries=$4 tmpl=$5 mtu=${6:-} n la ra dev args err
  want "$name" || return 0
  mkns A B; underlay A B
  for n in A B; do
    if [ $n = A ]; then dev=ua; else dev=ub; fi
    if [ "$uf" = 6 ]; then la=2001:db8::1 ra=2001:db8::2; else la=192.0.2.1 ra=192.0.2.2; fi
    [ $n = B ] && { local t=$la; la=$ra; ra=$t; }
    args=${tmpl//@L/$la}; args=${args//@R/$ra}; args=${args//@D/$dev}
    # shellcheck disable=SC2086
    if ! err=$(L $n link add t0 $args 2>&1); then skip "$name" "ip link add t0 $args: $err"; return 0; fi
    [ -n "$mtu" ] && L $n link set t0 mtu "$mtu"
    L $n link set t0 up; nooff $n t0
  done
  inner_addrs A B t0 "$carries"
  traffic "$name" A B "$inf"
}

# --- SRv6 (seg6 lwtunnel): IPv4/IPv6 in IPv6, with an SRH (encap) or without (encap.red) ---
# The inner addresses are on lo; the encap routes send them to a SID on the other side, whose
# seg6local route decapsulates: End.DX4 for IPv4; End.DT6 (lookup in the local table) for IPv6,
# since End.DX6 will not deliver to a local address.
srv6() { # NAME MODE INNER(4|6)
  local name=$1 mode=$2 f=$3 err
  want "$name" || return 0
  mkns A B; underlay A B
  inner_addrs A B lo 46 32 128
  L A -6 route add 2001:db8:b::/48 via 2001:db8::2 dev ua
  L B -6 route add 2001:db8:a::/48 via 2001:db8::1 dev ub
  X A ip sr tunsrc set 2001:db8::1; X B ip sr tunsrc set 2001:db8::2
  if [ "$f" = 4 ]; then
    if ! err=$(L A route add 2001:db8:a::4/128 encap seg6local action End.DX4 nh4 10.77.0.1 dev ua 2>&1 &&
               L B route add 2001:db8:b::4/128 encap seg6local action End.DX4 nh4 10.77.0.2 dev ub 2>&1 &&
               L A route add 10.77.0.2/32 encap seg6 mode "$mode" segs 2001:db8:b::4 dev ua src 10.77.0.1 2>&1 &&
               L B route add 10.77.0.1/32 encap seg6 mode "$mode" segs 2001:db8:a::4 dev ub src 10.77.0.2 2>&1); then
      skip "$name" "$err"; return 0; fi
  else
    if ! err=$(L A -6 route add 2001:db8:a::6/128 encap seg6local action End.DT6 table 255 dev ua 2>&1 &&
               L B -6 route add 2001:db8:b::6/128 encap seg6local action End.DT6 table 255 dev ub 2>&1 &&
               L A -6 route add fd77::2/128 encap seg6 mode "$mode" segs 2001:db8:b::6 dev ua src fd77::1 2>&1 &&
               L B -6 route add fd77::1/128 encap seg6 mode "$mode" segs 2001:db8:a::6 dev ub src fd77::2 2>&1); then
      skip "$name" "$err"; return 0; fi
  fi
  traffic "$name" A B "$f"
}

# --- VXLAN-GPE (UDP 4790, no inner Ethernet): external vxlan device + "encap ip" routes ---
vxlan_gpe() {
  local name=vxlan-gpe err
  want $name || return 0
  mkns A B; underlay A B
  if ! err=$(L A link add t0 type vxlan gpe external dstport 4790 2>&1 &&
             L B link add t0 type vxlan gpe external dstport 4790 2>&1); then
    skip $name "$err"; return 0; fi
  # without a lower device the MTU would be 1500 and the first segments' outer packets fragments
  L A link set t0 mtu 1450 up; L B link set t0 mtu 1450 up; nooff A t0; nooff B t0
  inner_addrs A B t0 4 32
  if ! err=$(L A route add 10.77.0.2/32 encap ip id 4242 dst 192.0.2.2 dev t0 2>&1 &&
             L B route add 10.77.0.1/32 encap ip id 4242 dst 192.0.2.1 dev t0 2>&1); then
    skip $name "$err"; return 0; fi
  traffic $name A B 4
}

# --- MPLS over Ethernet: label 100 towards the server, 200 back, popped into lo ---
mpls() {
  local name=mpls err mp
  want $name || return 0
  if command -v modprobe >/dev/null; then mp=$(modprobe mpls_router mpls_iptunnel 2>&1) || true
  else mp="modprobe: not installed"; fi
  mkns A B; underlay A B
  inner_addrs A B lo 4 32
  if ! err=$(L B route add 10.77.0.1/32 encap mpls 100 via inet 192.0.2.1 dev ub src 10.77.0.2 2>&1); then
    skip $name "ip route add ... encap mpls 100: $err; ${mp:-modprobe mpls_router mpls_iptunnel: ok}"
    return 0; fi
  L B route del 10.77.0.1/32
  if ! err=$(X A sysctl -qw net.mpls.platform_labels=1000 net.mpls.conf.ua.input=1 2>&1 &&
             X B sysctl -qw net.mpls.platform_labels=1000 net.mpls.conf.ub.input=1 2>&1 &&
             L B route add 10.77.0.1/32 encap mpls 100 via inet 192.0.2.1 dev ub src 10.77.0.2 2>&1 &&
             L A route add 10.77.0.2/32 encap mpls 200 via inet 192.0.2.2 dev ua src 10.77.0.1 2>&1 &&
             L A -M route add 100 dev lo 2>&1 && L B -M route add 200 dev lo 2>&1); then
    skip $name "$err"; return 0; fi
  traffic $name A B 4
}

# --- VXLAN whose outer packets the kernel fragments: underlay MTU below the vxlan MTU, df unset.
# The inner routes' MTU is locked so that the vxlan PMTU check does not shrink the inner TCP MSS.
# (Over an IPv6 underlay, Linux 6.18 does not fragment: ip6_fragment fails (Ip6FragFails), the
# VTEP sends itself ICMPv6 Packet Too Big and the inner TCP stalls; so there is no vxlan6-frag.)
vxlan_frag() { # NAME UNDERLAY(4|6) UNDERLAY-MTU VXLAN-MTU
  local name=$1 uf=$2 umtu=$3 vmtu=$4 n la ra err df=''
  want "$name" || return 0
  mkns A B; underlay A B "$umtu"
  [ "$uf" = 4 ] && df="df unset"
  for n in A B; do
    if [ "$uf" = 6 ]; then la=2001:db8::1 ra=2001:db8::2; else la=192.0.2.1 ra=192.0.2.2; fi
    [ $n = B ] && { local t=$la; la=$ra; ra=$t; }
    # shellcheck disable=SC2086
    if ! err=$(L $n link add t0 type vxlan id 4242 local $la remote $ra dstport 4789 $df 2>&1); then
      skip "$name" "$err"; return 0; fi
    L $n link set t0 mtu "$vmtu" up; nooff $n t0
  done
  inner_addrs A B t0 "$uf"
  if [ "$uf" = 4 ]; then
    L A route replace 10.77.0.0/24 dev t0 src 10.77.0.1 mtu lock "$vmtu"
    L B route replace 10.77.0.0/24 dev t0 src 10.77.0.2 mtu lock "$vmtu"
  else
    L A -6 route replace fd77::/64 dev t0 mtu lock "$vmtu"
    L B -6 route replace fd77::/64 dev t0 mtu lock "$vmtu"
  fi
  traffic "$name" A B "$uf"
  check_frags "$name" "$uf"
}
check_frags() { # NAME FAMILY: the capture must hold fragments, else it is dropped
  local fr f=$out/$1.pcap
  [[ " ${made[*]} " == *" $1 "* ]] || return 0
  command -v tshark >/dev/null || { echo "$1: no tshark, fragments not checked" >&2; return 0; }
  if [ "$2" = 4 ]; then fr=$(frames "$f" "ip.flags.mf==1"); else fr=$(frames "$f" "ipv6.fraghdr.more==1"); fi
  if [ "$fr" -gt 0 ]; then echo "$1: $fr first/middle fragments" >&2; return 0; fi
  local why="the capture holds no IPv$2 fragments"
  [ "$2" = 6 ] && why="$why: the largest frame is $(tshark -r "$f" -Y tcp -T fields -e frame.len 2>/dev/null | sort -n | tail -n 1) bytes (the senders lowered their MSS on the routers' ICMPv6 Packet Too Big; IPv6 routers never fragment and Linux TCP never sends a segment above its path MTU)"
  [ "$2" = 4 ] && why="$why ($(frames "$f" "icmp.type==3 && icmp.code==4") ICMP fragmentation-needed in it)"
  local m keep=()
  for m in "${made[@]}"; do [ "$m" = "$1" ] || keep+=("$m"); done
  made=("${keep[@]}")
  skip "$1" "$why"
}

# --- plain fragments of TCP, no tunnel: C -(1500)- R1 -(small MTU)- R2 -(1500)- S.
# Both ends advertise MSS 1460; with net.ipv4.ip_no_pmtu_disc=1 they send without DF and R1/R2
# fragment what does not fit the middle link. The capture is taken on the middle link (in R1).
# IPv6 has no such mode (routers never fragment): the same setup is tried and checked.
plain_frag() { # NAME FAMILY MIDDLE-MTU
  local name=$1 f=$2 mtu=$3 addr
  want "$name" || return 0
  mkns C R1 R2 S
  veth C c R1 r1c 1500; veth R1 r1m R2 r2m "$mtu"; veth R2 r2s S s 1500
  X R1 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  X R2 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  X C sysctl -qw net.ipv4.ip_no_pmtu_disc=1; X S sysctl -qw net.ipv4.ip_no_pmtu_disc=1
  if [ "$f" = 4 ]; then
    L C addr add 10.77.1.2/24 dev c; L R1 addr add 10.77.1.1/24 dev r1c
    L R1 addr add 10.77.2.1/24 dev r1m; L R2 addr add 10.77.2.2/24 dev r2m
    L R2 addr add 10.77.3.1/24 dev r2s; L S addr add 10.77.3.2/24 dev s
    L C route add default via 10.77.1.1; L S route add default via 10.77.3.1
    L R1 route add 10.77.3.0/24 via 10.77.2.2; L R2 route add 10.77.1.0/24 via 10.77.2.1
    addr=10.77.3.2
  else
    L C addr add fd77:1::2/64 dev c nodad; L R1 addr add fd77:1::1/64 dev r1c nodad
    L R1 addr add fd77:2::1/64 dev r1m nodad; L R2 addr add fd77:2::2/64 dev r2m nodad
    L R2 addr add fd77:3::1/64 dev r2s nodad; L S addr add fd77:3::2/64 dev s nodad
    L C -6 route add default via fd77:1::1; L S -6 route add default via fd77:3::1
    L R1 -6 route add fd77:3::/64 via fd77:2::2; L R2 -6 route add fd77:1::/64 via fd77:2::1
    addr=fd77:3::2
  fi
  srv_start S "$addr"
  cap_start "$name" R1 r1m
  if ! client C "$addr" "$tmp/plan.json" "$out/$name.pcap.json" 2>"$tmp/$name.client.log"; then
    skip "$name" "no traffic: $(tail -n 1 "$tmp/$name.client.log")"; return 0; fi
  cap_stop "$name"; made+=("$name"); echo "$name: $(stat -c %s "$out/$name.pcap") bytes" >&2
  reset
  check_frags "$name" "$f"
}

# --- two tenants, VNI 100 and VNI 200, between the same two VTEPs, with the same inner addresses
# and ports and different bytes. The VTEP namespaces UA/UB hold the underlay and the vxlan
# sockets; each vxlan device is moved into its tenant's namespace (T100A, T100B, T200A, T200B).
# Both client namespaces use the same ephemeral port range, exactly as many ports as the plan
# has connections, so the two tenants' connections use the same 4-tuples. Tenant 200's plan has
# an extra empty first round in every connection, so its byte streams differ from tenant 100's
# (peer.py seeds the bytes with the connection index and round). The two clients run at once,
# and pause 0.5 s after every round, so the same 4-tuple is open in both tenants at once.
two_vni() {
  local name=vxlan-two-vni v n side err nconn c100 c200 ok=1
  want $name || return 0
  mkns UA UB T100A T100B T200A T200B; underlay UA UB
  for v in 100 200; do
    for side in A B; do
      if [ $side = A ]; then n="192.0.2.1 remote 192.0.2.2"; else n="192.0.2.2 remote 192.0.2.1"; fi
      # shellcheck disable=SC2086
      if ! err=$(L U$side link add vx$v type vxlan id $v local $n dstport 4789 2>&1 &&
                 L U$side link set vx$v netns "$P-T$v$side" 2>&1); then
        skip $name "$err"; return 0; fi
      L T$v$side link set vx$v mtu 1450 up; nooff T$v$side vx$v   # 1500 without a lower device
    done
    inner_addrs T${v}A T${v}B vx$v 46
  done
  # connect() uses an even number of ports of the range (it leaves one of an odd-sized range
  # unused), so both tenants get a plan with an even number of connections (one small
  # connection is added to an odd plan) and exactly that many ephemeral ports.
  nconn=$(python3 - "$tmp/plan.json" "$tmp/plan100.json" "$tmp/plan200.json" <<'EOF'
import copy, json, sys
p = json.load(open(sys.argv[1]))
if len(p["conns"]) % 2:
    p["conns"].append({"rounds": [[100, 100]], "end": "fin"})
for c in p["conns"]:
    c.setdefault("pause", 0.5)   # keeps both tenants' connections open at the same time
json.dump(p, open(sys.argv[2], "w"))
q = copy.deepcopy(p)
for c in q["conns"]:
    c["rounds"] = [[0, 0]] + c["rounds"]
json.dump(q, open(sys.argv[3], "w"))
print(len(p["conns"]))
EOF
)
  for v in 100 200; do X T${v}B sysctl -qw net.ipv4.ip_local_port_range="40000 $((40000 + nconn - 1))"; done
  srv_start T100A 10.77.0.1; srv_start T200A 10.77.0.1
  cap_start $name UB ub
  client T100B 10.77.0.1 "$tmp/plan100.json" "$tmp/truth100.json" 2>"$tmp/c100.log" & c100=$!
  client T200B 10.77.0.1 "$tmp/plan200.json" "$tmp/truth200.json" 2>"$tmp/c200.log" & c200=$!
  wait $c100 || ok=
  wait $c200 || ok=
  if [ -z "$ok" ]; then
    skip $name "no traffic: $(cat "$tmp/c100.log" "$tmp/c200.log" | tail -n 2)"; return 0; fi
  cap_stop $name
  python3 - "$tmp/truth100.json" "$tmp/truth200.json" "$out/$name.pcap.json" <<'EOF'
import json, sys
flows = []
for path, vni in ((sys.argv[1], 100), (sys.argv[2], 200)):
    for f in json.load(open(path))["flows"]:
        f["vni"] = vni
        flows.append(f)
json.dump({"flows": flows}, open(sys.argv[3], "w"), indent=1)
EOF
  made+=("$name"); echo "$name: $(stat -c %s "$out/$name.pcap") bytes" >&2
  reset
}

# --- the plan ---
if [ -n "$plan_name" ]; then
  # shellcheck disable=SC2086 # SEED is optional
  python3 "$rt/plan.py" "$plan_name" ${SEED:-} > "$tmp/plan.json"
else # 3 concurrent connections: 2000 up / 30000 down; two rounds; 30000 up / 2000 down then RST
  echo '{"concurrency": 3, "conns": [
    {"rounds": [[2000, 30000]], "end": "fin"},
    {"rounds": [[300, 2000], [1000, 5000]], "end": "fin"},
    {"rounds": [[30000, 2000]], "end": "rst"}]}' > "$tmp/plan.json"
fi

# --- the captures ---
dev_tunnel vxlan          4 4 46 'type vxlan id 4242 local @L remote @R dstport 4789 dev @D'
dev_tunnel vxlan6         6 6 46 'type vxlan id 4242 local @L remote @R dstport 4789 dev @D'
vxlan_gpe
# Geneve options: iproute2 can set them only on an external (collect_md) device via routes
# ("encap ip ... geneve_opts") or tc tunnel_key; the plain device here sends none.
dev_tunnel geneve         4 4 46 'type geneve id 4242 remote @R dstport 6081'
dev_tunnel gre            4 4 4  'type gre local @L remote @R key 77 csum seq'
dev_tunnel gretap         4 4 46 'type gretap local @L remote @R'
dev_tunnel ipip           4 4 4  'type ipip local @L remote @R'
dev_tunnel sit            4 6 6  'type sit local @L remote @R'
dev_tunnel ip6tnl-ipip6   6 4 4  'type ip6tnl mode ipip6 local @L remote @R'
dev_tunnel ip6tnl-ip6ip6  6 6 6  'type ip6tnl mode ip6ip6 local @L remote @R'
dev_tunnel ip6gre         6 4 46 'type ip6gre local @L remote @R'
dev_tunnel erspan-v1      4 4 46 'type erspan seq key 10 local @L remote @R erspan_ver 1 erspan 123'
dev_tunnel erspan-v2      4 4 46 'type erspan seq key 11 local @L remote @R erspan_ver 2 erspan_dir egress erspan_hwid 7'
dev_tunnel ip6erspan      6 4 46 'type ip6erspan seq key 12 local @L remote @R erspan_ver 2 erspan_dir ingress erspan_hwid 9'
mpls
srv6 srv6-encap-4in6 encap 4
srv6 srv6-encap-6in6 encap 6
srv6 srv6-red-4in6 encap.red 4
srv6 srv6-red-6in6 encap.red 6
vxlan_frag vxlan-frag4 4 1000 1450
plain_frag ipv4-frag 4 1000
plain_frag ipv6-frag 6 1280
two_vni

echo
echo "made (${#made[@]}):"
for n in "${made[@]}"; do printf '  %-18s %8s bytes\n' "$n" "$(stat -c %s "$out/$n.pcap")"; done
echo "skipped (${#skipped[@]}):"
for s in "${skipped[@]}"; do echo "  $s"; done
