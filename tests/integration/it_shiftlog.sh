# The shift log against its own collector and against a superuser: the
# collector runs as watchstand_collector, which can only read and append;
# the chain's head is anchored in the state directory, so verify-log
# names entries removed from the end and a chain recomputed after an edit.
. "$(dirname "$0")/lib.sh"

it_setup host-s
C="$WS_BUILD/watchstand-collector"
COLL_DSN="host=127.0.0.1 port=$WS_PGPORT user=watchstand_collector dbname=watchstand"
as_collector() { psql "$COLL_DSN" -X -At -v ON_ERROR_STOP=1 -c "$1"; }
anchor_field() { awk -v k="$1" '$1 == k { print $2 }' "$IT/state/shiftlog.anchor"; }
head_id() { ws_psql "select max(id) from watchstand.shift_log"; }
head_hash() { ws_psql "select encode(hash, 'hex') from watchstand.shift_log order by id desc limit 1"; }

# public_url defaults to the HTTP listener, with a warning for phones.
"$C" -c "$IT/collector.yaml" check-config >"$IT/check.out" 2>&1 || it_fail "check-config: $(cat "$IT/check.out")"
grep -q "^warning: collector.public_url is not set: links in pages use http://127.0.0.1:$IT_HTTP, which phones cannot open" "$IT/check.out" ||
  it_fail "no public_url warning: $(cat "$IT/check.out")"
it_ok "check-config warns that public_url defaults to the listener"

# The role exists after migrate and may log in.
[ "$(as_collector "select current_user")" = watchstand_collector ] ||
  it_fail "migrate did not create the login role watchstand_collector"

# As the superuser, without allow_owner: refused, naming the role and the way out.
sed '/allow_owner/d' "$IT/collector.yaml" >"$IT/owner.yaml"
set +e
"$C" -c "$IT/owner.yaml" run 2>"$IT/refused.log"
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "run as the superuser without allow_owner exited $rc"
grep -q "refusing to run as database user 'postgres': it is a superuser" "$IT/refused.log" ||
  it_fail "the refusal does not say why: $(cat "$IT/refused.log")"
grep -q "watchstand_collector" "$IT/refused.log" && grep -q "collector.allow_owner: true" "$IT/refused.log" ||
  it_fail "the refusal does not say what to do: $(cat "$IT/refused.log")"
[ "$(ws_psql "select count(*) from watchstand.shift_log")" = 0 ] ||
  it_fail "a refused collector wrote to the shift log"
it_ok "run refuses a superuser without collector.allow_owner"

# Not a superuser, but a member of the owner's role: refused too.
ws_psql "create role ws_member login; grant postgres to ws_member" >/dev/null
sed "s|user=postgres|user=ws_member|" "$IT/owner.yaml" >"$IT/member.yaml"
set +e
"$C" -c "$IT/member.yaml" run 2>"$IT/refused.log"
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "run as a member of the owner role exited $rc"
grep -q "refusing to run as database user 'ws_member': it is a member of the role that owns the shift_log table" "$IT/refused.log" ||
  it_fail "the owner is not refused: $(cat "$IT/refused.log")"
it_ok "run refuses the shift log's owner without collector.allow_owner"

# As watchstand_collector (no allow_owner). Today's and tomorrow's day
# partitions are gone: the collector's role must create them.
sed -e '/allow_owner/d' -e "s|database: .*|database: \"$COLL_DSN\"|" "$IT/collector.yaml" >"$IT/run.yaml"
mv "$IT/run.yaml" "$IT/collector.yaml"
ws_psql "drop table if exists watchstand.samples_$(date -u +%Y%m%d); drop table if exists watchstand.samples_$(date -u -d tomorrow +%Y%m%d)" >/dev/null
it_agent_config host-s "  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-s
ws_wait_for 20 it_has host-s fs.fill_pct || it_fail "no samples stored while running as watchstand_collector"
[ "$(ws_psql "select count(*) from pg_class where relname = 'samples_$(date -u +%Y%m%d)'")" = 1 ] ||
  it_fail "today's partition was not created"
it_ok "samples stored as watchstand_collector (partition created through ensure_partition)"

started=$(ws_psql "select text from watchstand.v_shift_log where kind = 'system' order by id limit 1")
case "$started" in "collector "*" started (last entry none)") ;; *) it_fail "no start entry: '$started'" ;; esac
it_ok "start entry: $started"

