#!/bin/sh
# fresh-release-modules.sh SCRATCH: run from the repository before an incremental release build
# in SCRATCH; removes the project's own compiled modules there when a source changed since the
# last release build (the dependencies, pinned, stay built).
# fresh-release-modules.sh --done SCRATCH: after the build succeeded, records the sources it was
# made from.
#
# Why: a release build inlines other modules' type layouts (cross-module optimization), and an
# incremental build does not recompile a module when only the layout of a type it inlines
# changed two modules away. Seen on 2026-12-05: a private stored property added to a struct in
# FairshareCore grew `Agent` (FairshareAgent), the `fairshare` executable was not recompiled,
# allocated the old 3,352 bytes for an Agent and its initializer wrote past them (valgrind in
# the guest: "Invalid write ... 0 bytes after a block of size 3,352"); glibc aborted at start
# with "malloc assertion failure in sysmalloc" in every phase of vm-tree. A clean clone (CI)
# never sees it; a developer's second `make vm-*` after an edit does.
set -eu
done=no
if [ "$1" = --done ]; then
    done=yes
    shift
fi
scratch=$1
stamp=$scratch/.fairshare-sources
now=$(find Sources Package.swift -type f -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-40)
if [ $done = yes ]; then
    echo "$now" >"$stamp"
    exit 0
fi
[ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$now" ] || exit 0
dir=$scratch/release
[ -d "$dir" ] || exit 0
# The project's targets (Package.swift): C shims, libraries, executables, tests. Their objects
# and module files go; the build plan (output-file-map.json and the rest) stays, so the next
# build compiles them again and nothing else.
n=0
for m in "$dir"/Fairshare*.build "$dir"/fairshare*.build "$dir"/CRE2.build "$dir"/CSlowClients.build "$dir"/CSystemd.build "$dir"/CTOMLShim.build; do
    [ -d "$m" ] || continue
    find "$m" -name '*.o' -delete
    n=$((n + 1))
done
rm -f "$dir"/Modules/Fairshare* "$dir"/Modules/fairshare* "$dir"/Modules/CRE2* "$dir"/Modules/CSlowClients* "$dir"/Modules/CSystemd* "$dir"/Modules/CTOMLShim*
echo "fresh-release-modules: sources changed since the last release build in $scratch: $n module(s) of ours compiled again"
