"""Sends RATE bytes/s over loopback TCP for SECONDS, paced in 10 ms slices."""
import socket
import sys
import threading
import time

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)


def drain():
    c, _ = srv.accept()
    while c.recv(1 << 16):
        pass


threading.Thread(target=drain, daemon=True).start()
cli = socket.create_connection(srv.getsockname())
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
