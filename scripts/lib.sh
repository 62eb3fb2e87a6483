# Shared shell helpers for scripts/demo, scripts/test and the integration
# tests: a private PostgreSQL cluster, a demo CA, free ports.
# shellcheck shell=bash

WS_ROOT=${WS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

ws_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  echo "$d"
}

# A free TCP port on 127.0.0.1, outside the kernel's ephemeral range: a port
# the kernel hands out (bind to 0) is free again once closed, and any
# outgoing connection may take it as its source port before a restarted
# daemon binds it again.
ws_free_port() {
  python3 - <<'PY'
import random, socket
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
ranges = [r for r in ((10000, lo - 1), (hi + 1, 65535)) if r[1] - r[0] > 1000]
for _ in range(200):
    a, b = random.choice(ranges)
    port = random.randint(a, b)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port outside the ephemeral range")
PY
}

# Runs a command as the unprivileged owner of the cluster.
ws_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# ws_pg_start DIR: initdb (once) and start a cluster on a free port.
# Sets WS_PGPORT and WS_PGHOST (the socket folder) and WS_DSN.
ws_pg_start() {
  local dir=$1 bin
  bin=$(ws_pg_bin) || return 1
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    ws_as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; return 1; }
  fi
  # A server left running by an earlier run that was killed: stop it.
  if ws_as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    ws_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  WS_PGPORT=${WS_PGPORT_WANT:-$(ws_free_port)}
  WS_PGHOST=$dir
  ws_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $WS_PGPORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=${WS_PG_FSYNC:-on}" \
    start >/dev/null || { tail -20 "$dir/postgres.log" >&2; return 1; }
  WS_DSN="host=127.0.0.1 port=$WS_PGPORT user=postgres dbname=watchstand"
  if ! ws_as_pg "$bin/psql" -h "$dir" -p "$WS_PGPORT" -U postgres -Atqc \
      "select 1 from pg_database where datname='watchstand'" postgres | grep -q 1; then
    ws_as_pg "$bin/createdb" -h "$dir" -p "$WS_PGPORT" -U postgres watchstand
  fi
  export WS_PGPORT WS_PGHOST WS_DSN
}

ws_pg_stop() {
  local dir=$1 bin
  bin=$(ws_pg_bin) || return 0
  [ -f "$dir/data/postmaster.pid" ] || return 0
  ws_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ws_psql SQL: runs a query against the private cluster, unaligned output.
ws_psql() {
  psql "$WS_DSN" -X -At -v ON_ERROR_STOP=1 -c "$1"
}

# ws_certs DIR AGENT...: a CA, a collector certificate for localhost and
# 127.0.0.1, and one client certificate per agent name (CN and DNS SAN).
ws_certs() {
  local dir=$1 name
  shift
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    if [ ! -f ca.pem ]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.pem -days 3650 -subj "/CN=watchstand demo CA" 2>/dev/null
    fi
    ws_cert_sign collector "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    for name in "$@"; do
      ws_cert_sign "$name" "subjectAltName=DNS:$name
extendedKeyUsage=clientAuth"
    done
  )
}

# ws_cert_sign NAME EXTENSIONS (inside the CA folder).
ws_cert_sign() {
  local name=$1 ext=$2
  [ -f "$name.pem" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$name.pem" -days 825 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  chmod 600 "$name.key"
}

# ws_wait_for TIMEOUT_S CMD...: polls until CMD succeeds.
ws_wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.3
  done
  return 1
}

# ws_build DIR [cmake args]: configure once and build.
ws_build() {
  local dir=$1
  shift
  cmake -S "$WS_ROOT" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" -- --no-print-directory >/dev/null
}
