#!/usr/bin/env bash
# make-app-traffic.sh OUT.pcap
# Real HTTP, TLS, SSH and SMTP with STARTTLS between two network namespaces joined by a veth pair, captured
# on the client side, for checking the http and tls tables against tshark
# (scripts/app-check.py). Needs root, python3, curl, openssl, tcpdump.
#   HTTP (python's http.server, HTTP/1.1, scripts/app-server.py; curl and a raw
#   socket client): keep-alive, pipelining, HEAD, a 304, a chunked gzip body, POST
#   uploads (Content-Length, chunked, with a 100-continue), a 404, a CONNECT tunnel.
#   TLS (openssl s_server with a certificate made here; s_client, curl): TLS 1.2 and
#   1.3, SNI, ALPN, session resumption, a client certificate.
#   SSH (OpenSSH's sshd on port 2222 with keys made here, when /usr/sbin/sshd exists):
#   a login that runs one command. SMTP (a small server here, scripts/app-server.py
#   smtp): EHLO, STARTTLS, then mail over TLS (python's smtplib).
# Writes OUT.pcap and OUT.files.json (name, size, sha256 of every file served).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
work=$(mktemp -d)
S=fdbAS$$ C=fdbAC$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3; ip netns del $S 2>/dev/null || true; ip netns del $C 2>/dev/null || true; rm -rf "$work"
  rm -rf "/etc/netns/$S" "/etc/netns/$C"
}
trap cleanup EXIT
ip netns add $S; ip netns add $C
# the server's name, for the proxy (ip netns exec reads /etc/netns/NAME/hosts)
mkdir -p "/etc/netns/$S" "/etc/netns/$C"
printf '127.0.0.1 localhost\n10.77.0.1 server.flowdb.test\n' | tee "/etc/netns/$S/hosts" > "/etc/netns/$C/hosts"
ip link add va netns $S type veth peer name vb netns $C
for ns in $S $C; do ip -n $ns link set lo up; done
ip -n $S link set va up; ip -n $C link set vb up
ip -n $S addr add 10.77.0.1/24 dev va; ip -n $C addr add 10.77.0.2/24 dev vb
ip netns exec $S ethtool -K va tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $C ethtool -K vb tso off gso off gro off >/dev/null 2>&1 || true

# Files to serve, and their digests.
mkdir -p "$work/www"
head -c 20000 /dev/urandom > "$work/www/random.bin"
python3 -c "print('flowdb test page\n' * 300)" > "$work/www/page.txt"
python3 -c "import json; print(json.dumps({'k%d' % i: i for i in range(500)}))" > "$work/www/data.json"
head -c 300000 /dev/urandom > "$work/www/big.bin"
head -c 3000 /dev/urandom > "$work/upload.bin"
python3 - "$work/www" > "$out.files.json" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
print(json.dumps([{"name": n, "size": os.path.getsize(os.path.join(d, n)),
                   "sha256": hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest()}
                  for n in sorted(os.listdir(d))], indent=1))
EOF

# Certificates: a CA, the server's (SAN server.flowdb.test) and a client's.
ssl() { openssl "$@" >/dev/null 2>&1; }
ssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 30 -subj "/CN=flowdb test CA/O=flowdb"
ssl req -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=server.flowdb.test/O=Example GmbH/C=DE"
printf 'subjectAltName=DNS:server.flowdb.test\n' > "$work/san.ext"
ssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/server.pem" -days 30 -extfile "$work/san.ext"
ssl req -newkey rsa:2048 -nodes -keyout "$work/client.key" -out "$work/client.csr" -subj "/CN=client.flowdb.test"
ssl x509 -req -in "$work/client.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/client.pem" -days 30
cat "$work/server.pem" "$work/ca.pem" > "$work/chain.pem"

ip netns exec $S python3 "$here/app-server.py" http 10.77.0.1 8080 "$work/www" & pids+=($!)
ip netns exec $S python3 "$here/app-server.py" proxy 10.77.0.1 3128 & pids+=($!)
ip netns exec $S openssl s_server -quiet -accept 8443 -cert "$work/server.pem" -key "$work/server.key" \
  -cert_chain "$work/chain.pem" -alpn http/1.1 -www >/dev/null 2>&1 & pids+=($!)
ip netns exec $S openssl s_server -quiet -accept 8444 -cert "$work/server.pem" -key "$work/server.key" \
  -Verify 1 -CAfile "$work/ca.pem" -www >/dev/null 2>&1 & pids+=($!)
