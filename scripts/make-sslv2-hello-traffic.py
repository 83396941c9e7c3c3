#!/usr/bin/env python3
"""Captures ClientHellos in SSL 2.0's record format, as old clients and scanners
still send them, against a real TLS server (`openssl s_server`) on the loopback.
Written to OUT (default Tests/Fixtures/tls/sslv2-hello.pcap):

  1. an SSLv2-compatible ClientHello offering TLS 1.2 (RFC 5246 appendix E.2:
     TLS suites as 3-byte specs with a zero first byte, and two SSL 2.0 kinds),
     which OpenSSL answers with a TLS 1.2 ServerHello and its certificate;
  2. a pure SSL 2.0 ClientHello (version 0x0002), which the server refuses.

  usage: scripts/make-sslv2-hello-traffic.py [OUT]   (root: tcpdump on lo; needs openssl)"""
import os, socket, struct, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = 14433


def hello(version, specs):
    challenge = os.urandom(16 if version == 2 else 32)
    body = bytes([1]) + struct.pack("!HHHH", version, len(specs), 0, len(challenge)) + specs + challenge
    return struct.pack("!H", 0x8000 | len(body)) + body


def exchange(record):
    """Sends one hello, reads what the server answers until it stops, closes."""
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(record)
    s.settimeout(1.5)
    received = b""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                break
            received += data
    except socket.timeout:
        pass
    s.close()
    return received


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests", "Fixtures", "tls", "sslv2-hello.pcap")
    work = tempfile.mkdtemp()
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "3650", "-subj", "/CN=legacy.flowdb.test/O=flowdb test"], check=True, capture_output=True)
    dump = subprocess.Popen(["tcpdump", "-q", "-i", "lo", "-s", "0", "-w", out, f"tcp port {PORT}"],
                            stderr=subprocess.DEVNULL)
    time.sleep(1)
    server = subprocess.Popen(["openssl", "s_server", "-accept", str(PORT), "-cert", cert, "-key", key,
                               "-cipher", "DEFAULT:@SECLEVEL=0", "-quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    # ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384, AES128-GCM-SHA256,
    # AES128-SHA, AES256-SHA, SSL2's DES-CBC3-MD5 and RC4-MD5, the renegotiation SCSV
    compatible = bytes([0, 0xc0, 0x2f, 0, 0xc0, 0x30, 0, 0, 0x9c, 0, 0, 0x2f, 0, 0, 0x35,
                        0x07, 0x00, 0xc0, 0x01, 0x00, 0x80, 0, 0, 0xff])
    answer = exchange(hello(0x0303, compatible))
    print(f"SSLv2-compatible hello offering TLS 1.2: {len(answer)} bytes back, first {answer[:3].hex()}")
    answer = exchange(hello(0x0002, bytes([0x07, 0x00, 0xc0, 0x01, 0x00, 0x80])))
    print(f"SSL 2.0 hello: {len(answer)} bytes back")
    time.sleep(1)
    server.terminate()
    dump.terminate()
    dump.wait()
    print(f"{out}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