# The collector's role may append and read, nothing else.
as_collector "insert into watchstand.shift_log (kind, actor, text) values ('note', 'it', 'appended by the collector role')" >/dev/null ||
  it_fail "watchstand_collector cannot append to the shift log"
refused() {
  local what=$1 sql=$2 want=$3 out
  if out=$(as_collector "$sql" 2>&1); then it_fail "$what was allowed to watchstand_collector"; fi
  echo "$out" | grep -q "$want" || it_fail "$what: '$out' (want '$want')"
  it_ok "$what refused: $(echo "$out" | head -1)"
}
refused DELETE "delete from watchstand.shift_log" "permission denied for table shift_log"
refused UPDATE "update watchstand.shift_log set text = 'x'" "permission denied for table shift_log"
refused TRUNCATE "truncate watchstand.shift_log" "permission denied for table shift_log"
refused "ALTER TABLE" "alter table watchstand.shift_log disable trigger shift_log_append_only" "must be owner of table shift_log"
refused "session_replication_role" "set session_replication_role = replica" "permission denied to set parameter"

# Entries from several places; the anchor follows the head.
for i in 1 2 3 4 5; do
  ws_psql "insert into watchstand.shift_log (kind, actor, text) values ('note', 'it', 'note $i')" >/dev/null
done
anchored() { [ -f "$IT/state/shiftlog.anchor" ] && [ "$(anchor_field id)" = "$(head_id)" ] && [ "$(anchor_field hash)" = "$(head_hash)" ]; }
ws_wait_for 20 anchored || it_fail "the anchor does not follow the head (anchor $(anchor_field id), head $(head_id))"
it_ok "anchor names the head: entry $(anchor_field id)"
[ "$(stat -c %a "$IT/state/shiftlog.anchor")" = 600 ] || it_fail "anchor mode $(stat -c %a "$IT/state/shiftlog.anchor")"
[ -f "$IT/state/ack.key" ] || it_fail "notify.secret_file did not default to state_dir/ack.key"
it_ok "the ack-link key was created in the state directory"

it_stop_collector
[ "$(ws_psql "select text from watchstand.v_shift_log order by id desc limit 1")" = "collector stopping" ] ||
  it_fail "no stop entry: $(ws_psql "select text from watchstand.v_shift_log order by id desc limit 1")"
anchored || it_fail "the stop entry was not anchored (anchor $(anchor_field id), head $(head_id))"
it_ok "stop entry written and anchored before exit"
it_start_collector
last=$(ws_psql "select max(id) from watchstand.shift_log where text = 'collector stopping'")
ws_psql "select text from watchstand.v_shift_log where kind = 'system' order by id desc limit 1" | grep -qx "collector .* started (last entry $last)" ||
  it_fail "restart entry does not name the last entry $last"
it_ok "restart entry names the last entry ($last)"
it_stop_collector
total=$(ws_psql "select count(*) from watchstand.shift_log")

verify() {
  set +e
  "$C" -c "$IT/collector.yaml" verify-log >"$IT/verify.out" 2>&1
  VRC=$?
  set -e
  cat "$IT/verify.out"
}
verify
[ $VRC -eq 0 ] || it_fail "verify-log on an untouched log exited $VRC"
head=$(head_id)
grep -q "shift log: $total entries, chain intact up to the anchor (entry $head, written at " "$IT/verify.out" ||
  it_fail "verify-log does not report the anchor"
grep -q "; 0 entries after it" "$IT/verify.out" || it_fail "entries after the anchor not counted"
it_ok "verify-log: intact up to the anchor"

# Entries after the anchor (written while no collector ran) are fine.
ws_psql "insert into watchstand.shift_log (kind, actor, text) values ('note', 'it', 'after the anchor')" >/dev/null
verify
[ $VRC -eq 0 ] && grep -q "; 1 entry after it" "$IT/verify.out" || it_fail "an entry after the anchor: exit $VRC"
it_ok "entries after the anchor are counted, not refused"

