#!/usr/bin/env python3
"""Grafana's PostgreSQL data source, as far as SQL goes: expands the queries
of dashboard JSON files as Grafana does, checks them and runs them.

  grafana_sql.py expand DASHBOARD [--range 2d] [--var NAME=V1,V2 ...]
      print every query (variables, panels, annotations), expanded
  grafana_sql.py check --dsn DSN [--range 2d] [--may-be-empty TITLE ...]
                       [--provisioning DIR] DASHBOARD...
      run every query through psql: once with every variable at All (each
      query must return a row), once with each variable at its first value;
      check that the provisioning examples fit the dashboards
  grafana_sql.py selftest
      the expansions of Grafana's own documentation and tests

Expansion follows Grafana's order:
 1. the frontend's template service with the SQL data source's
    interpolateVariable: $var, ${var}, ${var:format}, [[var]]; a value of a
    multi-value or include-All variable is quoted ('a','b'), a single
    value is only escaped (o''b); All is every value, or the custom
    allValue as is; the built-ins $__interval, $__interval_ms, $__from,
    $__to, $__range*; an unknown name is left alone;
 2. the backend's global substitutions (pkg/tsdb/sqleng): $__interval_ms,
    $__interval, $__unixEpochFrom(), $__unixEpochTo();
 3. the PostgreSQL macro engine
    (pkg/tsdb/grafana-postgresql-datasource/macros.go): every
    $name(args) is a macro, args split on commas; an unknown one is an
    error.
$__interval is what the frontend computes: the range over the panel's
maxDataPoints (default 1000), rounded to Grafana's steps, at least the
panel's or the data source's minimum interval (default 1m for SQL).
"""
import argparse
import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys

DS_TYPE = "grafana-postgresql-datasource"
DS_UID = "${DS_WATCHSTAND}"


class ExpandError(Exception):
    pass


# ---- time ---------------------------------------------------------------

def rfc3339nano(ms):
    """Go's time.RFC3339Nano of a UTC instant: trailing zeros dropped."""
    t = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ms % 1000
    if frac:
        s += ("." + "%03d" % frac).rstrip("0")
    return s + "Z"


UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_interval(text):
    """gtime.ParseInterval for what dashboards use: 500ms, 10s, 5m, 1h, 1d,
    1w and Go durations such as 1h30m. Seconds, as a float."""
    text = text.strip()
    if not re.fullmatch(r"(\d+(\.\d+)?(ms|s|m|h|d|w))+", text):
        raise ExpandError("error parsing interval %s" % text)
    return sum(float(n) * UNITS[u] for n, _, u in
               re.findall(r"(\d+(\.\d+)?)(ms|s|m|h|d|w)", text))


def go_float(x):
    """Go's %v of a float64 for the values an interval gives."""
    return str(int(x)) if x == int(x) else repr(x)


# Grafana's rangeutil.roundInterval: (below this many ms, use this many ms).
ROUND_STEPS = [
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500),
    (1500, 1000), (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000),
    (25000, 20000), (45000, 30000), (90000, 60000), (210000, 120000),
    (450000, 300000), (750000, 600000), (1050000, 900000), (1500000, 1200000),
    (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
    (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
    (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000)]


def round_interval(ms):
    for below, step in ROUND_STEPS:
        if ms < below:
            return step
    return 31536000000


def seconds_to_hms(seconds):
    """Grafana's secondsToHms, the text of $__interval."""
    for unit, size in (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60),
                       ("s", 1)):
        if seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%dms" % int(seconds * 1000)


class Query:
    """One query's context: the time range and the panel's interval."""

    def __init__(self, from_ms, to_ms, max_points=1000, min_interval="1m"):
        self.from_ms, self.to_ms = from_ms, to_ms
        ms = round_interval((to_ms - from_ms) / max_points)
        low = parse_interval(min_interval) * 1000
        self.interval_ms = int(max(ms, low))
        self.interval = seconds_to_hms(self.interval_ms / 1000)


