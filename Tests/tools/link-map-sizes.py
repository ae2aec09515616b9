#!/usr/bin/env python3
"""Where the bytes of a linked binary come from: sums a gold linker map's input sections by
origin (a SwiftPM target's objects, a toolchain archive such as libFoundationEssentials.a, a C
object), largest first. Only sections that take space in the file count (no .bss, no debug
info); what the linker makes itself (.eh_frame_hdr, .dynsym, relocations) is not an input and
is left out. Usage (docs/benchmarks.md, issue 19):
  swift build -c release --static-swift-stdlib ... -Xlinker -Map=/tmp/fairshare.map --product fairshare
  Tests/tools/link-map-sizes.py /tmp/fairshare.map [ROWS]"""
import collections
import re
import sys

lines = open(sys.argv[1]).read().split('\n')
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 25
sizes = collections.Counter()
by_section = collections.defaultdict(collections.Counter)
output_section = ''
pending = None  # an input section whose name had a line of its own
for line in lines[lines.index('Memory map') + 1:]:
    if not line.strip():
        continue
    if not line.startswith(' '):
        output_section = line.split()[0]
        continue
    if line.startswith(' **'):
        pending = None
        continue
    m = re.match(r'^ (\S+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(.+)$', line)
    if m:
        size, path = int(m.group(2), 16), m.group(3)
    elif re.match(r'^ \S+$', line):
        pending = line.strip()
        continue
    else:
        m = re.match(r'^\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(\S.*)$', line)
        if not (m and pending):
            pending = None
            continue
        size, path, pending = int(m.group(1), 16), m.group(2), None
    if output_section in ('.bss', '.tbss', '.comment') or output_section.startswith(('.debug', '.note.gnu.gold')):
        continue
    target = re.search(r'/([^/]+)\.build/[^/]+\.o$', path)
    archive = re.search(r'/(lib[^/]+\.a)\(', path)
    origin = target.group(1) if target else archive.group(1) if archive else path.split('/')[-1]
    sizes[origin] += size
    by_section[origin][output_section] += size

mib = 1024 * 1024
print(f"{'origin':34} {'bytes':>10} {'MiB':>6}  largest sections (MiB)")
for origin, size in sizes.most_common(rows):
    top = ', '.join(f'{name} {n / mib:.2f}' for name, n in by_section[origin].most_common(3))
    print(f'{origin:34} {size:>10} {size / mib:6.2f}  {top}')
total = sum(sizes.values())
print(f"{'all input sections':34} {total:>10} {total / mib:6.2f}")
