"""Doctoring recorded console logs for the checkers' self-tests (test-check-enforce.py,
test-check-fairness.py). Every helper fails (AssertionError) when what it is asked to change
is not there, so a doctor that changes nothing can not let a broken checker pass.
Python 3 standard library only."""

import json
import re


def doctor(text, old, new, count=1):
    """text with `old` replaced by `new`; `old` must occur exactly `count` times."""
    n = text.count(old)
    if n != count:
        raise AssertionError(f"doctor: {old!r} occurs {n} times in the recorded log, expected {count}")
    return text.replace(old, new)


def sub(text, pattern, repl, count=1):
    """text with the first `count` matches of the regular expression `pattern` (multiline)
    replaced by `repl`; there must be at least that many."""
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n != count:
        raise AssertionError(f"sub: {pattern!r} matched {n} times in the recorded log, expected {count}")
    return new


def drop_lines(text, start, count=1):
    """text without the lines that start with `start` (exactly `count` of them)."""
    lines = text.splitlines()
    kept = [line for line in lines if not line.startswith(start)]
    if len(lines) - len(kept) != count:
        raise AssertionError(f"drop_lines: {len(lines) - len(kept)} lines start with {start!r}, expected {count}")
    return "\n".join(kept) + "\n"


def set_result(text, key, value, where=None):
    """Every `FSRESULT KEY ...` line (whose values start with `where`, if given) with its values
    set to `value`; there must be exactly one such line."""
    out, n = [], 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "FSRESULT" and parts[1] == key and \
                (where is None or " ".join(parts[2:]).startswith(where)):
            line = f"FSRESULT {key} {value}"
            n += 1
        out.append(line)
    if n != 1:
        raise AssertionError(f"set_result: {n} lines of {key!r}" + (f" starting {where!r}" if where else "") + ", expected 1")
    return "\n".join(out) + "\n"


def _block(text, kind, name):
    """(lines, first body line index, end marker index) of block NAME."""
    lines = text.splitlines()
    try:
        begin = lines.index(f"FS{kind}-BEGIN {name}")
    except ValueError:
        raise AssertionError(f"no FS{kind} block {name!r} in the recorded log") from None
    end = lines.index(f"FS{kind}-END", begin)
    return lines, begin + 1, end


def edit_json(text, name, fn):
    """The JSON block NAME (one document) replaced by fn(document) (fn edits in place or returns
    a new one); fn must change it."""
    lines, a, b = _block(text, "JSON", name)
    doc = json.loads("\n".join(lines[a:b]))
    before = json.dumps(doc, sort_keys=True)
    new = fn(doc)
    doc = doc if new is None else new
    if json.dumps(doc, sort_keys=True) == before:
        raise AssertionError(f"edit_json: the edit changed nothing in {name!r}")
    lines[a:b] = [json.dumps(doc, separators=(",", ":"))]
    return "\n".join(lines) + "\n"


def edit_json_lines(text, name, fn):
    """The JSON-lines block NAME with each entry replaced by fn(entry) (None drops it); fn must
    change or drop at least one."""
    lines, a, b = _block(text, "JSON", name)
    out, changed = [], 0
    for line in lines[a:b]:
        e = json.loads(line)
        before = json.dumps(e, sort_keys=True)
        new = fn(dict(e))
        if new is None or json.dumps(new, sort_keys=True) != before:
            changed += 1
        if new is not None:
            out.append(json.dumps(new, separators=(",", ":")))
    if not changed:
        raise AssertionError(f"edit_json_lines: the edit changed no entry of {name!r}")
    lines[a:b] = out
    return "\n".join(lines) + "\n"


def drop_block(text, kind, name):
    lines, a, b = _block(text, kind, name)
    del lines[a - 1:b + 1]
    return "\n".join(lines) + "\n"


def block_lines(text, kind, name):
    lines, a, b = _block(text, kind, name)
    return lines[a:b]


def replace_block_lines(text, kind, name, new_lines):
    lines, a, b = _block(text, kind, name)
    lines[a:b] = new_lines
    return "\n".join(lines) + "\n"
