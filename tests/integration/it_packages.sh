# The Debian packages (deploy/debian/package.cmake): cpack builds them from
# the build tree; their files, conffiles, Depends and maintainer scripts are
# checked with dpkg-deb (and lintian when installed); unpacked into a fresh
# root, the installed binaries check the installed example configs. Nothing
# is installed on this machine.
. "$(dirname "$0")/lib.sh"

command -v dpkg-deb >/dev/null || it_fail "dpkg-deb missing (scripts/install-deps)"
command -v dpkg-shlibdeps >/dev/null || it_fail "dpkg-shlibdeps missing: apt-get install dpkg-dev"

OUT=$IT/out
(cd "$WS_BUILD" && cpack -G DEB -B "$OUT") >"$IT/cpack.log" 2>&1 ||
  { cat "$IT/cpack.log" >&2; it_fail "cpack -G DEB failed"; }
deb() { ls "$OUT"/"$1"_*.deb; }
for p in watchstand-agent watchstand-collector watchstand-cli; do
  [ -f "$(deb $p)" ] || it_fail "no $p package in $OUT: $(ls "$OUT")"
done
it_ok "cpack -G DEB made watchstand-agent, watchstand-collector, watchstand-cli"

# Control fields: the user's adduser, the libraries found by dpkg-shlibdeps.
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
for p in watchstand-agent watchstand-collector watchstand-cli; do
  [ "$(field $p Package)" = $p ] || it_fail "$p: Package is '$(field $p Package)'"
  field $p Depends | grep -q "libc6 (>= " || it_fail "$p: no shlibdeps in Depends: $(field $p Depends)"
done
field watchstand-agent Depends | grep -q "adduser" || it_fail "agent: Depends lacks adduser"
field watchstand-collector Depends | grep -q "adduser" || it_fail "collector: Depends lacks adduser"
field watchstand-collector Depends | grep -q "libpq5" || it_fail "collector: Depends lacks libpq5"
field watchstand-agent Depends | grep -q "libsnmp" || it_fail "agent: Depends lacks the snmp module's libsnmp"
it_ok "Depends: adduser and the libraries the binaries and modules link"

# Files: binaries in /usr/bin, the agent's modules in /usr/lib/watchstand,
# units in /lib/systemd/system, example configs in /etc/watchstand.
contents() { dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | sed 's|^\./|/|'; }
has() {
  contents "$1" | grep -qx "$2" || it_fail "$1 lacks $2"
}
has watchstand-agent /usr/bin/watchstand-agent
for m in snmp pg http; do has watchstand-agent /usr/lib/watchstand/watchstand-agent-$m.so; done
has watchstand-agent /lib/systemd/system/watchstand-agent.service
has watchstand-agent /etc/watchstand/agent.yaml
has watchstand-collector /usr/bin/watchstand-collector
has watchstand-collector /lib/systemd/system/watchstand-collector.service
has watchstand-collector /etc/watchstand/collector.yaml
has watchstand-cli /usr/bin/watchstand
for p in watchstand-agent watchstand-collector watchstand-cli; do
  has $p /usr/share/doc/$p/copyright
  contents $p | grep -E "^/usr/local|^/var/" && it_fail "$p ships files in /usr/local or /var"
done
it_ok "files: binaries, modules, units, example configs, copyright"

# Conffiles and maintainer scripts.
for c in agent collector; do
  dpkg-deb -e "$(deb watchstand-$c)" "$IT/ctl-$c"
  [ "$(cat "$IT/ctl-$c/conffiles")" = "/etc/watchstand/$c.yaml" ] ||
    it_fail "$c conffiles: $(cat "$IT/ctl-$c/conffiles" 2>&1)"
  for s in postinst prerm postrm; do
    [ -x "$IT/ctl-$c/$s" ] || it_fail "$c: no executable $s"
    sh -n "$IT/ctl-$c/$s" || it_fail "$c: $s is not valid sh"
  done
  # Installed, neither enabled nor started.
  grep -vE '^\s*#' "$IT/ctl-$c/postinst" | grep -E "\b(enable|start|restart)\b" &&
    it_fail "$c postinst enables or starts a unit"
done
dpkg-deb -e "$(deb watchstand-cli)" "$IT/ctl-cli"
[ ! -e "$IT/ctl-cli/postinst" ] || it_fail "the cli package has a postinst"
it_ok "conffiles /etc/watchstand/{agent,collector}.yaml; maintainer scripts valid sh"

# The scripts' effects, with every command they may run replaced by one
# that logs its arguments (PATH holds nothing else, so nothing else runs).
STUBS=$IT/stubs
mkdir -p "$STUBS"
for cmd in getent adduser install chown chgrp chmod systemctl deb-systemd-invoke rm rmdir; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$cmd" "$IT" >"$STUBS/$cmd"
  chmod +x "$STUBS/$cmd"
done
# getent: the user does not exist yet.
printf '#!/bin/sh\necho "getent $*" >>"%s/calls"\nexit 2\n' "$IT" >"$STUBS/getent"
script() { # script COMPONENT NAME ARGS...: run it, the calls in $IT/calls
  local c=$1 s=$2
  shift 2
  : >"$IT/calls"
  PATH=$STUBS /bin/sh "$IT/ctl-$c/$s" "$@" || it_fail "$c $s $*: exit $?"
}
called() { grep -qx -- "$1" "$IT/calls" || { cat "$IT/calls" >&2; it_fail "$2"; }; }
script collector postinst configure ""
called "adduser --system --group --home /var/lib/watchstand --no-create-home --quiet watchstand" \
  "collector postinst does not add the watchstand user"
