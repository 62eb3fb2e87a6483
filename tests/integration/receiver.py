"""A loopback HTTP receiver for notifications. Every request is appended as
one JSON line (time, path, query, headers, body, answer) to LOG.

The first path segment picks the answer:
  /ok/...      200
  /fail2/...   500 for the first two requests to that path, then 200
  /bad/...     400
  /hang/...    never answers in time (sleeps 60 s)
  /dingtalk/.. checks DingTalk's timestamp+sign against --secret
  /feishu/...  checks Feishu's timestamp+sign in the body against --secret
Usage: receiver.py PORT LOG [--secret S]
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path = int(sys.argv[1]), sys.argv[2]
secret = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--secret" else ""
lock = threading.Lock()
seen = {}


def hmac_b64(key, msg):
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        kind = url.path.strip("/").split("/")[0]
        code, reply = 200, '{"errcode":0,"errmsg":"ok"}'
        with lock:
            seen[url.path] = seen.get(url.path, 0) + 1
            count = seen[url.path]
        if kind == "fail2" and count <= 2:
            code, reply = 500, '{"error":"try later"}'
        elif kind == "bad":
            code, reply = 400, '{"error":"no such number"}'
        elif kind == "hang":
            time.sleep(60)
        elif kind == "dingtalk":
            ts = query.get("timestamp", "")
            if query.get("sign") != hmac_b64(secret, ts + "\n" + secret):
                reply = '{"errcode":310000,"errmsg":"sign not match"}'
        elif kind == "feishu":
            doc = json.loads(body or "{}")
            key = doc.get("timestamp", "") + "\n" + secret
            if doc.get("sign") != hmac_b64(key, ""):
                reply = '{"code":19021,"msg":"sign match fail"}'
            else:
                reply = '{"code":0,"msg":"success"}'
        rec = {"t": time.time(), "method": self.command, "path": url.path, "query": query,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body, "code": code, "reply": reply}
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.answer(code, reply)

    do_GET = do_POST = do_PUT = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
