# The spool's limits in a running agent: with no collector to take its
# batches, an agent at max_size drops its oldest segments and one with a
# short max_age drops what is older, each with a log line; spool.bytes never
# passes max_size; once a collector is up, the agents report their drops and
# /metrics shows them as watchstand_agent_spool_dropped_{batches,samples}_total.
. "$(dirname "$0")/lib.sh"

it_setup host-size host-age
# Six netif probes on lo every 100 ms: a steady few kB/s whatever else runs.
probes=""
for i in 1 2 3 4 5 6; do
  probes+="  - {name: n$i, type: netif, interval: 100ms, interface: lo, capacity: 1Gbit}
"
done
it_agent_config host-size "$probes"
sed -i 's/max_size: 16MiB, max_age: 1h/max_size: 64KiB, max_age: 1h/' "$IT/host-size.yaml"
# The age bound drops whole segments (max_size / 8 each) once their newest
# record is older than max_age: 1 MiB gives 128 KiB segments, filled in
# seconds by the same probes, and far from the size bound.
it_agent_config host-age "$probes"
sed -i 's/max_size: 16MiB, max_age: 1h/max_size: 1MiB, max_age: 2s/' "$IT/host-age.yaml"
grep -q "max_size: 64KiB, max_age: 1h" "$IT/host-size.yaml" || it_fail "spool limits not set for host-size"
grep -q "max_size: 1MiB, max_age: 2s" "$IT/host-age.yaml" || it_fail "spool limits not set for host-age"

# No collector yet: everything stays in the spools.
it_start_agent host-size
it_start_agent host-age
full() { grep -qE "spool: full or too old, dropped [1-9][0-9]* batches \([1-9][0-9]* samples\) never delivered" "$IT/host-size.log"; }
ws_wait_for 60 full || it_fail "host-size never dropped at max_size"
grep -m1 "spool: full" "$IT/host-size.log"
too_old() { grep -qE "spool: (dropped [1-9][0-9]* batches older than max_age|full or too old, dropped [1-9])" "$IT/host-age.log"; }
ws_wait_for 60 too_old || it_fail "host-age never dropped at max_age"
grep -m1 -E "spool: (dropped|full)" "$IT/host-age.log"
# Fewer than 8 segments ever written: under max_size, so the age bound did it.
segs=("$IT"/spool-host-age/*.seg) # named by id, so sorted
newest=$(basename "${segs[-1]}")
echo "host-age: ${#segs[@]} segment(s) left, newest $newest"
[ "$((10#${newest%.seg}))" -lt 8 ] || it_fail "host-age wrote $newest segments: the size bound may have dropped"
it_ok "offline agents drop at max_size and at max_age, with a log line"

it_start_collector
for h in host-size host-age; do
  drops() { [ "$(it_latest "$1" spool.dropped_batches | cut -d. -f1)" -gt 0 ] 2>/dev/null; }
  ws_wait_for 60 drops "$h" || it_fail "$h did not report spool.dropped_batches > 0"
  # Replayed to the end: at most the live batch in flight is pending (a
  # sample taken while it waits for its ack counts it).
  drained() { [ "$(it_latest "$1" spool.pending_batches | cut -d. -f1)" -le 1 ] 2>/dev/null; }
  ws_wait_for 90 drained "$h" || it_fail "$h: spool.pending_batches did not fall to 1 or 0"
  # The collector's figures equal what the agent last reported.
  same() {
    local b s mb ms
    b=$(it_latest "$1" spool.dropped_batches)
    s=$(it_latest "$1" spool.dropped_samples)
    mb=$(it_metric "watchstand_agent_spool_dropped_batches_total{agent=\"$1\"}")
    ms=$(it_metric "watchstand_agent_spool_dropped_samples_total{agent=\"$1\"}")
    [ -n "$mb" ] && [ "$mb" = "$b" ] && [ "$ms" = "$s" ] && [ "${ms%%.*}" -ge "${mb%%.*}" ]
  }
  ws_wait_for 20 same "$h" || it_fail "$h: /metrics $(it_metric "watchstand_agent_spool_dropped_batches_total{agent=\"$h\"}") batches, agent reported $(it_latest "$h" spool.dropped_batches)"
  echo "$h: dropped $(it_metric "watchstand_agent_spool_dropped_batches_total{agent=\"$h\"}") batches," \
    "$(it_metric "watchstand_agent_spool_dropped_samples_total{agent=\"$h\"}") samples"
done
it_ok "drops reported as samples and in /metrics"

most=$(ws_psql "select max(value) from watchstand.v_samples where host = 'host-size' and series = 'spool.bytes'")
n=$(it_count host-size spool.bytes)
echo "host-size spool.bytes: at most $most over $n reports (max_size 65536)"
[ "$n" -gt 0 ] || it_fail "no spool.bytes from host-size"
python3 -c "import sys; sys.exit(0 if float('$most') <= 65536 else 1)" ||
  it_fail "spool.bytes $most passed max_size"
it_ok "spool.bytes stays within max_size"
