#!/bin/bash
# Installs a built fairshare .deb into a minimal root of a Debian release (the systemd guest's:
# debootstrap from Debian's archive, cached as a tarball) and checks it there: dpkg installs it with that
# release's libraries (nothing missing, no RE2 package: it is linked in), the program runs on
# that release's glibc, the shipped policies pass `fairshare check`, a broken one is refused
# with its file:line:column, `systemd-analyze security --offline=yes` of that release's
# systemd scores the unit at most EXPOSURE_MAX, and the package is removed and purged cleanly.
# systemd is installed but not PID 1 in the root: the maintainer scripts' systemctl calls must
# cope (as in a container or an image build); the service itself runs in the systemd VM tiers.
#   Tests/deb/check-deb-release.sh SUITE PATH.deb CACHE_DIR
# SUITE: bookworm (Debian 12) or trixie (Debian 13). Needs root (chroot, mount) and
# debootstrap (debian-root.sh installs it when missing).
set -uo pipefail

suite=${1:?usage: check-deb-release.sh SUITE PATH.deb CACHE_DIR}
deb=${2:?usage: check-deb-release.sh SUITE PATH.deb CACHE_DIR}
cache=${3:?usage: check-deb-release.sh SUITE PATH.deb CACHE_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(cat "$repo/VERSION")
# The unit's exposure score, 0 (locked down) to 10: 3.4 with systemd 252 (Debian 12) and 3.2 with
# 257 (Debian 13) on 2026-12-05. A unit change that opens it up fails here.
exposure_max=${EXPOSURE_MAX:-3.5}
failures=0
section_start=0
say() { echo "check-deb-release ($suite): $*"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }
ok() {
    [ "$failures" = "$section_start" ] && say "ok: $*"
    section_start=$failures
}

[ -f "$deb" ] || { say "FAIL: no such package: $deb"; exit 1; }
case $suite in bookworm | trixie) ;; *) say "FAIL: unknown suite '$suite' (bookworm or trixie)"; exit 2 ;; esac
# The root: the systemd guest's (Tests/vm/systemd/debian-root.sh: debootstrapped once per suite
# and kept as a tarball); a copy of it is installed into.
tarball=$("$repo/Tests/vm/systemd/debian-root.sh" --tarball "$suite" "$cache") || { say "FAIL: no $suite root"; exit 1; }