called "chown watchstand:watchstand /var/lib/watchstand" "collector postinst does not give /var/lib/watchstand to watchstand"
called "chmod 0640 /etc/watchstand/collector.yaml" "collector postinst leaves collector.yaml world-readable"
grep -E "\b(enable|start|restart)\b" "$IT/calls" && it_fail "collector postinst enables or starts a unit"
script collector postinst configure 0.1.0-1
grep -q "chmod" "$IT/calls" && it_fail "an upgrade resets collector.yaml's mode"
script agent postinst configure ""
called "chown watchstand:watchstand /var/lib/watchstand" "agent postinst does not give /var/lib/watchstand to watchstand"
grep -E "\b(enable|start|restart)\b" "$IT/calls" && it_fail "agent postinst enables or starts a unit"
script agent postrm purge
called "rm -rf /var/lib/watchstand/spool" "agent purge keeps the spool"
script collector postrm purge
grep -E "^rm " "$IT/calls" && it_fail "collector purge removes the shift log's anchor"
script collector postrm remove
grep -qE "^rm|^rmdir" "$IT/calls" && it_fail "remove (not purge) deletes state"
it_ok "postinst adds the user and /var/lib/watchstand, starts nothing; purge drops only the agent's spool"

# lintian, when installed: errors fail; the warnings left are documented in
# docs/deploy.md (no man pages, a changelog closing no Debian bug).
if command -v lintian >/dev/null; then
  lintian "$OUT"/*.deb >"$IT/lintian.txt" 2>&1 || true
  cat "$IT/lintian.txt"
  grep -E "^E: " "$IT/lintian.txt" && it_fail "lintian errors"
  it_ok "lintian: no errors"
else
  echo "lintian not installed: skipped (scripts/install-deps installs it)"
fi

# A fresh root with the three packages unpacked; the installed binaries
# check the installed example configs.
ROOT=$IT/root
for p in watchstand-agent watchstand-collector watchstand-cli; do
  dpkg-deb -x "$(deb $p)" "$ROOT"
done
"$ROOT/usr/bin/watchstand-agent" --check -c "$ROOT/etc/watchstand/agent.yaml" >"$IT/check.txt" 2>&1 ||
  { cat "$IT/check.txt" >&2; it_fail "installed agent --check on the installed agent.yaml"; }
grep -q "configuration OK" "$IT/check.txt" || it_fail "agent --check: $(cat "$IT/check.txt")"
"$ROOT/usr/bin/watchstand-collector" -c "$ROOT/etc/watchstand/collector.yaml" check-config >"$IT/check.txt" 2>&1 ||
  { cat "$IT/check.txt" >&2; it_fail "installed collector check-config on the installed collector.yaml"; }
grep -q "configuration OK" "$IT/check.txt" || it_fail "collector check-config: $(cat "$IT/check.txt")"
"$ROOT/usr/bin/watchstand" --help >/dev/null 2>&1 || it_fail "installed watchstand --help"
it_ok "installed watchstand-agent --check and watchstand-collector check-config pass on the examples"

# The installed agent finds its modules in /usr/lib/watchstand.
sed "/^probes:/a\\  - {name: web, type: http, interval: 5s, url: 'http://127.0.0.1:9/health'}" \
  "$ROOT/etc/watchstand/agent.yaml" >"$IT/agent-http.yaml"
out=$("$ROOT/usr/bin/watchstand-agent" --check -c "$IT/agent-http.yaml" 2>&1) ||
  it_fail "installed agent with an http probe: $out"
mv "$ROOT/usr/lib/watchstand/watchstand-agent-http.so" "$IT/"
set +e
out=$("$ROOT/usr/bin/watchstand-agent" --check -c "$IT/agent-http.yaml" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "installed agent without its http module: exit $rc"
echo "$out" | grep -q "cannot load the http module: $ROOT/usr/lib/watchstand/watchstand-agent-http.so: " ||
  it_fail "a missing installed module is not named: $out"
it_ok "the installed agent loads its modules from /usr/lib/watchstand"

# A real install: dpkg -i into an overlay of this machine's root, in a mount
# namespace of its own (nothing reaches the real root).
if unshare -m true 2>/dev/null && grep -qw overlay /proc/filesystems; then
  unshare -m --propagation private bash "$WS_ROOT/tests/integration/pkg_install.sh" \
    "$IT/overlay" "$OUT" || it_fail "dpkg -i into an overlay root (above)"
else
  echo "no mount namespaces or overlayfs here: dpkg -i into an overlay skipped"
fi

# The units run the installed binaries.
for c in agent collector; do
  unit=$ROOT/lib/systemd/system/watchstand-$c.service
  bins=$(grep -E "^Exec(Start|StartPre)=" "$unit" | sed -E 's/^[^=]*=([^ ]*).*/\1/')
  [ -n "$bins" ] || it_fail "$unit has no ExecStart"
  for bin in $bins; do
    [ -x "$ROOT$bin" ] || it_fail "$unit runs $bin, not in the package"
  done
  grep -q "^User=watchstand$" "$unit" || it_fail "$unit does not run as watchstand"
done
it_ok "the units' ExecStart and ExecStartPre are the packaged binaries"