# The superuser deletes the newest entries, triggers bypassed: the chain
# left is intact in itself, the anchor names what is missing.
ws_psql "create table public.bak as select * from watchstand.shift_log where id > $head - 3" >/dev/null
ws_psql "set session_replication_role = replica; delete from watchstand.shift_log where id > $head - 3" >/dev/null
verify
[ $VRC -eq 1 ] || it_fail "verify-log after deleting the newest entries exited $VRC"
grep -q "shift log: entries $((head - 2))..$head are missing: the anchor written at .* names entry $head" "$IT/verify.out" ||
  it_fail "verify-log does not name the missing entries"
it_ok "deleted newest entries named"

# Put them back as they were: intact again.
ws_psql "set session_replication_role = replica; insert into watchstand.shift_log select * from public.bak; drop table public.bak" >/dev/null
verify
[ $VRC -eq 0 ] || it_fail "verify-log after restoring exited $VRC"

# An edit, then the chain recomputed from there on: consistent in itself,
# but not with the anchor.
edited=$((head - 4))
ws_psql "set session_replication_role = replica;
update watchstand.shift_log set text = 'nothing happened' where id = $edited;
do \$\$ declare e watchstand.shift_log; p bytea; begin
  select hash into p from watchstand.shift_log where id < $edited order by id desc limit 1;
  for e in select * from watchstand.shift_log where id >= $edited order by id loop
    e.prev_hash := p;
    e.hash := sha256(coalesce(p, ''::bytea) || watchstand.shift_log_payload(e));
    update watchstand.shift_log set prev_hash = e.prev_hash, hash = e.hash where id = e.id;
    p := e.hash;
  end loop;
end \$\$" >/dev/null
verify
[ $VRC -eq 1 ] || it_fail "verify-log after a recomputed chain exited $VRC"
grep -q "shift log: the chain was rewritten: entry $head has hash .*, but the anchor written at .* names hash $(anchor_field hash)" "$IT/verify.out" ||
  it_fail "verify-log does not say the chain was rewritten"
it_ok "recomputed chain detected"

# Without an anchor: verified as before, with a warning.
mv "$IT/state/shiftlog.anchor" "$IT/anchor.saved"
verify
[ $VRC -eq 0 ] || it_fail "verify-log without an anchor exited $VRC"
grep -q "^warning: shift log anchor not found ($IT/state/shiftlog.anchor)" "$IT/verify.out" ||
  it_fail "no warning about the missing anchor"
grep -q "chain intact$" "$IT/verify.out" || it_fail "no verdict without an anchor"
it_ok "no anchor: a warning, the chain verified as before"

# A running collector does not move the anchor past a rewritten entry: it
# says so once, keeps the file, and follows the head again once the file
# is moved away.
mv "$IT/anchor.saved" "$IT/state/shiftlog.anchor"
it_start_collector
ws_wait_for 20 grep -q "shift log: entry $head named by the anchor in $IT/state/shiftlog.anchor is not what it was (the chain was rewritten)" "$IT/collector.log" ||
  it_fail "the collector did not notice the rewritten entry $head"
ws_psql "insert into watchstand.shift_log (kind, actor, text) values ('note', 'it', 'while stuck')" >/dev/null
[ "$(anchor_field id)" = "$head" ] || it_fail "the anchor moved past a rewritten entry"
rm "$IT/state/shiftlog.anchor"
ws_wait_for 20 anchored || it_fail "the head was not anchored again after the anchor was moved away"
grep -q "shift log: the anchor was moved away; following the head of the chain again" "$IT/collector.log" ||
  it_fail "no word that the anchor follows the head again"
it_stop_collector
it_ok "a gap keeps the anchor as evidence until it is moved away"

# The database down at start: the user is checked once it is up (and the
# superuser refused then: the collector stops).
ws_pg_stop "$IT/pg"
"$C" -c "$IT/owner.yaml" run 2>"$IT/late.log" &
late=$!
IT_PIDS+=("$late")
ws_wait_for 20 grep -q "the database is not reachable at start" "$IT/late.log" ||
  it_fail "no word that the user is checked later"
WS_PGPORT_WANT=$WS_PGPORT ws_pg_start "$IT/pg"
exited() { ! kill -0 "$late" 2>/dev/null; }
ws_wait_for 30 exited || it_fail "the collector kept running as the superuser once the database was up"
set +e
wait "$late"
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "refused late, the collector exited $rc"
grep -q "refusing to run as database user 'postgres': it is a superuser" "$IT/late.log" ||
  it_fail "the late refusal does not say why"
it_ok "database down at start: the superuser is refused once it is up"
