# Run by it_packages in a mount namespace of its own (unshare -m): installs
# the packages with dpkg into an overlay of this machine's root, whose
# writes go to a tmpfs gone when the namespace ends, and checks what the
# maintainer scripts did. Usage: pkg_install.sh SCRATCH DEBDIR
set -euo pipefail
S=$1
DEBS=$2
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

mkdir -p "$S"
mount -t tmpfs tmpfs "$S"
mkdir "$S/upper" "$S/work" "$S/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$S/root"
R=$S/root
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
# No systemd in there: the scripts' systemctl calls are skipped, as in a
# container.
mount -t tmpfs tmpfs "$R/run"
mkdir "$R/debs"
for p in watchstand-agent watchstand-collector watchstand-cli; do
  cp "$DEBS"/${p}_*.deb "$R/debs/$p.deb"
done
in_root() { chroot "$R" "$@"; }

in_root getent passwd watchstand && fail "the host already has a watchstand user"
in_root dpkg -i /debs/watchstand-agent.deb /debs/watchstand-collector.deb \
  /debs/watchstand-cli.deb >"$S/dpkg.log" 2>&1 || { cat "$S/dpkg.log" >&2; fail "dpkg -i"; }

pw=$(in_root getent passwd watchstand) || fail "no watchstand user"
uid=$(echo "$pw" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "watchstand is not a system user: $pw"
in_root getent group watchstand >/dev/null || fail "no watchstand group"
# stat in the root: the names are its users'.
owner=$(in_root stat -c '%a %U:%G' /var/lib/watchstand)
[ "$owner" = "700 watchstand:watchstand" ] || fail "/var/lib/watchstand: $owner"
owner=$(in_root stat -c '%a %U:%G' /etc/watchstand/collector.yaml)
[ "$owner" = "640 root:watchstand" ] || fail "collector.yaml: $owner"
for c in agent collector; do
  in_root dpkg-query -W -f '${Conffiles}\n' watchstand-$c | grep -q "/etc/watchstand/$c.yaml " ||
    fail "watchstand-$c: $c.yaml is not a conffile"
  [ -f "$R/lib/systemd/system/watchstand-$c.service" ] || fail "no watchstand-$c.service"
  ls "$R"/etc/systemd/system/*.wants/watchstand-$c.service 2>/dev/null &&
    fail "watchstand-$c.service is enabled"
done
echo "ok: dpkg -i: the watchstand system user, /var/lib/watchstand, conffiles, units not enabled"

# The daemons' user checks the installed configs (collector.yaml is 0640).
in_root setpriv --reuid=watchstand --regid=watchstand --init-groups \
  watchstand-agent --check -c /etc/watchstand/agent.yaml || fail "installed agent --check"
in_root setpriv --reuid=watchstand --regid=watchstand --init-groups \
  watchstand-collector -c /etc/watchstand/collector.yaml check-config ||
  fail "installed collector check-config as watchstand"
in_root watchstand --help >/dev/null 2>&1 || fail "installed watchstand --help"
echo "ok: as the watchstand user, the installed binaries pass their checks on /etc/watchstand"

# An edited config survives reinstalling; purge drops the agent's spool and
# keeps the collector's evidence.
echo "# edited on this host" >>"$R/etc/watchstand/agent.yaml"
in_root dpkg -i /debs/watchstand-agent.deb >/dev/null || fail "reinstall"
grep -q "edited on this host" "$R/etc/watchstand/agent.yaml" || fail "reinstalling overwrote agent.yaml"
mkdir -p "$R/var/lib/watchstand/spool"
echo anchor >"$R/var/lib/watchstand/shiftlog.anchor"
in_root dpkg --purge watchstand-agent >/dev/null || fail "purge watchstand-agent"
[ ! -e "$R/var/lib/watchstand/spool" ] || fail "purging the agent left its spool"
[ ! -e "$R/etc/watchstand/agent.yaml" ] || fail "purging the agent left agent.yaml"
[ ! -e "$R/usr/bin/watchstand-agent" ] || fail "purging the agent left its binary"
in_root dpkg --purge watchstand-collector >/dev/null || fail "purge watchstand-collector"
[ -f "$R/var/lib/watchstand/shiftlog.anchor" ] || fail "purging the collector removed the shift log's anchor"
echo "ok: an edited conffile survives a reinstall; purge removes the spool, keeps the anchor"
