#!/usr/bin/env python3
"""Writes Tests/Fixtures/serve/hostile-web.pcap: traffic whose every string is
markup or script, for the viewer's safety test (scripts/browser-check.py).

Each payload would set window.__pwned to its number if a page ever ran it:
  1-4  an HTTP exchange: the URI, a request header (Host), a response header
       (Content-Type... Server), and an HTML body
  5-6  a TLS 1.2 handshake: the ClientHello's SNI and the server certificate's
       subject and issuer (made by `openssl req` with that CN)
  7-8  DNS over UDP: the query name, and a TXT answer
and one benign TLS connection (SNI www.example.com) and one benign HTTP exchange,
so the filters have something ordinary to find.

  usage: scripts/make-hostile-web-capture.py [OUT.pcap]"""
import os, struct, subprocess, sys, tempfile

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T0 = 1_800_000_000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(src, dst, proto, body):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", csum(header)) + header[12:] + body


def frame(ip):
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    c = csum(pseudo + header + payload)
    return frame(ipv4(src, dst, 6, header[:16] + struct.pack("!H", c) + header[18:] + payload))


def udp(src, dst, sport, dport, payload):
    header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(payload))
    c = csum(pseudo + header + payload) or 0xffff
    return frame(ipv4(src, dst, 17, header[:6] + struct.pack("!H", c) + payload))


class Capture:
    def __init__(self):
        self.frames, self.t = [], 0

    def add(self, f):
        self.t += 1000
        self.frames.append((self.t, f))

    def connection(self, client, server, cport, sport, exchanges):
        """A TCP connection: handshake, each (client bytes, server bytes), FINs."""
        cs, ss = 1000, 5000
        self.add(tcp(client, server, cport, sport, cs, 0, 0x02))
        self.add(tcp(server, client, sport, cport, ss, cs + 1, 0x12))
        cs += 1; ss += 1
        self.add(tcp(client, server, cport, sport, cs, ss, 0x10))
        for c, s in exchanges:
            if c:
                self.add(tcp(client, server, cport, sport, cs, ss, 0x18, c)); cs += len(c)
                self.add(tcp(server, client, sport, cport, ss, cs, 0x10))
            if s:
                self.add(tcp(server, client, sport, cport, ss, cs, 0x18, s)); ss += len(s)
                self.add(tcp(client, server, cport, sport, cs, ss, 0x10))
        self.add(tcp(client, server, cport, sport, cs, ss, 0x11)); cs += 1
        self.add(tcp(server, client, sport, cport, ss, cs, 0x11)); ss += 1
        self.add(tcp(client, server, cport, sport, cs, ss, 0x10))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, fr in self.frames:
                f.write(struct.pack("<IIII", T0 + t // 1_000_000, t % 1_000_000, len(fr), len(fr)) + fr)


def handshake(kind, body):
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def record(body):
    return b"\x16\x03\x03" + struct.pack("!H", len(body)) + body


def client_hello(sni):
    name = sni.encode()
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    extensions = struct.pack("!HH", 0, len(server_name)) + server_name
    extensions += struct.pack("!HHH", 10, 4, 2) + b"\x00\x17"              # supported_groups: secp256r1
    extensions += struct.pack("!HHH", 13, 4, 2) + b"\x04\x01"              # signature_algorithms
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 4) + b"\xc0\x2f\x00\x9c" + b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    return record(handshake(1, body))


def server_flight(der):
    hello = b"\x03\x03" + bytes(range(32, 64)) + b"\x00" + b"\xc0\x2f" + b"\x00" + b"\x00\x00"
    chain = len(der).to_bytes(3, "big") + der
    return record(handshake(2, hello) + handshake(11, len(chain).to_bytes(3, "big") + chain) + handshake(14, b""))


def certificate(cn):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", d + "/k.pem", "-out", d + "/c.der", "-outform", "DER", "-days", "3650",
                        "-subj", "/CN=" + cn.replace("/", "\\/") + "/O=" + cn.replace("/", "\\/")],
                       check=True, capture_output=True)
        return open(d + "/c.der", "rb").read()


def dns_name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def dns(client, server, port, name_labels, txt):
    q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + dns_name(name_labels) + struct.pack("!HH", 16, 1)
    rdata = bytes([len(txt)]) + txt
    a = struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 1, 0, 0) + dns_name(name_labels) + struct.pack("!HH", 16, 1)
    a += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 300, len(rdata)) + rdata
    return [udp(client, server, port, 53, q), udp(server, client, 53, port, a)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "Tests/Fixtures/serve/hostile-web.pcap")
    client, server, resolver = bytes([10, 66, 0, 2]), bytes([10, 66, 0, 1]), bytes([10, 66, 0, 53])
    cap = Capture()
    # 1-4: HTTP
    request = (b"GET /<script>window.__pwned=1</script>?q=%22%3E%3Cimg%20src=x%20onerror=window.__pwned=1%3E HTTP/1.1\r\n"
               b"Host: <svg/onload=window.__pwned=2>.example\r\n"
               b"User-Agent: <img src=x onerror=window.__pwned=2>\r\n\r\n")
    body = b"<html><body><script>window.__pwned=4</script><img src=x onerror=\"window.__pwned=4\"></body></html>\n"
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: <script>window.__pwned=3</script>\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    cap.connection(client, server, 40001, 80, [(request, response)])
    # benign HTTP
    ok_body = b"hello, analyst\n"
    cap.connection(client, server, 40002, 80, [(b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
                                                 b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                                                 + str(len(ok_body)).encode() + b"\r\n\r\n" + ok_body)])
    # 5-6: TLS
    cap.connection(client, server, 40003, 443, [(client_hello("<img src=x onerror=window.__pwned=5>.example"),
                                                  server_flight(certificate("<script>window.__pwned=6</script>")))])
    # benign TLS
    cap.connection(client, server, 40004, 443, [(client_hello("www.example.com"), server_flight(certificate("www.example.com")))])
    # 7-8: DNS
    for f in dns(client, resolver, 40005, [b"<script>window", b"__pwned=7</script>", b"example"],
                 b"<img src=x onerror=window.__pwned=8>"):
        cap.add(f)
    cap.write(out)
    print(out, os.path.getsize(out))


if __name__ == "__main__":
    main()
