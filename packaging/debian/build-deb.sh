#!/bin/bash
# Assembles the fairshare Debian package from the built release binary (mk/deb.mk runs this).
#   build-deb.sh BINARY GENERATE_MANUAL OUTDIR
# Environment: DEB_UPSTREAM_VERSION (the VERSION file), DEB_REVISION, DEB_MAINTAINER,
# SOURCE_DATE_EPOCH (dates of the changelog and the man page, file times in the package).
# Prints the path of the .deb on its last line.
set -euo pipefail
umask 022

bin=$1 generate_manual=$2 out=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/packaging/debian
version=$DEB_UPSTREAM_VERSION-$DEB_REVISION
arch=$(dpkg --print-architecture)
deb=$out/fairshare_${version}_${arch}.deb
root=$out/root      # the package's file tree
src=$out/src        # debian/ as dpkg-shlibdeps and dpkg-gencontrol expect it
doc=$root/usr/share/doc/fairshare

rm -rf "$root" "$src" "$deb"
mkdir -p "$src/debian" "$root/DEBIAN"

# The program, stripped as dh_strip does.
install -D -m 0755 "$bin" "$root/usr/bin/fairshare"
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/fairshare"

# systemd: the unit and its slice, the group, the journal catalog.
install -D -m 0644 "$repo/packaging/systemd/fairshare.service" "$root/lib/systemd/system/fairshare.service"
install -D -m 0644 "$repo/packaging/systemd/fairshare.slice" "$root/lib/systemd/system/fairshare.slice"
# Type=notify-reload where systemd is 253 or later (the script says why).
install -D -m 0755 "$repo/packaging/systemd/fairshare-generator" "$root/usr/lib/systemd/system-generators/fairshare-generator"
install -D -m 0644 "$repo/packaging/sysusers/fairshare.conf" "$root/usr/lib/sysusers.d/fairshare.conf"
install -D -m 0644 "$repo/packaging/journal/fairshare.catalog" "$root/usr/lib/systemd/catalog/fairshare.catalog"

# The policy, a conffile.
install -D -m 0644 "$repo/config/policy.toml" "$root/etc/fairshare/policy.toml"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"

# Documentation. README.md stays uncompressed: the unit's Documentation= points at it.
install -D -m 0644 "$repo/README.md" "$doc/README.md"
install -D -m 0644 -t "$doc/examples" "$repo"/config/examples/*.toml
install -m 0644 "$here/copyright" "$doc/copyright"
cat > "$src/debian/changelog" <<CHANGELOG
fairshare ($version) unstable; urgency=medium

  * Fairshare $DEB_UPSTREAM_VERSION, packaged from the upstream tree with \`make deb\`.
    See /usr/share/doc/fairshare/README.md.

 -- $DEB_MAINTAINER  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
CHANGELOG
gzip -9n < "$src/debian/changelog" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# The manual page, from the argument parser's own description of the command line.
man_tmp=$out/man
rm -rf "$man_tmp" && mkdir -p "$man_tmp"
"$generate_manual" "$root/usr/bin/fairshare" --section 8 \
    --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)" --authors "Fairshare developers" \
    --output-directory "$man_tmp"
install -d "$root/usr/share/man/man8"
gzip -9n < "$man_tmp/fairshare.8" > "$root/usr/share/man/man8/fairshare.8.gz"
chmod 0644 "$root/usr/share/man/man8/fairshare.8.gz"

# Shell completions, from the packaged binary.
completion() { # SHELL DEST
    install -d "$(dirname "$2")"
    # bash-completion sources its files: no #! line (the generator writes one).
    "$root/usr/bin/fairshare" --generate-completion-script "$1" | sed '1{/^#!/d}' > "$2"
    chmod 0644 "$2"
}
completion bash "$root/usr/share/bash-completion/completions/fairshare"
completion zsh "$root/usr/share/zsh/vendor-completions/_fairshare"
completion fish "$root/usr/share/fish/vendor_completions.d/fairshare.fish"

install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/fairshare"

# Maintainer scripts.
for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$root/DEBIAN/$script"
done

# DEBIAN/control: Depends from the libraries the binary needs (ldd: libsystemd0, libc6,
# libstdc++6, libgcc-s1; RE2 is linked in), Installed-Size from the tree.
sed "s|@MAINTAINER@|$DEB_MAINTAINER|" "$here/control" > "$src/debian/control"
(
    cd "$src"
    dpkg-shlibdeps -Tdebian/substvars "$root/usr/bin/fairshare"
    dpkg-gencontrol -pfairshare -cdebian/control -ldebian/changelog -Tdebian/substvars \
        -fdebian/files -P"$root"
)

# DEBIAN/md5sums, as dh_md5sums writes it (conffiles are left out: dpkg records their sums).
(
    cd "$root"
    find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort \
        | grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles) | xargs -d '\n' md5sum > DEBIAN/md5sums
)
chmod 0644 "$root/DEBIAN/md5sums"

# Reproducible: every file dated SOURCE_DATE_EPOCH, owned by root in the archive.
find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
