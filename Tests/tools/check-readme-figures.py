#!/usr/bin/env python3
"""README figures come from docs/benchmarks.md: the README may not carry a measured figure of its
own, so the two can not drift apart (issue 19: the README said `make test` takes 30 to 32
minutes while the benchmarks said 33 and 36, and quoted favordynmods' 45 -> 25 ms against the
measured 33 -> 22 ms).

A measured figure in README.md is a quotation: a link into docs/benchmarks.md whose text is
copied from the linked section, e.g.

    with `favordynmods` the p99 [falls from 33 to 22 ms](docs/benchmarks.md#issue-10-process-events-2026-11-26)

The check fails when
  * a link into docs/benchmarks.md names a section that does not exist (a heading renamed);
  * a quotation (link text with a digit) is not found word for word in its section (the figure
    was re-measured, or the README edited): update the README from the benchmarks;
  * the README states a figure of the kind that is measured without quoting it: a duration in
    minutes or hours, "takes/took/allow ... N s|ms|min", a p50/p99/median with a unit, "from N to
    M ms". Quote it from the benchmarks or link to them instead of copying the number.
Comparison ignores `*` and backquotes and runs of white space (line breaks).

--selftest runs the check on the real README (it must pass) and on doctored copies of it (a
figure changed, an anchor that is gone, a figure stated without a quotation): each must fail.

Usage: check-readme-figures.py [--selftest] [README] [BENCHMARKS]   (default: the repository's)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS_LINK = "docs/benchmarks.md"
QUOTE = re.compile(r"\[([^\]]+)\]\(" + re.escape(BENCHMARKS_LINK) + r"(?:#([\w-]+))?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")

# Figures of the kinds that are measured (see the docstring), in prose outside code and quotes.
NUMBER = r"\d[\d.,]*(?:\s*(?:to|-|–)\s*(?:about\s+)?\d[\d.,]*)?"
MEASURED = [
    re.compile(rf"\b{NUMBER}\s*(?:minutes?|min|hours?)\b"),
    re.compile(rf"\b(?:takes?|took|taking|allow|about)\b(?:\s+(?:about|under|at most|some|only))?\s+{NUMBER}\s*(?:ms|s|seconds?)\b"),
    re.compile(rf"\b(?:p50|p99|median)\b[^.;|\n]{{0,40}}?\b{NUMBER}\s*(?:ms|s)\b"),
    re.compile(rf"\bfrom\s+(?:about\s+)?{NUMBER}\s*(?:ms\s+)?to\s+(?:about\s+)?\d[\d.,]*\s*ms\b"),
]


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", normalize(heading).lower())
    return text.replace(" ", "-")


def sections(benchmarks: str) -> dict[str, str]:
    """Each heading's anchor -> its section's text (to the next heading of its level or above)."""
    lines = benchmarks.splitlines()
    found: dict[str, str] = {}
    heads = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1:] if lv <= level), len(lines))
        name, k = anchor(title), 1
        while name in found:  # GitHub numbers repeated headings
            name, k = f"{anchor(title)}-{k}", k + 1
        found[name] = normalize("\n".join(lines[i:end]))
    return found


def prose(readme: str) -> list[tuple[int, str]]:
    """The README's lines outside fenced code, with inline code blanked (its numbers are
    commands and settings, not figures)."""
    out, fenced = [], False
    for n, line in enumerate(readme.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):  # indented code blocks
            continue
        out.append((n, re.sub(r"`[^`]*`", "``", line)))
    return out


def check(readme: str, benchmarks: str) -> list[str]:
    problems = []
    secs = sections(benchmarks)
    whole = normalize(benchmarks)
    # A quotation may wrap over lines: read the prose as one text, keeping line numbers.
    lines = prose(readme)
    text = "\n".join(line for _, line in lines)
    line_of = [n for n, line in lines for _ in range(len(line) + 1)]
    quotes = 0
    for m in QUOTE.finditer(text):
        where = f"README.md:{line_of[m.start()]}"
        quote, name = normalize(m.group(1)), m.group(2)
        if name and name not in secs:
            problems.append(f"{where}: links to {BENCHMARKS_LINK}#{name}, which has no such section")
            continue
        if not re.search(r"\d", quote):
            continue  # a plain link, no figure
        quotes += 1
        if quote not in (secs[name] if name else whole):
            problems.append(f"{where}: '{quote}' is not in {BENCHMARKS_LINK}" + (f"#{name}" if name else "")
                            + ": update the figure from the benchmarks")
    unquoted = QUOTE.sub(lambda m: " " * len(m.group(0)), text)
    for pattern in MEASURED:
        for m in pattern.finditer(unquoted):
            problems.append(f"README.md:{line_of[m.start()]}: '{normalize(m.group(0))}' is a measured figure "
                            f"without a quotation: quote it from {BENCHMARKS_LINK} or link there instead")
    if quotes == 0:
        problems.append("README.md quotes no figure from docs/benchmarks.md: is the check reading the right files?")
    return problems


def doctored(readme: str) -> list[tuple[str, str, str]]:
    """Copies of the README, each with one defect the check must find, and what it must say."""
    quotes = list(QUOTE.finditer(readme))
    first = next(m for m in quotes if re.search(r"\d", m.group(1)))
    digit = re.search(r"\d", first.group(1))
    changed = first.group(1)[:digit.start()] + str((int(digit.group()) + 1) % 10) + first.group(1)[digit.end():]
    at = first.start(1)
    return [
        ("a quoted figure changed", readme[:at] + changed + readme[first.end(1):], f"'{normalize(changed)}' is not in"),
        ("a section link that is gone", readme.replace(f"{BENCHMARKS_LINK}#{first.group(2)}", f"{BENCHMARKS_LINK}#no-such-section", 1),
         "no such section"),
        ("a duration stated without a quotation", readme + "\nA full run takes about 7 minutes.\n", "'7 minutes' is a measured figure"),
        ("a latency stated without a quotation", readme + "\nMoves are quick: p99 12 ms under load.\n", "'p99 12 ms' is a measured figure"),
    ]


def selftest(readme: str, benchmarks: str) -> int:
    failed = False
    real = check(readme, benchmarks)
    if real:
        print("readme-figures self-test: the real README must pass first:", *real, sep="\n  ")
        failed = True
    for what, text, words in doctored(readme):
        found = [p for p in check(text, benchmarks) if words in p]
        print(f"readme-figures self-test: {what}: " + ("caught: " + found[0] if found else f"NOT CAUGHT (no problem saying {words!r})"))
        failed = failed or not found
    print("readme-figures self-test: " + ("FAILED" if failed else "every doctored README fails the check"))
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    selftest_only = "--selftest" in argv
    paths = [a for a in argv if a != "--selftest"]
    readme_path = Path(paths[0]) if paths else ROOT / "README.md"
    benchmarks_path = Path(paths[1]) if len(paths) > 1 else ROOT / BENCHMARKS_LINK
    readme, benchmarks = readme_path.read_text(), benchmarks_path.read_text()
    if selftest_only:
        return selftest(readme, benchmarks)
    problems = check(readme, benchmarks)
    for p in problems:
        print(f"readme-figures: {p}", file=sys.stderr)
    n = sum(1 for m in QUOTE.finditer(readme) if re.search(r"\d", m.group(1)))
    sys.stderr.flush()
    print(f"readme-figures: " + ("FAILED" if problems else f"{n} quoted figures found in {BENCHMARKS_LINK}, none unquoted"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
