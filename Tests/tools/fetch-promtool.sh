#!/bin/bash
# Puts Debian's promtool (package `prometheus`) under a cache directory WITHOUT installing the
# package: `apt-get install prometheus` would add a user and start a Prometheus server.
# Usage: fetch-promtool.sh CACHE_DIR  -> prints the path of promtool.
set -euo pipefail
cache=${1:?usage: fetch-promtool.sh CACHE_DIR}
promtool=$cache/prometheus/usr/bin/promtool
if [ ! -x "$promtool" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/download.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    ( cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download prometheus >/dev/null; }; } )
    rm -rf "$cache/prometheus"
    dpkg -x "$work"/prometheus_*.deb "$cache/prometheus"
fi
"$promtool" --version >/dev/null
echo "$promtool"
