"""A misbehaving agent for the bad-client tests.

usage: badclient.py MODE HOST PORT TLSDIR
MODE: plaintext, rogue-cert, garbage, oversized, bad-version, wrong-name,
      batch-before-hello, bad-series, nan-sample, inf-sample, bad-heartbeat,
      v1-welcome (a good protocol 1 agent: prints the welcome's version)
Prints what the collector answered (its error frame, or how it closed).
"""
import socket
import ssl
import struct
import sys

mode, host, port, tls = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def frame(ftype, payload):
    return struct.pack(">IB", len(payload) + 1, ftype) + payload


def pstr(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def hello(name, version=1):
    return frame(1, struct.pack(">HQ", version, 12345) + pstr(name) + pstr("quote") + pstr("bad"))


def connect(cert="host-good", ca=None):
    raw = socket.create_connection((host, port), timeout=10)
    if mode == "plaintext":
        return raw
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{tls}/ca.pem")
    ctx.load_cert_chain(f"{tls}/{cert}.pem", f"{tls}/{cert}.key")
    return ctx.wrap_socket(raw, server_hostname="localhost")


def answer(s):
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, OSError) as e:
        if not data:
            return f"closed: {e.__class__.__name__}"
    # Skip heartbeats; report an error frame's text.
    while len(data) >= 5:
        n, t = struct.unpack(">IB", data[:5])
        body = data[5:4 + n]
        if t == 6:
            (ln,) = struct.unpack(">H", body[:2])
            return "error: " + body[2:2 + ln].decode()
        data = data[4 + n:]
    return "closed"


try:
    if mode == "plaintext":
        s = connect()
        s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\x00" * 64)
    elif mode == "rogue-cert":
        s = connect(cert="rogue")
        s.sendall(hello("host-good"))
    elif mode == "garbage":
        s = connect()
        s.sendall(b"\x00\x00\x00\x09\x63garbage!")
    elif mode == "oversized":
        s = connect()
        s.sendall(struct.pack(">IB", 64 << 20, 3))
    elif mode == "bad-version":
        s = connect()
        s.sendall(hello("host-good", version=99))
    elif mode == "wrong-name":
        s = connect()
        s.sendall(hello("host-other"))
    elif mode == "batch-before-hello":
        s = connect()
        s.sendall(frame(3, struct.pack(">QI", 1, 0)))
    elif mode == "bad-series":
        s = connect(cert="host-other")
        s.sendall(hello("host-other"))
        import time
        time.sleep(1)
        bad = struct.pack(">qdH", 1, 1.0, 7) + b"a\tb\nc d"
        s.sendall(frame(3, struct.pack(">QI", 10**9, 1) + bad))
    elif mode in ("nan-sample", "inf-sample"):
        s = connect(cert="host-other")
        s.sendall(hello("host-other"))
        import time
        time.sleep(1)
        v = float("nan") if mode == "nan-sample" else float("-inf")
        good = struct.pack(">qdH", 1, 1.0, 6) + b"good.x"
        bad = struct.pack(">qdH", 1, v, 9) + b"broken.pv"
        s.sendall(frame(3, struct.pack(">QI", 10**9 + 1, 2) + good + bad + struct.pack(">I", 0)))
    elif mode == "bad-heartbeat":
        s = connect(cert="host-other")
        s.sendall(hello("host-other"))
        s.sendall(frame(5, b"\x01\x02\x03"))
    elif mode == "v1-welcome":
        s = connect(cert="host-other")
        s.sendall(hello("host-other"))
        data = b""
        while len(data) < 5 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        n, t = struct.unpack(">IB", data[:5])
        if t == 2:
            (v,) = struct.unpack(">H", data[5:7])
            print(f"welcome version {v}")
        else:
            print(f"frame type {t}")
        sys.exit(0)
    print(answer(s))
except (ssl.SSLError, OSError) as e:
    print(f"closed: {e.__class__.__name__}: {e}")
