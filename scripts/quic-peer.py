#!/usr/bin/env python3
"""A QUIC handshake between two real stacks (aioquic), for make-datagram-traffic.sh.

  quic-peer.py server ADDR PORT CERT KEY     answers handshakes until killed
  quic-peer.py client ADDR PORT NAME ALPN    one handshake with this SNI and ALPN, then closes"""
import asyncio, ssl, sys

from aioquic.asyncio import connect, serve
from aioquic.quic.configuration import QuicConfiguration


async def server(addr, port, cert, key):
    config = QuicConfiguration(is_client=False, alpn_protocols=["h3", "flowdb-test"])
    config.load_cert_chain(cert, key)
    await serve(addr, port, configuration=config)
    await asyncio.Future()


async def client(addr, port, name, alpn):
    config = QuicConfiguration(is_client=True, alpn_protocols=[alpn], server_name=name, verify_mode=ssl.CERT_NONE)
    async with connect(addr, port, configuration=config) as connection:
        await connection.ping()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
    else:
        asyncio.run(client(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
