#!/usr/bin/env python3
"""Condense a guest's console log into the RECORDED text of a checker self-test
(test-check-enforce.py, test-check-fairness.py): the FSRESULT lines and FSDONE, each JSON
block compacted to one line, the journal's JSON lines cut to the fields the checkers read,
and only the text blocks named with --text (the checkers read a few; the rest is console
noise); --drop leaves out JSON blocks the checker does not read, --journal-fields narrows the
journal further. Everything else (kernel messages, the agent's console output) is left out.

Usage: recorded-log.py CONSOLE_LOG [--text NAME...] [--drop NAME...] [--journal-fields F...]
(prints to stdout)
Python 3 standard library only."""

import argparse
import json
import re
import sys

ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[a-zA-Z])")
# What check-enforce.py and check-fairness.py read of a journal entry (MESSAGE kept to read by).
JOURNAL_FIELDS = ("__MONOTONIC_TIMESTAMP", "SYSLOG_IDENTIFIER", "PRIORITY", "MESSAGE_ID",
                  "FAIRSHARE_EVENT", "FAIRSHARE_GROUP", "MESSAGE")


def condense(text, keep_text, drop=(), journal_fields=JOURNAL_FIELDS):
    out, block = [], None  # block: (kind, name, keep, body)
    for raw in text.splitlines():
        line = ANSI.sub("", raw).replace("\r", "")
        if block is not None:
            kind, name, keep, body = block
            if line.strip() != f"FS{kind}-END":
                body.append(line)
                continue
            block = None
            if not keep:
                continue
            out.append(f"FS{kind}-BEGIN {name}")
            if kind == "TEXT":
                out += body
            elif name.startswith("journal"):
                for entry in body:
                    if entry.strip():
                        e = json.loads(entry)
                        out.append(json.dumps({k: e[k] for k in journal_fields if k in e}, separators=(",", ":")))
            else:
                doc = "\n".join(body).strip()
                out.append(json.dumps(json.loads(doc), separators=(",", ":")) if doc else "")
            out.append(f"FS{kind}-END")
            continue
        m = re.search(r"FS(JSON|TEXT)-BEGIN (\S+)\s*$", line)
        if m:
            kind, name = m.group(1), m.group(2)
            block = (kind, name, (kind == "JSON" and name not in drop) or (kind == "TEXT" and name in keep_text), [])
            continue
        i = line.find("FSRESULT ")
        if i >= 0:
            out.append(line[i:].rstrip())
        elif line.strip() == "FSDONE":
            out.append("FSDONE")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--text", nargs="*", default=[], help="text blocks to keep")
    ap.add_argument("--drop", nargs="*", default=[], help="JSON blocks to leave out")
    ap.add_argument("--journal-fields", nargs="*", default=list(JOURNAL_FIELDS), help="journal fields to keep")
    args = ap.parse_args()
    with open(args.log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = condense(text, set(args.text), set(args.drop), args.journal_fields)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