if [ -x /usr/sbin/sshd ]; then
  ssh-keygen -q -t ed25519 -N "" -f "$work/host_key"; ssh-keygen -q -t ed25519 -N "" -f "$work/user_key"
  cp "$work/user_key.pub" "$work/authorized_keys"; chmod 600 "$work/authorized_keys"
  mkdir -p /run/sshd
  ip netns exec $S /usr/sbin/sshd -D -p 2222 -h "$work/host_key" -o "AuthorizedKeysFile=$work/authorized_keys" \
    -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no -o PidFile=none & pids+=($!)
fi
ip netns exec $S python3 "$here/app-server.py" smtp 10.77.0.1 2525 "$work/server.pem" "$work/server.key" & pids+=($!)
ip netns exec $C tcpdump -q -i vb -s 0 -B 65536 -w "$out" tcp 2>"$work/tcpdump.log" & dump=$!
sleep 1.5

run() { ip netns exec $C "$@" || echo "note: $* exited with $?" >&2; }
base=http://10.77.0.1:8080
# keep-alive: three requests on one connection, then HEAD, a 304, a 404
run curl -s -o /dev/null -o /dev/null -o /dev/null -A "flowdb-test/1.0" -e "http://referrer.example/" \
  "$base/page.txt" "$base/random.bin" "$base/data.json"
run curl -s -o /dev/null -I "$base/big.bin"
run curl -s -o /dev/null -z "$work/www/page.txt" "$base/page.txt"
run curl -s -o /dev/null "$base/missing.html"
run curl -s -o /dev/null "$base/big.bin"
# chunked gzip body
run curl -s -o /dev/null --compressed "$base/gzip/page.txt"
# uploads: Content-Length with 100-continue, then chunked
run curl -s -o /dev/null -H "Expect: 100-continue" --data-binary "@$work/upload.bin" -H "Content-Type: application/octet-stream" "$base/upload"
run curl -s -o /dev/null -H "Transfer-Encoding: chunked" --data-binary "@$work/upload.bin" "$base/upload"
# pipelining: three requests sent at once
run python3 - <<'EOF'
import socket
s = socket.create_connection(("10.77.0.1", 8080))
req = "".join("GET /%s HTTP/1.1\r\nHost: 10.77.0.1:8080\r\nUser-Agent: pipeline\r\n\r\n" % n for n in ("page.txt", "data.json", "random.bin"))
s.sendall(req.encode())
s.settimeout(2)
got = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
        if got.count(b"HTTP/1.1 200") == 3 and len(got) > 20000 + 15000:
            break
except socket.timeout:
    pass
s.close()
EOF
# a CONNECT tunnel to the TLS server
run curl -s -o /dev/null -k -p -x http://10.77.0.1:3128 --resolve server.flowdb.test:8443:10.77.0.1 https://server.flowdb.test:8443/
# TLS 1.3 and 1.2 with SNI and ALPN; resumption; a client certificate
run curl -s -o /dev/null --cacert "$work/ca.pem" --resolve server.flowdb.test:8443:10.77.0.1 https://server.flowdb.test:8443/
run curl -s -o /dev/null --tlsv1.2 --tls-max 1.2 --cacert "$work/ca.pem" --resolve server.flowdb.test:8443:10.77.0.1 https://server.flowdb.test:8443/
for v in -tls1_2 -tls1_3; do
  echo | run openssl s_client -connect 10.77.0.1:8443 -servername server.flowdb.test -alpn http/1.1 $v \
    -sess_out "$work/sess$v" >/dev/null 2>&1 || true
  sleep 0.3
  echo | run openssl s_client -connect 10.77.0.1:8443 -servername server.flowdb.test -alpn http/1.1 $v \
    -sess_in "$work/sess$v" >/dev/null 2>&1 || true
done
printf 'GET / HTTP/1.0\r\n\r\n' | run openssl s_client -quiet -connect 10.77.0.1:8444 -servername server.flowdb.test \
  -cert "$work/client.pem" -key "$work/client.key" -tls1_2 >/dev/null 2>&1 || true
if [ -x /usr/sbin/sshd ]; then
  run ssh -q -i "$work/user_key" -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    root@10.77.0.1 true
fi
run python3 - <<'EOF'
import smtplib, ssl
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("server.flowdb.test", 2525, local_hostname="client.flowdb.test", timeout=5) as s:
    s.ehlo()
    s.starttls(context=context)
    s.ehlo()
    s.sendmail("a@flowdb.test", ["b@flowdb.test"], "Subject: test\r\n\r\nhello over TLS\r\n")
EOF
sleep 1
kill -INT $dump; wait $dump 2>/dev/null || true
grep -q "^0 packets dropped by kernel" "$work/tcpdump.log" || { echo "capture dropped packets:"; cat "$work/tcpdump.log"; exit 1; }
echo "$out: $(stat -c %s "$out") bytes"
