# Sourced by the fetch scripts (POSIX sh): install_missing PKG... installs the Debian packages
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
