# shellcheck shell=sh
# Sourced by the fetch scripts (POSIX sh). install_missing PKG... installs the Debian packages
# that are not installed yet, quietly, refreshing the package lists only when the plain install
# fails (stale lists). Needs a log function.
install_missing() {
    missing=""
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing="$missing $pkg"
        fi
    done
    [ -n "$missing" ] || return 0
    log "installing:$missing"
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2; then
        apt-get update >&2
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
    fi
}

# extract_package PKG CACHE: download PKG's .deb into CACHE (once; refreshing the lists if the
# download fails) and unpack it into CACHE/root, through a scratch dir so that an interrupted
# extraction never looks cached.
extract_package() {
    if ! ls "$2/$1"_*.deb >/dev/null 2>&1; then
        log "downloading $1"
        (cd "$2" && apt-get download "$1" >&2) || {
            apt-get update >&2
            (cd "$2" && apt-get download "$1" >&2)
        }
    fi
    # shellcheck disable=SC2012 # apt's file names: no odd characters
    deb=$(ls "$2/$1"_*.deb | sort -V | tail -n 1)
    log "extracting $(basename "$deb")"
    rm -rf "$2/root.tmp"
    dpkg -x "$deb" "$2/root.tmp"
    mkdir -p "$2/root"
    cp -a "$2/root.tmp/." "$2/root/"
    rm -rf "$2/root.tmp"
}
