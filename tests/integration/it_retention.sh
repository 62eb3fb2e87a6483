# Day partitions older than collector.retention are dropped; today's and
# tomorrow's exist; an agent failing over from a dead collector address.
. "$(dirname "$0")/lib.sh"

it_setup host-t
echo "  retention: 7d" >>"$IT/collector.yaml"
old=$(date -u -d '-10 days' +%F)
kept=$(date -u -d '-5 days' +%F)
ws_psql "select watchstand.ensure_partition('$old'); select watchstand.ensure_partition('$kept')" >/dev/null
oldname=samples_$(date -u -d '-10 days' +%Y%m%d)
keptname=samples_$(date -u -d '-5 days' +%Y%m%d)
parts() { ws_psql "select string_agg(relname, ' ' order by relname) from pg_class where relname like 'samples_2%'"; }
echo "before: $(parts)"
it_start_collector
gone() { ! parts | grep -q "$oldname"; }
ws_wait_for 15 gone || it_fail "partition $oldname (older than 7d) was not dropped"
parts | grep -q "$keptname" || it_fail "partition $keptname (within 7d) was dropped"
parts | grep -q "samples_$(date -u -d tomorrow +%Y%m%d)" || it_fail "tomorrow's partition is missing"
grep -q "dropped 1 day partitions older than the retention" "$IT/collector.log" ||
  it_fail "the drop was not logged"
echo "after:  $(parts)"
it_ok "retention drops whole old days only"

# The first collector in the list is dead: the agent fails over in order.
dead=$(ws_free_port)
it_agent_config host-t "  - {name: fs, type: filesystem, interval: 1s, path: /}"
sed -i "s/collectors: \[\"127.0.0.1:$IT_LISTEN\"\]/collectors: [\"127.0.0.1:$dead\", \"127.0.0.1:$IT_LISTEN\"]/" "$IT/host-t.yaml"
grep -q "$dead" "$IT/host-t.yaml" || it_fail "test setup: dead collector not in config"
it_start_agent host-t
ws_wait_for 20 it_has host-t fs.fill_pct || it_fail "agent did not fail over to the second collector"
grep -q "collector 127.0.0.1:$dead: " "$IT/host-t.log" || it_fail "the dead collector was not tried first"
it_ok "agent tried the dead collector first, then failed over"
