"""Sends RATE bytes/s over TCP for SECONDS, paced in 10 ms slices.

usage: traffic.py RATE SECONDS             to its own sink on loopback
       traffic.py RATE SECONDS HOST:PORT   to a sink started as below
       traffic.py --sink ADDR PORT         a sink: accepts and drains, forever
"""
import socket
import sys
import threading
import time


def drain(c):
    while c.recv(1 << 16):
        pass
    c.close()


def sink(addr, port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(4)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()


if sys.argv[1] == "--sink":
    sink(sys.argv[2], int(sys.argv[3]))

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
if len(sys.argv) > 3:
    host, port = sys.argv[3].rsplit(":", 1)
    target = (host, int(port))
else:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    threading.Thread(target=lambda: drain(srv.accept()[0]), daemon=True).start()
    target = srv.getsockname()
cli = socket.create_connection(target, timeout=10)
chunk = b"x" * (rate // 100)
start = time.monotonic()
n = 0
while time.monotonic() - start < seconds:
    cli.sendall(chunk)
    n += 1
    delay = start + n / 100 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
cli.close()