# ---- 1. the frontend's template service --------------------------------

VARIABLE_RE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")

ALL = "$__all"


class Variable:
    def __init__(self, spec):
        self.name = spec["name"]
        self.type = spec.get("type", "query")
        self.multi = bool(spec.get("multi"))
        self.include_all = bool(spec.get("includeAll"))
        self.all_value = spec.get("allValue") or None
        self.spec = spec
        self.options = []      # [(text, value)]
        self.current = None    # ALL, or a list of values, or one value


def quote_literal(v):
    return "'" + str(v).replace("'", "''") + "'"


def format_value(var, value, fmt):
    """A selected value (a string or a list) as the format asks; without a
    format, as the SQL data source's interpolateVariable does."""
    values = value if isinstance(value, list) else [value]
    if fmt is None:
        if isinstance(value, list):
            return ",".join(quote_literal(v) for v in value)
        if var.multi or var.include_all:
            return quote_literal(value)
        return str(value).replace("'", "''")
    if fmt == "csv" or fmt == "raw":
        return ",".join(values)
    if fmt == "sqlstring":
        return ",".join(quote_literal(v) for v in values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "json":
        return json.dumps(value)
    if fmt == "text":
        texts = dict((v, t) for t, v in var.options)
        return " + ".join(texts.get(v, v) for v in values)
    raise ExpandError("format %s of ${%s} is not supported here" % (fmt, var.name))


def builtins(q):
    rng = q.to_ms - q.from_ms
    return {
        "__interval": q.interval, "__interval_ms": str(q.interval_ms),
        "__from": str(q.from_ms), "__to": str(q.to_ms),
        "__range_ms": str(rng), "__range_s": str(rng // 1000),
        "__range": seconds_to_hms(rng / 1000),
    }


def frontend(sql, variables, q):
    scoped = builtins(q)

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in scoped:
            if fmt not in (None, "raw"):
                raise ExpandError("format %s of $%s is not supported here" % (fmt, name))
            return scoped[name]
        var = variables.get(name)
        if var is None:
            return m.group(0)
        if var.current is None:
            raise ExpandError("variable $%s has no value" % name)
        value = var.current
        if value == ALL:
            if var.all_value is not None and fmt != "text":
                return frontend(var.all_value, variables, q)
            value = [v for _, v in var.options]
        return format_value(var, value, fmt)

    return VARIABLE_RE.sub(repl, sql)


# ---- 2. and 3. the backend ----------------------------------------------

MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")


def backend_global(sql, q):
    sql = sql.replace("$__interval_ms", str(q.interval_ms))
    sql = sql.replace("$__interval", seconds_to_hms(q.interval_ms / 1000))
    sql = sql.replace("$__unixEpochFrom()", str(q.from_ms // 1000))
    sql = sql.replace("$__unixEpochTo()", str(q.to_ms // 1000))
    return sql


def macro(name, args, q):
    def need_column():
        if not args or args == [""]:
            raise ExpandError("missing time column argument for macro %s" % name)

    if name == "__time":
        need_column()
        return '%s AS "time"' % args[0]
    if name == "__timeEpoch":
        need_column()
        return 'extract(epoch from %s) as "time"' % args[0]
    if name == "__timeFilter":
        need_column()
        return "%s BETWEEN '%s' AND '%s'" % (args[0], rfc3339nano(q.from_ms),
                                            rfc3339nano(q.to_ms))
    if name == "__timeFrom":
        return "'%s'" % rfc3339nano(q.from_ms)
    if name == "__timeTo":
        return "'%s'" % rfc3339nano(q.to_ms)
    if name in ("__timeGroup", "__unixEpochGroup"):
        if len(args) < 2:
            raise ExpandError("macro %s needs time column and interval and "
                              "optional fill value" % name)
        secs = go_float(parse_interval(args[1].strip("'")))
        if len(args) == 3 and not re.fullmatch(r"NULL|previous|-?\d+(\.\d+)?", args[2]):
            raise ExpandError("macro %s: bad fill value %s" % (name, args[2]))
        if name == "__timeGroup":
            return "floor(extract(epoch from %s)/%s)*%s" % (args[0], secs, secs)
        return "floor((%s)/%s)*%s" % (args[0], secs, secs)
    if name in ("__timeGroupAlias", "__unixEpochGroupAlias"):
        return macro(name[:-len("Alias")], args, q) + ' AS "time"'
    if name == "__unixEpochFilter":
        need_column()
        return "%s >= %d AND %s <= %d" % (args[0], q.from_ms // 1000, args[0],
                                          q.to_ms // 1000)
    raise ExpandError('unknown macro "%s"' % name)


def backend_macros(sql, q):
    out, last = [], 0
    for m in MACRO_RE.finditer(sql):
        name = m.group(1)
        # Grafana's pre-5.3 compatibility: $__timeGroup(...) directly
        # followed by a comma (at its first occurrence) gets AS "time".
        if name == "__timeGroup":
            i = sql.find(m.group(0)) + len(m.group(0))
            if i < len(sql) and sql[i] == ",":
                name = "__timeGroupAlias"
        args = [a.strip(" ") for a in m.group(2).split(",")]
        out.append(sql[last:m.start()])
        out.append(macro(name, args, q))
        last = m.end()
    out.append(sql[last:])
    return "".join(out)


def expand(sql, variables, q):
    sql = frontend(sql, variables, q)
    sql = backend_global(sql, q)
    sql = backend_macros(sql, q)
    left = re.search(r"\$\{?[A-Za-z_]\w*|\[\[\w+", sql)
    if left:
        raise ExpandError("%s is left after expansion (no such variable)" % left.group(0))
    return sql


# ---- static checks -------------------------------------------------------

def relations_problems(sql):
    """Every relation after FROM or JOIN is a watchstand.v_* view, a CTE of
    the query, a subquery or a function outside the schema; nothing of the
    schema but its v_* views is named at all."""
    problems = []
    text = re.sub(r"'(?:[^']|'')*'", "''", sql)           # literals
    text = re.sub(r'"[^"]*"', '"x"', text)                 # quoted names
    text = re.sub(r"--[^\n]*", "", text)
    low = text.lower()
    for name in re.findall(r"\bwatchstand\s*\.\s*(\w+)", low):
        if not name.startswith("v_"):
            problems.append("watchstand.%s is not a v_ view" % name)
    ctes = set(re.findall(r"(?:\bwith|,)\s*(?:recursive\s+)?(\w+)\s+as\s+(?:not\s+)?(?:materialized\s+)?\(", low))
    low = re.sub(r"\bextract\s*\(\s*\w+\s+from\b", "extract(", low)
    low = re.sub(r"\bis\s+(not\s+)?distinct\s+from\b", "=", low)
    for m in re.finditer(r"\b(from|join)\s+(?:lateral\s+)?([a-z_][\w.]*)(\s*\()?", low):
        name, call = m.group(2), m.group(3)
        if call:
            continue                    # a function: the schema check above
        if name in ctes or name.startswith("watchstand.v_"):
            continue
        problems.append("%s %s is not a watchstand.v_* view" % (m.group(1).upper(), name))
    return problems


# ---- dashboards ------------------------------------------------------------

class Target:
    def __init__(self, dashboard, where, title, target, panel):
        self.dashboard, self.where, self.title = dashboard, where, title
        self.target, self.panel = target, panel
        self.sql = target.get("rawSql", "")
        self.format = target.get("format", "table")

    def label(self):
        return "%s / %s %s" % (self.dashboard, self.where, json.dumps(self.title))


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def ds_problems(where, ds):
    if not isinstance(ds, dict) or ds.get("type") != DS_TYPE or ds.get("uid") != DS_UID:
        return ["%s: datasource %s, not {type: %s, uid: %s}" % (where, json.dumps(ds), DS_TYPE, DS_UID)]
    return []


class Dashboard:
    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.doc = json.load(f)
        self.name = os.path.basename(path)
        self.problems = []
        d = self.doc
        if d.get("schemaVersion", 0) < 39:
            self.problems.append("schemaVersion %s is older than 39" % d.get("schemaVersion"))
        if not d.get("uid") or not d.get("title"):
            self.problems.append("no uid or title")
        self.variables = {}
        self.order = []
        for spec in d.get("templating", {}).get("list", []):
            v = Variable(spec)
            self.variables[v.name] = v
            self.order.append(v)
            if v.type == "query":
                self.problems += ds_problems("variable $" + v.name, spec.get("datasource"))
        if "DS_WATCHSTAND" not in self.variables or \
                self.variables["DS_WATCHSTAND"].type != "datasource":
            self.problems.append("no datasource variable DS_WATCHSTAND")
        self.targets = []
        ids = set()
        for p in walk_panels(d.get("panels", [])):
            if p.get("id") in ids:
                self.problems.append("panel id %s twice" % p.get("id"))
            ids.add(p.get("id"))
            if p.get("type") in ("row", "text"):
                continue
            where = "panel %s" % p.get("id")
            self.problems += ds_problems(where, p.get("datasource"))
            if not p.get("targets"):
                self.problems.append("%s has no query" % where)
            for t in p.get("targets", []):
                self.problems += ds_problems(where + " target " + t.get("refId", "?"), t.get("datasource"))
                if t.get("format") not in ("table", "time_series"):
                    self.problems.append("%s: format %s" % (where, t.get("format")))
                if not t.get("rawQuery") or not t.get("rawSql"):
                    self.problems.append("%s: not a raw SQL query" % where)
                self.targets.append(Target(self.name, where, p.get("title", ""), t, p))
        for a in d.get("annotations", {}).get("list", []):
            if a.get("builtIn"):
                continue
            t = a.get("target", {})
            where = "annotation"
            self.problems += ds_problems(where + " " + a.get("name", ""), a.get("datasource"))
            self.targets.append(Target(self.name, where, a.get("name", ""), t, {}))
        for v in self.order:
            if v.type == "query":
                self.problems += ["variable $%s: %s" % (v.name, p)
                                  for p in relations_problems(var_sql(v))]
        for t in self.targets:
            self.problems += ["%s: %s" % (t.label(), p) for p in relations_problems(t.sql)]


def var_sql(v):
    q = v.spec.get("query", "")
    return q.get("rawSql", q.get("query", "")) if isinstance(q, dict) else q


def custom_options(v):
    out = []
    for item in re.split(r"(?<!\\),", v.spec.get("query", "")):
        item = item.strip().replace("\\,", ",")
        if not item:
            continue
        text, _, value = item.partition(" : ")
        out.append((text, value or text))
    return out


def resolve(dash, q, choice, run, picks):
    """Options and a selection for every variable, in the dashboard's order:
    choice 'all' (All, or every value of a multi-value variable, or the
    first of a single one) or 'first'; picks: NAME -> [values] given."""
    for v in dash.order:
        if v.type == "query" and run is None:
            v.options = [(val, val) for val in picks[v.name]]
        elif v.type == "query":
            sql = expand(var_sql(v), dash.variables, q)
            try:
                header, rows = run(sql)
            except ExpandError as e:
                raise ExpandError("variable $%s: %s" % (v.name, e))
            # Columns __text and __value when given, else the first column.
            iv = header.index("__value") if "__value" in header else 0
            it = header.index("__text") if "__text" in header else iv
            opts = [(r[it], r[iv]) for r in rows]
            seen, v.options = set(), []
            for t, val in opts:
                if val not in seen:
                    seen.add(val)
                    v.options.append((t, val))
            if v.spec.get("sort") in (1, 2):
                v.options.sort(key=lambda o: o[0], reverse=v.spec["sort"] == 2)
        elif v.type == "custom":
            v.options = custom_options(v)
        elif v.type in ("constant", "textbox"):
            v.options = [(v.spec.get("query", ""), v.spec.get("query", ""))]
        elif v.type == "interval":
            v.options = [(o, o) for o in v.spec.get("query", "").split(",") if o]
        elif v.type == "datasource":
            v.options = [("watchstand", "watchstand")]
            v.current = "watchstand"
            continue
        else:
            raise ExpandError("variable $%s: type %s is not supported here" % (v.name, v.type))
        if v.spec.get("regex"):
            raise ExpandError("variable $%s: regex is not supported here" % v.name)
        if not v.options:
            raise ExpandError("variable $%s has no values" % v.name)
        values = [val for _, val in v.options]
        if v.name in picks:
            v.current = picks[v.name] if v.multi else picks[v.name][0]
        elif choice == "all" and v.include_all:
            v.current = ALL
        elif choice == "all" and v.multi:
            v.current = values
        else:
            v.current = [values[0]] if v.multi else values[0]


def query_context(target, from_ms, to_ms):
    """The panel's maxDataPoints and minimum interval, or the defaults."""
    p = target.panel
    return Query(from_ms, to_ms, p.get("maxDataPoints") or 1000,
                 p.get("interval") or "1m")


# ---- running ----------------------------------------------------------------

class Psql:
    def __init__(self, dsn):
        self.dsn = dsn

    def __call__(self, sql):
        r = subprocess.run(["psql", self.dsn, "-X", "--csv", "-v", "ON_ERROR_STOP=1",
                            "-c", sql], capture_output=True, text=True,
                           env=dict(os.environ, PGTZ="UTC"))
        if r.returncode != 0:
            raise ExpandError("%s\n  SQL: %s" % (r.stderr.strip(), sql.replace("\n", "\n       ")))
        rows = list(csv.reader(io.StringIO(r.stdout)))
        return (rows[0] if rows else []), rows[1:]


def parse_time(s):
    if re.fullmatch(r"-?\d+(\.\d+)?", s):
        return float(s)
    return dt.datetime.fromisoformat(s.replace("+00", "+00:00") if s.endswith("+00") else s).timestamp()


def result_problems(t, header, rows):
    if t.format == "time_series" or t.where == "annotation":
        if "time" not in header:
            return ["no column named time (%s)" % ", ".join(header)]
        i = header.index("time")
        times = [parse_time(r[i]) for r in rows if r[i] != ""]
        if t.format == "time_series" and times != sorted(times):
            return ["rows are not in ascending time order"]
    return []


def check(paths, dsn, range_s, may_be_empty, provisioning):
    run = Psql(dsn)
    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    from_ms, to_ms = now_ms - range_s * 1000, now_ms
    failures, panels, queries, variables = [], 0, 0, 0
    uids = {}
    for path in paths:
        dash = Dashboard(path)
        failures += ["%s: %s" % (dash.name, p) for p in dash.problems]
        uid = dash.doc.get("uid")
        if uid in uids:
            failures.append("%s: uid %s also in %s" % (dash.name, uid, uids[uid]))
        uids[uid] = dash.name
        panels += len({id(t.panel) for t in dash.targets if t.where != "annotation"})
        for choice in ("all", "first"):
            try:
                resolve(dash, Query(from_ms, to_ms), choice, run, {})
            except ExpandError as e:
                failures.append("%s (%s): %s" % (dash.name, choice, e))
                continue
            if choice == "all":
                variables += sum(1 for v in dash.order if v.type == "query")
            for t in dash.targets:
                try:
                    sql = expand(t.sql, dash.variables, query_context(t, from_ms, to_ms))
                    header, rows = run(sql)
                except ExpandError as e:
                    failures.append("%s (%s): %s" % (t.label(), choice, e))
                    continue
                queries += 1
                for p in result_problems(t, header, rows):
                    failures.append("%s (%s): %s" % (t.label(), choice, p))
                if choice == "all":
                    empty = not rows and t.title not in may_be_empty
                    print("%-6s %s: %d rows" % ("EMPTY" if empty else "ok", t.label(), len(rows)))
                    if empty:
                        failures.append("%s: no rows from data that should give some" % t.label())
    if provisioning:
        try:
            failures += provisioning_problems(provisioning, [Dashboard(p) for p in paths])
        except (OSError, KeyError, AttributeError) as e:
            failures.append("provisioning %s: %s" % (provisioning, e))
    for f in failures:
        print("FAIL " + f)
    print("checked %d panels in %d dashboards: %d queries run (every variable at All, "
          "then at its first value), %d variable queries; %d failures"
          % (panels, len(paths), queries, variables, len(failures)))
    return 1 if failures else 0


def provisioning_problems(folder, dashboards):
    """The shipped provisioning examples fit the dashboards: a data source of
    their type with the uid their data source variable picks first, and a
    file provider of dashboards."""
    import yaml
    problems = []
    with open(os.path.join(folder, "datasources.yaml")) as f:
        sources = yaml.safe_load(f).get("datasources") or []
    with open(os.path.join(folder, "dashboards.yaml")) as f:
        providers = yaml.safe_load(f).get("providers") or []
    for d in dashboards:
        want = d.variables["DS_WATCHSTAND"].spec.get("current", {}).get("value")
        if not any(s.get("type") == DS_TYPE and s.get("uid") == want for s in sources):
            problems.append("datasources.yaml: no %s data source with uid %s (%s picks it)"
                            % (DS_TYPE, want, d.name))
    for s in sources:
        if s.get("user") in (None, "", "postgres", "watchstand", "watchstand_collector"):
            problems.append("datasources.yaml: %s logs in as %r, not a read-only role"
                            % (s.get("name"), s.get("user")))
    if not any(p.get("type") == "file" and p.get("options", {}).get("path") for p in providers):
        problems.append("dashboards.yaml: no file provider with a path")
    return problems


def cmd_expand(args):
    dash = Dashboard(args.dashboard)
    for p in dash.problems:
        print("-- problem: " + p)
    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    from_ms = now_ms - parse_range(args.range) * 1000
    picks = {}
    for item in args.var or []:
        name, _, vals = item.partition("=")
        picks[name] = vals.split(",")
    for v in dash.order:
        if v.type == "query" and v.name not in picks:
            raise SystemExit("give --var %s=... (expand does not run queries)" % v.name)
    resolve(dash, Query(from_ms, now_ms), "all", None, picks)
    for v in dash.order:
        if v.type == "query":
            print("-- variable $%s\n%s;\n" % (v.name, expand(var_sql(v), dash.variables, Query(from_ms, now_ms))))
    for t in dash.targets:
        print("-- %s [%s]\n%s;\n" % (t.label(), t.format,
                                    expand(t.sql, dash.variables, query_context(t, from_ms, now_ms))))


def parse_range(text):
    return int(parse_interval(text))


def selftest():
    """Expansions as Grafana's macros_test.go and documentation give them."""
    q = Query(1492750877000, 1492751177000)        # 2017-04-21T05:01:17Z + 5m
    host = Variable({"name": "host", "multi": True, "includeAll": True})
    host.options = [("a", "a"), ("o'b", "o'b")]
    one = Variable({"name": "one"})
    one.options, one.current = [("o'b", "o'b")], "o'b"
    cust = Variable({"name": "cust", "includeAll": True, "allValue": ".*"})
    cust.options, cust.current = [("x", "x")], ALL
    vs = {"host": host, "one": one, "cust": cust}
    cases = [
        ("WHERE $__timeFilter(time_column)",
         "WHERE time_column BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'"),
        ("select $__timeFrom(), $__timeTo()",
         "select '2017-04-21T05:01:17Z', '2017-04-21T05:06:17Z'"),
        ("GROUP BY $__timeGroup(time_column,'5m')",
         "GROUP BY floor(extract(epoch from time_column)/300)*300"),
        ("SELECT $__timeGroup(time_column,'5m'), x",
         "SELECT floor(extract(epoch from time_column)/300)*300 AS \"time\", x"),
        ("SELECT $__timeGroupAlias(time_column, '1h', 0)",
         "SELECT floor(extract(epoch from time_column)/3600)*3600 AS \"time\""),
        ("select $__time(time_column)", "select time_column AS \"time\""),
        ("WHERE $__unixEpochFilter(time)",
         "WHERE time >= 1492750877 AND time <= 1492751177"),
        ("$__unixEpochFrom() $__unixEpochTo()", "1492750877 1492751177"),
        ("$__interval $__interval_ms", "1m 60000"),
        ("$__timeGroup(t, $__interval)", "floor(extract(epoch from t)/60)*60"),
        ("host IN ($host)", "host IN ('a','o''b')"),
        ("host IN (${host})", "host IN ('a','o''b')"),
        ("host IN ([[host]])", "host IN ('a','o''b')"),
        ("'${host:csv}' ${host:sqlstring}", "'a,o'b' 'a','o''b'"),
        ("name = '$one'", "name = 'o''b'"),
        ("x ~ '$cust'", "x ~ '.*'"),
        ("'$__unknown'", None),
        ("$__notAMacro(x)", None),
        ("$__timeGroup(t)", None),
    ]
    host.current = ALL
    bad = 0
    for sql, want in cases:
        try:
            got = expand(sql, vs, q)
        except ExpandError as e:
            got = None
            err = str(e)
        if got != want:
            bad += 1
            print("selftest: %r -> %r, want %r%s" % (sql, got, want,
                  " (%s)" % err if got is None else ""))
    wide = Query(0, 2 * 86400 * 1000)
    for got, want in ((wide.interval, "2m"), (wide.interval_ms, 120000),
                      (Query(0, 3600000).interval, "1m"),
                      (Query(0, 3600000, 1000, "1s").interval, "5s"),
                      (rfc3339nano(1492750877123), "2017-04-21T05:01:17.123Z"),
                      (rfc3339nano(1492750877100), "2017-04-21T05:01:17.1Z")):
        if got != want:
            bad += 1
            print("selftest: %r, want %r" % (got, want))
    for sql, n in (("SELECT 1 FROM watchstand.v_samples s JOIN watchstand.v_hosts h ON true", 0),
                   ("WITH x AS (SELECT 1) SELECT extract(epoch FROM ts) FROM x, generate_series(1, 2)", 0),
                   ("SELECT * FROM watchstand.alarms", 2),
                   ("SELECT * FROM v_samples", 1),
                   ("SELECT * FROM watchstand.kpis(now(), now())", 1)):
        if len(relations_problems(sql)) != n:
            bad += 1
            print("selftest: relations of %r: %s" % (sql, relations_problems(sql)))
    print("selftest: %d failures" % bad)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("expand")
    e.add_argument("dashboard")
    e.add_argument("--range", default="2d")
    e.add_argument("--var", action="append")
    c = sub.add_parser("check")
    c.add_argument("--dsn", required=True)
    c.add_argument("--range", default="2d")
    c.add_argument("--may-be-empty", action="append", default=[])
    c.add_argument("--provisioning", help="folder of datasources.yaml and dashboards.yaml to check")
    c.add_argument("dashboards", nargs="+")
    sub.add_parser("selftest")
    args = ap.parse_args()
    try:
        if args.cmd == "selftest":
            return selftest()
        if args.cmd == "expand":
            return cmd_expand(args)
        return check(args.dashboards, args.dsn, parse_range(args.range),
                     set(args.may_be_empty), args.provisioning)
    except (ExpandError, OSError, ValueError) as e:
        print("grafana_sql.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