tmp=$(mktemp -d)
root=$tmp/root
cleanup() {
    mountpoint -q "$root/proc" && umount "$root/proc"
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$root" && tar -C "$root" -xf "$tarball" || { say "FAIL: extracting $tarball"; exit 1; }
# The Swift runtime reads the program's arguments from /proc/self/cmdline.
mount -t proc proc "$root/proc" || { say "FAIL: mounting /proc in the root"; exit 1; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

release=$(cat "$root/etc/debian_version")
glibc=$(in_root dpkg-query -W -f '${Version}' libc6)
cp "$deb" "$root/tmp/fairshare.deb"

# --- install ----------------------------------------------------------------------------
if ! out=$(in_root dpkg -i /tmp/fairshare.deb 2>&1); then
    fail "dpkg -i on Debian $release:"$'\n'"$out"
fi
[ "$(in_root dpkg-query -W -f '${Status}' fairshare 2>/dev/null)" = "install ok installed" ] \
    || fail "dpkg does not list fairshare as installed"
missing=$(in_root ldd /usr/bin/fairshare 2>&1 | grep 'not found')
[ -z "$missing" ] || fail "libraries missing on Debian $release: $missing"
in_root dpkg-query -W -f '${Package}\n' 'libre2*' 2>/dev/null | grep -q . \
    && fail "an RE2 package is installed: $(in_root dpkg-query -W -f '${Package} ' 'libre2*')"
ok "installed on Debian $release (glibc $glibc), every library found, no RE2 package"

# --- run --------------------------------------------------------------------------------
got=$(in_root fairshare --version 2>&1) || fail "fairshare --version exited $?"
[ "$got" = "$version" ] || fail "fairshare --version printed '$got', expected $version"
in_root fairshare check /etc/fairshare/policy.toml >/dev/null || fail "fairshare check rejects the shipped /etc/fairshare/policy.toml"
for example in "$root"/usr/share/doc/fairshare/examples/*.toml; do
    in_root fairshare check "/usr/share/doc/fairshare/examples/$(basename "$example")" >/dev/null \
        || fail "fairshare check rejects $(basename "$example")"
done
# A cmdline pattern goes through RE2 (the statically linked one).
printf '[[group]]\nname = "web"\nshares = 2\n[group.match]\ncmdline = ["^/usr/sbin/nginx( |$)"]\n' >"$root/tmp/re2.toml"
in_root fairshare check /tmp/re2.toml >/dev/null || fail "fairshare check rejects a valid cmdline pattern"
printf '[[group]]\nname = "web"\nshares = 2\n[group.match]\ncmdline = ["(unclosed"]\n' >"$root/tmp/bad.toml"
err=$(in_root fairshare check /tmp/bad.toml 2>&1)
rc=$?
[ $rc = 1 ] || fail "a broken pattern: exit $rc, expected 1"
grep -q '^/tmp/bad.toml:5:[0-9]*: error: ' <<<"$err" || fail "a broken pattern's error does not say where: $err"
ok "fairshare $got runs: the shipped policies pass check, RE2 accepts a pattern and locates a broken one"

# --- the unit's exposure, as this release's systemd scores it ------------------------------
systemd_version=$(in_root systemd-analyze --version 2>/dev/null | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
in_root systemd-analyze security --offline=yes --no-pager /lib/systemd/system/fairshare.service >"$tmp/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for fairshare.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
if [ -z "$score" ]; then
    fail "systemd-analyze security printed no exposure level:"$'\n'"$(tail -n 5 "$tmp/security.out")"
elif ! awk -v s="$score" -v m="$exposure_max" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
    fail "exposure $score with systemd $systemd_version, above $exposure_max; the settings that cost most:"$'\n'"$(grep '✗' "$tmp/security.out" | awk '{ print $NF "\t" $0 }' | sort -rn | cut -f2- | head -n 8)"
fi
ok "systemd-analyze security (systemd $systemd_version, offline): exposure $score (at most $exposure_max)"

# --- the reload protocol for this release's systemd (fairshare-generator) ----------------
# 253 and later: a drop-in with Type=notify-reload, which that systemd's verify accepts with
# the unit; 252: nothing (the unit's own Type=notify and ExecReload=).
rm -rf "$root/tmp/gen" && mkdir -p "$root/tmp/gen"
in_root /usr/lib/systemd/system-generators/fairshare-generator /tmp/gen /tmp/gen /tmp/gen \
    || fail "fairshare-generator exited $?"
dropin=$root/tmp/gen/fairshare.service.d/50-notify-reload.conf
if [ "${systemd_version:-0}" -ge 253 ]; then
    grep -qx 'Type=notify-reload' "$dropin" 2>/dev/null \
        || fail "systemd $systemd_version: the generator wrote no Type=notify-reload drop-in ($(ls -R "$root/tmp/gen" | tr '\n' ' '))"
    mkdir -p "$root/etc/systemd/system/fairshare.service.d"
    cp "$dropin" "$root/etc/systemd/system/fairshare.service.d/"
    out=$(in_root systemd-analyze verify fairshare.service 2>&1) \
        || fail "systemd-analyze verify of the unit with the drop-in:"$'\n'"$out"
    rm -r "$root/etc/systemd/system/fairshare.service.d"
    ok "systemd $systemd_version: the generator's drop-in sets Type=notify-reload; verify accepts it"
else
    [ -z "$(ls -A "$root/tmp/gen")" ] || fail "systemd $systemd_version: the generator wrote $(ls -R "$root/tmp/gen" | tr '\n' ' ')"
    ok "systemd $systemd_version: the generator adds nothing (Type=notify, ExecReload=)"
fi

# --- remove, purge ----------------------------------------------------------------------
out=$(in_root dpkg -r fairshare 2>&1) || fail "dpkg -r:"$'\n'"$out"
[ ! -e "$root/usr/bin/fairshare" ] || fail "/usr/bin/fairshare left after dpkg -r"
[ -f "$root/etc/fairshare/policy.toml" ] || fail "dpkg -r removed the conffile (only purge may)"
out=$(in_root dpkg -P fairshare 2>&1) || fail "dpkg -P:"$'\n'"$out"
[ ! -e "$root/etc/fairshare/policy.toml" ] || fail "/etc/fairshare/policy.toml left after purge"
ok "removed (the policy kept) and purged"

if [ "$failures" -gt 0 ]; then
    say "$failures check(s) failed"
    exit 1
fi
say "all checks passed on Debian $release"
