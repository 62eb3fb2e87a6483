# Adaptive batching (agent.md, "Batching"): with `flush: 60s` a sample still
# leaves at once while the link is idle, so samples arrive long before any
# flush; while a batch is in flight (the collector frozen with SIGSTOP, its
# ack held back) the samples coalesce and leave together, in one or two
# batches, when the ack comes; none is lost or stored twice.
. "$(dirname "$0")/lib.sh"

H=batch-$$
it_setup "$H"
touch "$IT/watched"
it_agent_config "$H" "  - {name: fage, type: file_age, interval: 250ms, path: $IT/watched}"
sed -i 's/^  spool: .*/&\n  flush: 60s/' "$IT/$H.yaml"
grep -q "flush: 60s" "$IT/$H.yaml" || it_fail "flush not set"
it_start_collector
it_start_agent "$H"
# A frozen collector would never take the cleanup's SIGTERM.
it_on_exit 'kill -CONT $IT_COLLECTOR_PID 2>/dev/null'

count() { it_count "$H" fage.age_s; }
count_over() { [ "$(count)" -gt "$1" ]; }
ws_wait_for 40 count_over 8 || it_fail "only $(count) samples: held back for the 60 s flush"
it_ok "a sample leaves at once while the link is idle ($(count) samples, flush 60s)"

batches() { it_metric watchstand_batches_total; }
b0=$(batches)
t_stop=$(date +%s.%N)
kill -STOP "$IT_COLLECTOR_PID"
# Frozen for a while (well under the agent's 20 s read timeout): the agent
# measures on; nothing is asserted about how long this takes. Then the probe
# is reloaded with a long interval, so that after the thaw only what was
# measured while frozen (and the agent's own stats) is sent.
sleep 4
sed -i 's/interval: 250ms/interval: 1h/' "$IT/$H.yaml"
kill -HUP "$IT_AGENT_PID"
ws_wait_for 20 grep -q "SIGHUP: config reloaded" "$IT/$H.log" || it_fail "the agent did not reload"
t_cont=$(date +%s.%N)
kill -CONT "$IT_COLLECTOR_PID"
during() {
  ws_psql "select count(*) from watchstand.v_samples where host = '$H' and series = 'fage.age_s'
    and ts > to_timestamp($t_stop) and ts < to_timestamp($t_cont)"
}
arrived() { [ "$(during)" -ge 8 ]; }
ws_wait_for 40 arrived || it_fail "only $(during) samples measured while frozen arrived"
b1=$(batches)
echo "frozen: $(during) runs of the probe arrived in $((b1 - b0)) batches"
# At most one batch was in flight when the collector froze, the rest
# coalesced into one (and the agent's stats may have made one more).
[ $((b1 - b0)) -le 4 ] || it_fail "$((b1 - b0)) batches for $(during) probe runs: not coalesced while in flight"
dups=$(ws_psql "select count(*) from (select 1 from watchstand.v_samples where host = '$H'
  group by series, ts having count(*) > 1) x")
[ "$dups" -eq 0 ] || it_fail "$dups (host, series, ts) stored twice"
it_ok "while a batch was in flight the samples coalesced and left together at the ack"
