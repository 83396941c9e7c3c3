#!/usr/bin/env python3
"""HTTP/1.1 server and CONNECT proxy for scripts/make-app-traffic.sh.

  app-server.py http ADDR PORT DIR   serves DIR over HTTP/1.1 with keep-alive:
      GET/HEAD files (Last-Modified, so If-Modified-Since gives 304),
      GET /gzip/NAME: the file gzip-compressed, sent chunked,
      POST /upload: reads the body (Content-Length or chunked), answers 201 with its sha256,
      Expect: 100-continue is answered with 100 Continue.
  app-server.py proxy ADDR PORT      an HTTP CONNECT proxy (tunnels to any address)
  app-server.py smtp ADDR PORT CERT KEY   a minimal SMTP server offering STARTTLS
"""
import gzip
import hashlib
import http.server
import os
import select
import socket
import socketserver
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/gzip/"):
            path = os.path.join(self.directory, self.path[len("/gzip/"):])
            try:
                data = gzip.compress(open(path, "rb").read(), mtime=0)
            except OSError:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 1000):
                piece = data[i:i + 1000]
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        super().do_GET()

    def do_POST(self):
        digest = hashlib.sha256()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                digest.update(self.rfile.read(size))
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining > 0:
                piece = self.rfile.read(min(65536, remaining))
                if not piece:
                    break
                digest.update(piece)
                remaining -= len(piece)
        body = digest.hexdigest().encode() + b"\n"
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(line) < 2 or line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = line[1].rsplit(":", 1)
        upstream = socket.create_connection((host.strip("[]"), int(port)))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        sockets = [self.connection, upstream]
        while True:
            ready, _, _ = select.select(sockets, [], [], 30)
            if not ready:
                break
            for s in ready:
                data = s.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if s is self.connection else self.connection).sendall(data)


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SMTP(socketserver.StreamRequestHandler):
    """EHLO, STARTTLS, then MAIL/RCPT/DATA/QUIT over TLS: just enough for smtplib."""
    context = None

    def handle(self):
        conn = self.connection
        rfile, wfile = self.rfile, self.wfile

        def say(text):
            wfile.write(text.encode() + b"\r\n")
            wfile.flush()
        say("220 server.flowdb.test ESMTP flowdb-test")
        while True:
            line = rfile.readline()
            if not line:
                return
            verb = line.decode("latin-1").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                wfile.write(b"250-server.flowdb.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                wfile.flush()
            elif verb == "STARTTLS":
                say("220 ready to start TLS")
                conn = SMTP.context.wrap_socket(conn, server_side=True)
                rfile, wfile = conn.makefile("rb"), conn.makefile("wb")
            elif verb == "DATA":
                say("354 end with .")
                while rfile.readline() not in (b".\r\n", b""):
                    pass
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


def main():
    kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "http":
        directory = sys.argv[4]
        server = Threaded((addr, port), lambda *a: Handler(*a, directory=directory))
    elif kind == "smtp":
        import ssl
        SMTP.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        SMTP.context.load_cert_chain(sys.argv[4], sys.argv[5])
        server = ThreadedTCP((addr, port), SMTP)
    else:
        server = ThreadedTCP((addr, port), Proxy)
    server.serve_forever()


if __name__ == "__main__":
    main()
