#!/bin/bash
# Fails if the project's own code (Sources/, Tests/, Package.swift) compiles with a warning.
# Builds what `swift test` builds (debug, every target and the tests) in the unit tests' scratch
# path, after removing the build products of the project's own targets there (and the llbuild
# manifest, so SwiftPM plans them anew): the compiler prints a warning only when it compiles the
# file, and SwiftPM does not replay it from a cached build. Dependencies stay built; their warnings, and the linker's notes on the toolchain's
# static libraries (FoundationEssentials' use of mktemp), name no file of this repository and do
# not count. Prints each warning once, with its path relative to the repository.
# Usage: warnings-check.sh [SCRATCH_PATH]   (default: .build, so `swift test` reuses the build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=${1:-$repo/.build}
swift=${SWIFT:-swift}
cd "$repo"

# The project's targets under the names of their build directories (- becomes _).
targets=$("$swift" package dump-package | python3 -c '
import json, sys
for t in json.load(sys.stdin)["targets"]:
    if t["type"] != "system":
        print(t["name"].replace("-", "_"))')
for t in $targets; do
    rm -rf "$scratch"/*/debug/"$t".build
done
rm -f "$scratch"/debug.yaml

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$swift" build --build-tests --scratch-path "$scratch" >"$log" 2>&1; then
    cat "$log"
    echo "warnings-check: the build failed"
    exit 1
fi

ours=$({ grep -E ':[0-9]+(:[0-9]+)?: warning: ' "$log" || true; } | while IFS= read -r line; do
    case $line in
        "$repo"/Sources/* | "$repo"/Tests/* | "$repo"/Package.swift:*) echo "${line#"$repo"/}" ;;
    esac
done | sort -u)
if [ -n "$ours" ]; then
    echo "$ours"
    echo "warnings-check: $(echo "$ours" | wc -l) warning(s) in the project's own code"
    exit 1
fi
echo "warnings-check: no warnings in Sources/, Tests/ or Package.swift ($(echo $targets | wc -w) targets compiled anew)"
