# --check / check-config print every error, exit non-zero, start nothing.
. "$(dirname "$0")/lib.sh"

cd "$WS_ROOT/tests/fixtures/config"
for f in agent-bad-units agent-bad-keys agent-syntax; do
  set +e
  out=$("$WS_BUILD/watchstand-agent" --check -c $f.yaml 2>&1)
  rc=$?
  set -e
  [ $rc -eq 1 ] || it_fail "$f: exit $rc"
  diff <(echo "$out") $f.expected || it_fail "$f: messages differ"
done
set +e
out=$("$WS_BUILD/watchstand-collector" -c collector-bad.yaml check-config 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "collector-bad: exit $rc"
diff <(echo "$out") collector-bad.expected || it_fail "collector-bad: messages differ"
"$WS_BUILD/watchstand-agent" --check -c agent-good.yaml | grep -q "configuration OK" ||
  it_fail "good config refused"
it_ok "config checks print every error with file:line:column"
