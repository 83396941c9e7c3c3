#!/usr/bin/env python3
"""UDP exchanges with known bytes, for scripts/make-datagram-traffic.sh.

  udp-peer.py server ADDR PORT          answers each datagram with its bytes reversed
  udp-peer.py client ADDR PORT TRUTH    sends datagrams of several sizes (some larger
                                        than the MTU: IP fragments) from one socket,
                                        reads each answer, appends the exchange to
                                        TRUTH (JSON lines)"""
import hashlib, json, os, random, socket, sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(65535)
        if data == b"quit":
            return
        s.sendto(data[::-1], peer)


def client(addr, port, truth):
    rng = random.Random(f"{addr}:{port}")
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((addr, port))
    sent, received = [], []
    for size in (1, 100, 512, 1400, 1472, 4000, 9000, 30000):
        data = bytes(rng.getrandbits(8) for _ in range(size))
        s.send(data)
        sent.append(data)
        received.append(s.recv(65535))
    local = s.getsockname()
    with open(truth, "a") as f:
        f.write(json.dumps({
            "client": [local[0], local[1]], "server": [addr, port],
            "c2s": [len(d) for d in sent], "c2s_sha256": hashlib.sha256(b"".join(sent)).hexdigest(),
            "s2c": [len(d) for d in received], "s2c_sha256": hashlib.sha256(b"".join(received)).hexdigest(),
        }) + "\n")
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
