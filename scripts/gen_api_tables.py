#!/usr/bin/env python3
"""Writes the Types, Operations and Functions tables of spec/adapter-protocol.md from spec/api.yaml.

The registry is the one source of the API cases may use; the page shows it. Each table sits between
`<!-- api.yaml: NAME begin -->` and `<!-- api.yaml: NAME end -->` (NAME: types, operations,
functions); only the text between them is rewritten. Usage:

    scripts/gen_api_tables.py           # rewrite the page in place
    scripts/gen_api_tables.py --check   # exit 1, naming each table, if the page is not what api.yaml gives

tests/spec/test_api_registry.py runs the check.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API = os.path.join(ROOT, "spec", "api.yaml")
PAGE = os.path.join(ROOT, "spec", "adapter-protocol.md")
TABLES = ("types", "operations", "functions")


def load(path=API):
    with open(path) as f:
        return yaml.safe_load(f)


def call_form(name, spec):
    return "%s(%s)" % (name, ", ".join(spec.get("params", [])))


def returns_text(returns_type):
    if isinstance(returns_type, list):
        return "a tuple of " + ", ".join("`%s`" % t for t in returns_type)
    return "a `%s`" % returns_type


def types_table(api):
    rows = ["| type | constructor (Python) | notes |", "|---|---|---|"]
    for name, t in api["types"].items():
        notes = []
        if "constructor" in t:
            ctor = "`%s`" % call_form(name, t["constructor"])
        else:
            ctor = "—"
            notes.append("made by %s" % (t["made_by"] if " " in str(t["made_by"]) else "`%s`" % t["made_by"]))
        if "makes" in t:
            made = t["makes"]
            notes.append("creates %s, named by `names`" % (
                "two `%s` objects" % made[0] if len(made) == 2 and made[0] == made[1] else ", ".join("`%s`" % m for m in made)))
        if "extends" in t:
            notes.append("has every operation of `%s`" % t["extends"])
        if t.get("context_manager"):
            notes.append("a context manager (`with`)")
        rows.append("| `%s` | %s | %s |" % (name, ctor, "; ".join(notes)))
    return rows


def operation_items(t):
    items = []
    for name, spec in (t.get("methods") or {}).items():
        # A sequence operation is a suite helper, defined under Sequence operations: named only.
        item = "`%s`" % (name if "loop" in spec else call_form(name, spec))
        if spec.get("returns_type"):
            item += " (returns %s)" % returns_text(spec["returns_type"])
        items.append(item)
    for name, spec in (t.get("attributes") or {}).items():
        notes = []
        if spec.get("returns"):
            notes.append(str(spec["returns"]))
        if spec.get("settable"):
            notes.append("settable")
        items.append("`%s`" % name + (" (%s)" % ", ".join(notes) if notes else ""))
    if t.get("context_manager"):
        items += ["`__enter__()`", "`__exit__()`"]
    return items


def operations_table(api):
    rows = ["| type | operations |", "|---|---|"]
    for name, t in api["types"].items():
        items = operation_items(t)
        if not items and "extends" not in t:
            continue  # Pipe: makes Connections, has no operations of its own
        if "extends" in t:
            cell = "those of `%s`" % t["extends"] + (", and " + ", ".join(items) if items else "")
        else:
            cell = ", ".join(items)
        rows.append("| `%s` | %s |" % (name, cell))
    return rows


def functions_table(api):
    rows = ["| function | returns | may raise |", "|---|---|---|"]
    for name, spec in (api.get("functions") or {}).items():
        ret = returns_text(spec["returns_type"]) if spec.get("returns_type") else ""
        raises = ", ".join("`%s`" % e for e in spec.get("raises", [])) or "—"
        rows.append("| `%s` | %s | %s |" % (call_form(name, spec), ret, raises))
    if len(rows) == 2:
        rows.append("| (none yet) | | |")
    return rows


def tables(api):
    return {"types": types_table(api), "operations": operations_table(api), "functions": functions_table(api)}


def marker(name, end):
    return "<!-- api.yaml: %s %s -->" % (name, "end" if end else "begin")


def render(page, api):
    """The page with each marked table replaced; raises ValueError if a table's markers are missing."""
    for name, rows in tables(api).items():
        begin, end = marker(name, False), marker(name, True)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(page):
            raise ValueError("%s has no %s ... %s" % (os.path.relpath(PAGE, ROOT), begin, end))
        page = pattern.sub(lambda _: begin + "\n" + "\n".join(rows) + "\n" + end, page, count=1)
    return page


def differing_tables(page, api):
    """The names of the marked tables whose text is not what api.yaml gives."""
    wanted = render(page, api)
    out = []
    for name in TABLES:
        pattern = re.compile(re.escape(marker(name, False)) + r"\n(.*?)" + re.escape(marker(name, True)), re.S)
        if pattern.search(page).group(1) != pattern.search(wanted).group(1):
            out.append(name)
    return out


def main(argv):
    with open(PAGE) as f:
        page = f.read()
    api = load()
    if "--check" in argv:
        stale = differing_tables(page, api)
        if stale:
            print("spec/adapter-protocol.md: the %s table(s) differ from spec/api.yaml; run scripts/gen_api_tables.py"
                  % ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    new = render(page, api)
    if new != page:
        with open(PAGE, "w") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
