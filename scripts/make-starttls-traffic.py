#!/usr/bin/env python3
"""Captures real TLS handshakes that begin after a protocol's own upgrade request,
as Zeek logs them in ssl.log: `openssl s_client -starttls PROTO` (the real client)
against a small server of each protocol that answers the upgrade and then speaks
TLS through Python's ssl module (OpenSSL). Written to OUT (default
Tests/Fixtures/tls/starttls.pcap), one connection per protocol, on the loopback.

  usage: scripts/make-starttls-traffic.py [OUT]
  (root: tcpdump on lo; needs openssl, tcpdump, and for RDP freerdp2-x11 and xvfb)

Protocols and ports: POP3 (STLS, 10110), IMAP (STARTTLS, 10143), FTP (AUTH TLS,
10021), PostgreSQL (SSLRequest, 15432), LDAP (the StartTLS extended operation
1.3.6.1.4.1.1466.20037, 10389), XMPP (starttls, 15222), MySQL (the SSL request in
the handshake, 13306), RDP (X.224 negotiation choosing TLS, from FreeRDP's client,
13389)."""
import os, socket, ssl, struct, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
NAME = "server.flowdb.test"


def recv_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def pop3(conn):
    conn.sendall(b"+OK flowdb POP3 ready\r\n")
    while True:
        line = recv_line(conn)
        if not line or line.upper().startswith(b"STLS"):
            conn.sendall(b"+OK Begin TLS negotiation\r\n")
            return
        conn.sendall(b"+OK\r\n")


def imap(conn):
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] flowdb IMAP ready\r\n")
    while True:
        line = recv_line(conn)
        if not line:
            return
        tag = line.split(b" ")[0]
        if b"STARTTLS" in line.upper():
            conn.sendall(tag + b" OK Begin TLS negotiation now\r\n")
            return
        if b"CAPABILITY" in line.upper():
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag + b" OK CAPABILITY completed\r\n")
        else:
            conn.sendall(tag + b" OK\r\n")


def ftp(conn):
    conn.sendall(b"220 flowdb FTP ready\r\n")
    while True:
        line = recv_line(conn)
        if not line:
            return
        if line.upper().startswith(b"AUTH"):
            conn.sendall(b"234 AUTH TLS successful\r\n")
            return
        conn.sendall(b"211 ok\r\n" if line.upper().startswith(b"FEAT") else b"200 ok\r\n")


def postgres(conn):
    request = conn.recv(8)
    assert request == struct.pack("!II", 8, 80877103), request
    conn.sendall(b"S")


def ldap(conn):
    conn.recv(4096)      # the ExtendedRequest for 1.3.6.1.4.1.1466.20037
    oid = b"1.3.6.1.4.1.1466.20037"
    body = b"\x0a\x01\x00" + b"\x04\x00" + b"\x04\x00" + b"\x8a" + bytes([len(oid)]) + oid
    response = b"\x78" + bytes([len(body)]) + body
    message = b"\x02\x01\x01" + response
    conn.sendall(b"\x30" + bytes([len(message)]) + message)


def xmpp(conn):
    conn.recv(4096)      # the stream header
    conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                 b"id='flowdb' from='" + NAME.encode() + b"' version='1.0'><stream:features>"
                 b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
    conn.recv(4096)      # <starttls/>
    conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")


def mysql(conn):
    # protocol 10 handshake: version, thread id, salt, capabilities with CLIENT_SSL (0x0800)
    capabilities = 0x0800 | 0x0200 | 0x8000 | 0x00080000
    payload = (b"\x0a" + b"8.0.0-flowdb\x00" + struct.pack("<I", 7) + b"abcdefgh\x00"
               + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
               + struct.pack("<H", capabilities >> 16) + b"\x15" + bytes(10) + b"ijklmnopqrst\x00"
               + b"mysql_native_password\x00")
    conn.sendall(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
    conn.recv(36)        # the client's SSL request (32 bytes of payload)


def rdp(conn):
    conn.recv(4096)      # TPKT, X.224 Connection Request, cookie, RDP_NEG_REQ
    # Connection Confirm with RDP_NEG_RSP choosing PROTOCOL_SSL
    conn.sendall(bytes.fromhex("03000013" "0ed000001234" "00" "02000800" "01000000"))


SERVERS = [("pop3", 10110, pop3), ("imap", 10143, imap), ("ftp", 10021, ftp), ("postgres", 15432, postgres),
           ("ldap", 10389, ldap), ("xmpp", 15222, xmpp), ("mysql", 13306, mysql), ("rdp", 13389, rdp)]


def client(name, port):
    """The real client of each protocol: openssl s_client's STARTTLS, and FreeRDP
    (`xfreerdp +auth-only` under Xvfb) for RDP."""
    if name == "rdp":
        return ["xvfb-run", "-a", "xfreerdp", f"/v:127.0.0.1:{port}", "/cert:ignore", "+auth-only",
                "/u:analyst", "/p:flowdb", "/sec:tls"]
    return ["openssl", "s_client", "-starttls", name, "-connect", f"127.0.0.1:{port}",
            "-servername", NAME, "-name", NAME, "-quiet"]


def serve(port, preamble, context, ready):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    ready.set()
    conn, _ = listener.accept()
    try:
        preamble(conn)
        tls = context.wrap_socket(conn, server_side=True)
        tls.sendall(b"flowdb says hello over TLS\n")
        tls.recv(100)
        tls.close()
    except (OSError, ssl.SSLError):
        pass
    listener.close()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests", "Fixtures", "tls", "starttls.pcap")
    work = tempfile.mkdtemp()
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "3650", "-subj", f"/CN={NAME}/O=flowdb test"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    ports = " or ".join(f"port {p}" for _, p, _ in SERVERS)
    dump = subprocess.Popen(["tcpdump", "-q", "-i", "lo", "-s", "0", "-w", out, f"tcp and ({ports})"],
                            stderr=subprocess.DEVNULL)
    time.sleep(1)
    for name, port, preamble in SERVERS:
        ready = threading.Event()
        server = threading.Thread(target=serve, args=(port, preamble, context, ready))
        server.start()
        ready.wait()
        client_run = subprocess.run(client(name, port), input=b"bye\n", capture_output=True, timeout=30)
        server.join(timeout=20)
        print(f"{name}: client exit {client_run.returncode}")
    time.sleep(1)
    dump.terminate()
    dump.wait()
    print(f"{out}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
