# The watchstand CLI's checklist commands against a stub of the API
# contract (SPEC "HTTP API", docs/checklists.md): what each command sends
# (method, path, body) and how it prints the answers, extra members and
# numbers-for-strings included, 409/403/404 texts on stderr with exit 1.
# it_cli_checklists.sh runs the same against the real collector.
. "$(dirname "$0")/lib.sh"

PORT=$(ws_free_port)
cat >"$IT/stub.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

log = open(sys.argv[2], "a")
runs = {}
DEF = [("call-exchange", True, []), ("log-in", False, ["call-exchange"])]


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def who(self):
        return (self.headers.get("Authorization") or "Bearer -").split()[-1]

    def note(self, body):
        log.write("%s %s %s %s\n" % (self.who(), self.command, self.path, json.dumps(body, sort_keys=True)))
        log.flush()

    def do_GET(self):
        self.note(None)
        p = self.path
        if p == "/api/v1/checklists":
            open_run = next((r["id"] for r in runs.values() if r["state"] == "open"), None)
            return self.send(200, [
                {"name": "open-exchange-link", "kind": "procedure", "steps": 2,
                 "schedule": None, "open_run": open_run, "description": "x", "extra": {"a": [1]}},
                {"name": "start-of-day", "kind": "startup", "steps": [{"name": "db"}, {"name": "quote"}],
                 "schedule": {"phase": "pre-open"}, "open_run": None}])
        if p.startswith("/api/v1/runs/"):
            r = runs.get(int(p.split("/")[-1]))
            return self.send(200, r) if r else self.send(404, {"error": "no such run"})
        if p.startswith("/api/v1/runs"):
            st = p.partition("state=")[2]
            return self.send(200, [r for r in runs.values() if not st or r["state"] == st])
        self.send(404, {"error": "no such call"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"null")
        self.note(body)
        parts = self.path.split("/")
        if len(parts) == 6 and parts[3] == "checklists" and parts[5] == "runs":
            i = len(runs) + 7
            runs[i] = {"id": i, "checklist": parts[4], "kind": "procedure", "state": "open",
                       "drill": bool(body and body.get("drill")), "started_at": "2026-11-24T07:50:00.123+00:00",
                       "finished_at": None, "report": None, "unknown": 1,
                       "steps": [{"name": s, "host": None, "state": "pending", "executed_by": None,
                                  "confirmed_by": None, "value": None, "error": None, "two_person": t,
                                  "after": a} for s, t, a in DEF]}
            return self.send(201, {"id": i})
        r = runs[int(parts[4])]
        s = next(x for x in r["steps"] if x["name"] == parts[6])
        verb = parts[7]
        if verb == "execute":
            nd = [a for a in s["after"] if next(x for x in r["steps"] if x["name"] == a)["state"] not in ("done", "skipped")]
            if nd:
                return self.send(409, {"error": "predecessors not done: " + ", ".join(nd)})
            s["executed_by"] = self.who()
            s["state"] = "awaiting-confirmation" if s["two_person"] else "done"
            s["value"] = 1.5
        elif verb == "confirm":
            if s["executed_by"] == self.who():
                return self.send(409, {"error": "the person who executed a step cannot confirm it"})
            s["confirmed_by"] = self.who()
            s["state"] = "done"
        elif verb == "skip":
            if self.who() != "lena":
                return self.send(403, {"error": "skipping a step needs a lead"})
            s["state"] = "skipped"
            s["error"] = "skipped: " + body["reason"]
        if all(x["state"] in ("done", "skipped") for x in r["steps"]):
            r["state"] = "done"
        self.send(200, r)


HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$IT/stub.py" "$PORT" "$IT/requests.txt" 2>"$IT/stub.log" &
IT_PIDS+=($!)
up() { curl -s -o /dev/null "http://127.0.0.1:$PORT/"; }
ws_wait_for 10 up || it_fail "the stub did not start"

export HOME="$IT/home" WATCHSTAND_URL="http://127.0.0.1:$PORT"
W="$WS_BUILD/watchstand"
as() {
  local who=$1
  shift
  WATCHSTAND_TOKEN=$who "$W" "$@"
}
fails() { # fails RC PATTERN CMD...: exits RC with PATTERN on stderr
  local want=$1 pat=$2 rc
  shift 2
  set +e
  "$@" >"$IT/out" 2>"$IT/err"
  rc=$?
  set -e
  [ $rc -eq "$want" ] && grep -q "$pat" "$IT/err" || it_fail "$*: rc $rc (want $want), stderr: $(cat "$IT/err")"
}

as carol checklists | tee "$IT/cl.txt"
grep -qE "^NAME +KIND +STEPS +SCHEDULE +OPEN RUN$" "$IT/cl.txt" || it_fail "checklists header"
grep -qE "^open-exchange-link +procedure +2 +- +-$" "$IT/cl.txt" || it_fail "checklists row"
grep -qE "^start-of-day +startup +2 +pre-open +-$" "$IT/cl.txt" || it_fail "checklists: a list of steps, a schedule object"

as carol run open-exchange-link --drill | grep -qx "run 7 opened: open-exchange-link DRILL" || it_fail "run --drill"
grep -q '^carol POST /api/v1/checklists/open-exchange-link/runs {"drill": true}$' "$IT/requests.txt" || it_fail "run --drill body"
as carol checklists | grep -qE "^open-exchange-link +procedure +2 +- +7$" || it_fail "checklists: the open run"
as carol runs | grep -qE "^7 +open-exchange-link +procedure +open +2026-11-24T07:50:00 +- +DRILL$" || it_fail "runs"
[ "$(as carol runs --state done)" = "$(printf 'ID     CHECKLIST                KIND       STATE    STARTED              FINISHED\nno runs')" ] || it_fail "runs --state done"
grep -q "GET /api/v1/runs?state=done" "$IT/requests.txt" || it_fail "runs --state query"

fails 1 "POST /runs/7/steps/log-in/execute: 409 predecessors not done: call-exchange" as carol exec 7 log-in
as carol exec 7 call-exchange | grep -qx "run 7 step call-exchange executed: now awaiting-confirmation" || it_fail "exec"
fails 1 "409 the person who executed a step cannot confirm it" as carol confirm 7 call-exchange
as dave confirm 7 call-exchange | grep -qx "run 7 step call-exchange confirmed: now done" || it_fail "confirm"
fails 2 "reason" as lena skip 7 log-in
fails 1 "403 skipping a step needs a lead" as carol skip 7 log-in --reason "exchange says not today"
as lena skip 7 log-in --reason "exchange says not today" | grep -qx "run 7 step log-in skipped: now skipped" || it_fail "skip"
grep -q '^lena POST /api/v1/runs/7/steps/log-in/skip {"reason": "exchange says not today"}$' "$IT/requests.txt" || it_fail "skip body"

as carol steps 7 | tee "$IT/steps.txt"
grep -qx "run 7: open-exchange-link (procedure) done DRILL" "$IT/steps.txt" || it_fail "steps: the run line"
grep -qE "^STEP +HOST +STATE +EXECUTED BY +CONFIRMED BY +VALUE +ERROR$" "$IT/steps.txt" || it_fail "steps header"
grep -qE "^call-exchange +- +done +carol +dave +1.5 +-$" "$IT/steps.txt" || it_fail "steps: call-exchange"
grep -qE "^log-in +- +skipped +- +- +- +skipped: exchange says not today$" "$IT/steps.txt" || it_fail "steps: log-in"
# Aligned: the STATE column starts at the same place on every line.
[ "$(sed 1d "$IT/steps.txt" | awk '{ print index($0, $3) }' | sort -u | wc -l)" = 1 ] || it_fail "steps not aligned"
as carol --json steps 7 | python3 -c "import json,sys; r=json.load(sys.stdin); assert r['unknown']==1 and r['steps'][0]['confirmed_by']=='dave', r" || it_fail "steps --json"
as carol --json run open-exchange-link | python3 -c "import json,sys; assert json.load(sys.stdin)=={'id': 8}" || it_fail "run --json"
fails 1 "GET /runs/99: 404 no such run" as carol steps 99
fails 2 "usage: watchstand confirm RUN STEP" as carol confirm 7
it_ok "watchstand CLI checklist commands against the API contract: requests, tables, DRILL, 409/403/404 texts, --json"
