#!/usr/bin/env python3
"""Traffic for the archives-by-period test: one TCP connection on loopback that
sends a line every 0.1 s (echoed in upper case) across several archive periods, and
a UDP datagram every tenth line.
  usage: scripts/periods-traffic.py LINES TCP_PORT UDP_PORT"""
import socket, threading, time, sys
TCP, UDP = int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(("127.0.0.1", TCP)); srv.listen()
def serve():
    c, _ = srv.accept()
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d.upper())
    c.close()
threading.Thread(target=serve, daemon=True).start()
cl = socket.create_connection(("127.0.0.1", TCP))
for i in range(int(sys.argv[1])):
    cl.sendall(b"line %d across archive periods\n" % i); cl.recv(65536); time.sleep(0.1)
    if i % 10 == 0:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"ping %d" % i, ("127.0.0.1", UDP)); u.close()
cl.close(); time.sleep(0.5)
