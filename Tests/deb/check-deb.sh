#!/bin/bash
# Checks a built fairshare .deb: every file in place with its mode, the conffile, the control
# fields, maintainer scripts that never enable or start the service, and the packaged program
# itself, unpacked into a temporary directory and run from there.
#   Tests/deb/check-deb.sh PATH.deb
set -uo pipefail

deb=${1:?usage: check-deb.sh PATH.deb}
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(cat "$repo/VERSION")
failures=0

section_start=0
fail() { echo "check-deb: FAIL: $*"; failures=$((failures + 1)); }
# Closes a group of checks: "ok" only if none of them failed since the last one.
ok() {
    [ "$failures" = "$section_start" ] && echo "check-deb: ok: $*"
    section_start=$failures
}

[ -f "$deb" ] || { echo "check-deb: FAIL: no such package: $deb"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root" || { echo "check-deb: FAIL: dpkg-deb -x $deb"; exit 1; }
mkdir "$tmp/ctrl" && dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp/ctrl" \
    || { echo "check-deb: FAIL: dpkg-deb --ctrl-tarfile $deb"; exit 1; }

# --- files, modes and owners (dpkg-deb -c prints "MODE OWNER SIZE DATE TIME ./PATH") ------
listing=$(dpkg-deb -c "$deb")
expect_file() { # MODE PATH
    local line
    line=$(awk -v p=".$2" '$6 == p' <<<"$listing")
    if [ -z "$line" ]; then
        fail "$2 is missing"
        return
    fi
    read -r mode owner size _ <<<"$line"
    [ "$mode" = "$1" ] || fail "$2 has mode $mode, expected $1"
    [ "$owner" = root/root ] || fail "$2 is owned by $owner, expected root/root"
    [ "$size" -gt 0 ] || fail "$2 is empty"
}
expect_file -rwxr-xr-x /usr/bin/fairshare
expect_file -rw-r--r-- /lib/systemd/system/fairshare.service
expect_file -rw-r--r-- /lib/systemd/system/fairshare.slice
expect_file -rwxr-xr-x /usr/lib/systemd/system-generators/fairshare-generator
expect_file -rw-r--r-- /usr/lib/sysusers.d/fairshare.conf
expect_file -rw-r--r-- /usr/lib/systemd/catalog/fairshare.catalog
expect_file -rw-r--r-- /etc/fairshare/policy.toml
expect_file -rw-r--r-- /usr/share/doc/fairshare/README.md
expect_file -rw-r--r-- /usr/share/doc/fairshare/copyright
expect_file -rw-r--r-- /usr/share/doc/fairshare/changelog.Debian.gz
for example in "$repo"/config/examples/*.toml; do
    expect_file -rw-r--r-- "/usr/share/doc/fairshare/examples/$(basename "$example")"
done
expect_file -rw-r--r-- /usr/share/man/man8/fairshare.8.gz
expect_file -rw-r--r-- /usr/share/bash-completion/completions/fairshare
expect_file -rw-r--r-- /usr/share/zsh/vendor-completions/_fairshare
expect_file -rw-r--r-- /usr/share/fish/vendor_completions.d/fairshare.fish
expect_file -rw-r--r-- /usr/share/lintian/overrides/fairshare
bad_owner=$(awk '$2 != "root/root"' <<<"$listing")
[ -z "$bad_owner" ] || fail "entries not owned by root/root:"$'\n'"$bad_owner"
bad_dir=$(awk '$1 ~ /^d/ && $1 != "drwxr-xr-x"' <<<"$listing")
[ -z "$bad_dir" ] || fail "directories not 0755:"$'\n'"$bad_dir"
cmp -s "$tmp/root/etc/fairshare/policy.toml" "$repo/config/policy.toml" \
    || fail "/etc/fairshare/policy.toml is not config/policy.toml"
ok "files, modes and owners"

# --- control ------------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = fairshare ] || fail "Package is '$(field Package)'"
case $(field Version) in
    "$version"-*) ;;
    *) fail "Version is '$(field Version)', expected $version-<revision> (VERSION)" ;;
esac
depends=$(field Depends)
for lib in libc6 libsystemd0; do
    grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends ($depends) lacks $lib"
done
# RE2 is linked statically: its package is libre2-9 in Debian 12 and libre2-11 in 13, so a
# dependency on either would keep the package off the other release.
if grep -Eq "(^|, )libre2" <<<"$depends"; then fail "Depends ($depends) names RE2: it must be linked statically"; fi
if objdump -p "$tmp/root/usr/bin/fairshare" | grep -q 'NEEDED.*libre2'; then
    fail "usr/bin/fairshare needs a shared libre2: $(objdump -p "$tmp/root/usr/bin/fairshare" | grep NEEDED | tr -s ' ' | tr '\n' ';')"
fi
[ "$(cat "$tmp/ctrl/conffiles" 2>/dev/null)" = /etc/fairshare/policy.toml ] \
    || fail "conffiles does not list exactly /etc/fairshare/policy.toml"
ok "control: $(field Package) $(field Version), Depends: $depends"

# --- maintainer scripts -------------------------------------------------------------------
for script in postinst prerm postrm; do
    f=$tmp/ctrl/$script
    if [ ! -f "$f" ]; then fail "no $script"; continue; fi
    [ "$(stat -c %a "$f")" = 755 ] || fail "$script has mode $(stat -c %a "$f"), expected 755"
    [ "$(head -1 "$f")" = "#!/bin/sh" ] || fail "$script does not start with #!/bin/sh"
    grep -qx 'set -e' "$f" || fail "$script has no 'set -e'"
    sh -n "$f" || fail "$script: sh -n reports a syntax error"
done
# Code only (comments may say what the admin runs): no enable, no start, no restart of a
# stopped service (try-restart, which acts only on a running one, is what an upgrade uses).
code=$(sed -e 's/^[[:space:]]*#.*//' -e 's/[[:space:]]#.*//' "$tmp/ctrl/postinst")
starts='(^|[^-[:alnum:]])(enable|reenable|start|restart|reload-or-restart|--now)([^-[:alnum:]]|$)'
if grep -Eq "$starts" <<<"$code"; then
    fail "postinst enables or starts the service:"$'\n'"$(grep -En "$starts" <<<"$code")"
fi
ok "maintainer scripts"

# --- the program, run from the unpacked package ---------------------------------------------
bin=$tmp/root/usr/bin/fairshare
got=$("$bin" --version 2>&1) || fail "fairshare --version exited $?"
[ "$got" = "$version" ] || fail "fairshare --version printed '$got', expected $version (VERSION)"
readelf -S "$bin" | grep -Eq '\.(symtab|debug_info)( |$)' && fail "/usr/bin/fairshare is not stripped"
"$bin" check "$tmp/root/etc/fairshare/policy.toml" >/dev/null \
    || fail "the packaged fairshare rejects the packaged /etc/fairshare/policy.toml"
for example in "$tmp"/root/usr/share/doc/fairshare/examples/*.toml; do
    "$bin" check "$example" >/dev/null || fail "the packaged fairshare rejects $(basename "$example")"
done
ok "fairshare --version: $got; the shipped policies pass fairshare check"

# --- manual page and completions ----------------------------------------------------------
man=$(zcat "$tmp/root/usr/share/man/man8/fairshare.8.gz" 2>/dev/null)
[ -n "$man" ] || fail "fairshare.8 is empty"
for word in '.Dt FAIRSHARE 8' status reload check explain run; do
    grep -qF -- "$word" <<<"$man" || fail "fairshare.8 does not mention '$word'"
done
for f in usr/share/bash-completion/completions/fairshare usr/share/zsh/vendor-completions/_fairshare \
    usr/share/fish/vendor_completions.d/fairshare.fish; do
    grep -q reload "$tmp/root/$f" || fail "/$f does not complete the subcommands"
done
ok "manual page and completions"

if [ "$failures" -gt 0 ]; then
    echo "check-deb: $failures check(s) failed for $deb"
    exit 1
fi
echo "check-deb: all checks passed for $(basename "$deb")"
