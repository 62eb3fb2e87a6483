"""A scripted collector stand-in for it_actions.sh: speaks protocol 2 to
the real agent, sends action frames and checks the action-results.

usage: actstand.py PORT TLSDIR AGENT WORKDIR AGENTLOG
Prints "ok: ..." per check; exits 1 with "FAIL: ..." on the first miss.
Waits only by polling (frames, files, /proc), never by sleeping a guess.
"""
import os
import socket
import ssl
import struct
import sys
import time

port, tls, agent, work, agentlog = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
port = int(port)
LIMIT = 60  # seconds any one wait may take before the test fails

OUTCOMES = ["ok", "failed", "refused", "timeout", "error"]


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg, flush=True)


def frame(ftype, payload):
    return struct.pack(">IB", len(payload) + 1, ftype) + payload


def pstr(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def frame(self):
        """The next frame but heartbeats and batches (acked): (type, body)."""
        deadline = time.monotonic() + LIMIT
        while True:
            if len(self.buf) >= 5:
                n, t = struct.unpack(">IB", self.buf[:5])
                if len(self.buf) >= 4 + n:
                    body = self.buf[5:4 + n]
                    self.buf = self.buf[4 + n:]
                    if t == 5:
                        continue
                    if t == 3:
                        (seq,) = struct.unpack(">Q", body[:8])
                        self.s.sendall(frame(4, struct.pack(">Q", seq)))
                        continue
                    return t, body
            if time.monotonic() > deadline:
                fail("no frame from the agent")
            self.s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                fail("no frame from the agent")
            if not chunk:
                fail("the agent closed the connection")
            self.buf += chunk

    def send(self, data):
        self.s.sendall(data)


def rd_str(b, off):
    (n,) = struct.unpack(">H", b[off:off + 2])
    return b[off + 2:off + 2 + n].decode(), off + 2 + n


def accept(lsock, ctx):
    lsock.settimeout(LIMIT)
    raw, _ = lsock.accept()
    s = ctx.wrap_socket(raw, server_side=True)
    c = Conn(s)
    t, body = c.frame()
    if t != 1:
        fail(f"first frame type {t}, not hello")
    (version, _stream) = struct.unpack(">HQ", body[:10])
    off = 10
    name, off = rd_str(body, off)
    role, off = rd_str(body, off)
    soft, off = rd_str(body, off)
    (n,) = struct.unpack(">H", body[off:off + 2])
    off += 2
    actions = []
    for _ in range(n):
        a, off = rd_str(body, off)
        actions.append(a)
    if off != len(body):
        fail("trailing bytes in the hello")
    return c, version, name, actions


def welcome(c):
    c.send(frame(2, struct.pack(">HQ", 2, 0)))


def action(c, req, name, run=7, step="a step", drill=False):
    c.send(frame(7, struct.pack(">Q", req) + pstr(name) + struct.pack(">Q", run) + pstr(step)
                 + struct.pack(">B", 1 if drill else 0)))


def result(c):
    t, body = c.frame()
    if t != 8:
        fail(f"frame type {t}, not action-result")
    req, outcome, status, ms = struct.unpack(">QBiI", body[:17])
    out, off = rd_str(body, 17)
    reason, off = rd_str(body, off)
    if off != len(body):
        fail("trailing bytes in an action-result")
    return {"req": req, "outcome": OUTCOMES[outcome], "status": status,
            "ms": ms, "output": out, "reason": reason}


def expect(r, req, outcome, status=None):
    if r["req"] != req or r["outcome"] != outcome or (status is not None and r["status"] != status):
        fail(f"request {req}: wanted {outcome}/{status}, got {r}")


def poll(what, cond):
    deadline = time.monotonic() + LIMIT
    while not cond():
        if time.monotonic() > deadline:
            fail("gave up waiting for " + what)
        time.sleep(0.05)


def procs_with(marker):
    """pids whose command line mentions marker (a path unique to this test)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{tls}/collector.pem", f"{tls}/collector.key")
ctx.load_verify_locations(f"{tls}/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", port))
lsock.listen(4)
open(f"{work}/stand.ready", "w").close()

c, version, name, actions = accept(lsock, ctx)
if version != 2 or name != agent:
    fail(f"hello: version {version}, name {name}")
want = ["args", "envdump", "hang", "hold", "later"]
if sorted(actions) != want:
    fail(f"hello lists actions {actions}, not {want}")
ok(f"hello version 2 lists the agent's actions {sorted(actions)}")
welcome(c)

# An allowed action: argv without a shell, exit status, stdout and stderr.
action(c, 1, "args", step="print the arguments")
r = result(c)
expect(r, 1, "failed", 3)
if "arg:one\narg:two words\narg:$HOME;*\n" not in r["output"] or "to stderr\n" not in r["output"]:
    fail(f"args output: {r['output']!r}")
ok("args ran with its argv untouched (no shell), exit 3, stdout and stderr")

# Only the tail of a long output comes back, at most 4 KiB.
if not (r["output"].endswith("last line\n") and len(r["output"].encode()) <= 4096
        and "first line" not in r["output"]):
    fail(f"args tail: {len(r['output'])} bytes, ends {r['output'][-40:]!r}")
ok("the output is the last 4 KiB")

# An unknown name is refused, and the agent logs it.
action(c, 2, "rm-rf")
r = result(c)
expect(r, 2, "refused", 0)
if r["reason"] != f"no action 'rm-rf' on agent {agent}":
    fail(f"refusal reason {r['reason']!r}")
poll("the agent's log line on the refusal",
     lambda: "action rm-rf (request 2, run 7, step a step): refused" in open(agentlog).read())
ok(f"unknown action refused: {r['reason']}")

# In a drill only actions with drill: true run.
action(c, 9, "args", drill=True)
r = result(c)
expect(r, 9, "refused", 0)
if r["reason"] != f"DRILL: action 'args' on agent {agent} does not run in drills (drill: false)":
    fail(f"drill refusal {r['reason']!r}")
ok(f"a drill's request for an action without drill: true is refused: {r['reason']}")

# A second request while one runs is refused, not queued.
action(c, 3, "hold")
poll("hold to start", lambda: os.path.exists(f"{work}/hold.started"))
action(c, 4, "hold")
r = result(c)
expect(r, 4, "refused")
if "already running" not in r["reason"]:
    fail(f"second hold: {r['reason']!r}")
refusal = r["reason"]
open(f"{work}/hold.release", "w").close()
r = result(c)
expect(r, 3, "ok", 0)
if r["output"] != "released\n":
    fail(f"hold output {r['output']!r}")
ok(f"a second request while the first ran was refused: {refusal}")

# The environment is cleared but for PATH and LANG.
action(c, 5, "envdump")
r = result(c)
expect(r, 5, "ok", 0)
names = sorted(line.split("=", 1)[0] for line in r["output"].splitlines() if line)
if names not in (["PATH"], ["LANG", "PATH"]) or "WS_SECRET" in r["output"]:
    fail(f"environment: {r['output']!r}")
ok(f"environment holds only {names}")

# A timeout kills the whole process group, grandchild included, even when
# they ignore SIGTERM.
grand = f"{work}/ws-grandchild"
action(c, 6, "hang")
poll("the grandchild to start", lambda: procs_with(grand))
r = result(c)
expect(r, 6, "timeout", -9)
poll("the grandchild to be gone", lambda: not procs_with(grand))
ok(f"timeout after {r['ms']} ms killed the group ({r['reason']}); no {os.path.basename(grand)} left")

# The link goes down while an action runs: the result waits for the next
# connection and comes after its welcome. (later has drill: true.)
action(c, 8, "later", drill=True)
poll("later to start", lambda: os.path.exists(f"{work}/later.started"))
c.s.close()
c, version, name, actions = accept(lsock, ctx)
open(f"{work}/later.release", "w").close()
poll("the agent to keep the result",
     lambda: "action result for request 8 kept" in open(agentlog).read())
welcome(c)
r = result(c)
expect(r, 8, "ok", 0)
ok("a result finished while the link was down is sent after the reconnect")
c.s.close()
