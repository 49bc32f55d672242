#!/usr/bin/env python3
"""The README's matrix tables, in Markdown, from one results file (spec/results.md):

    python3 scripts/matrix_table.py RESULTS.json [--cases-link cases] [--spec-link spec]

First one row per implementation (what its hello said and its counts per verdict class), then
each divergence: the case, the implementations it was expected of, what they did, and the reason
and spec section its known-divergence file gives (spec/known-divergences.md). Failures that no
file lists, and cases newly passing, are listed too. Standard library only.
"""
import argparse
import collections
import json
import sys

COLUMNS = (("passed", "passed"), ("expected divergence", "expected divergences"), ("newly passing", "newly passing"),
           ("skipped", "skipped"), ("differs (cpython-specific)", "differs (cpython-specific)"))
NOT_FAILURES = {"passed", "skipped", "differs (cpython-specific)", "expected divergence", "newly passing"}


def cell(text):
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def describe(hello):
    if not hello:
        return "(no case reached its hello)"
    words = ["%s %s" % (hello.get("name", "?"), hello.get("version", "?"))]
    if hello.get("module") and hello.get("module") != "multiprocessing":
        words.append(hello["module"])
    if hello.get("start_method"):
        words.append(hello["start_method"])
    words.append("semantics %s" % hello.get("semantics", "?"))
    return ", ".join(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--cases-link", default="cases", help="where case files are, relative to the Markdown")
    parser.add_argument("--spec-link", default="spec", help="where spec pages are, relative to the Markdown")
    args = parser.parse_args()
    with open(args.results) as f:
        doc = json.load(f)
    if doc.get("format") != "mpconform-results/1":
        sys.exit("%s: not an mpconform-results/1 file" % args.results)
    by_impl = collections.defaultdict(collections.Counter)
    for r in doc["results"]:
        by_impl[r["implementation"]][r["verdict"]] += 1
    out = []
    out.append("| implementation | what it is | %s | failed |" % " | ".join(title for _, title in COLUMNS))
    out.append("|---|---|%s---|" % ("---:|" * len(COLUMNS)))
    for impl in doc["implementations"]:
        counts = by_impl[impl["label"]]
        failed = sum(n for verdict, n in counts.items() if verdict not in NOT_FAILURES)
        out.append("| `%s` | %s | %s | %d |" % (impl["label"], cell(describe(impl.get("implementation"))),
                                               " | ".join(str(counts[v]) for v, _ in COLUMNS), failed))
    out.append("")
    out.append("%d implementations, %d cases each; the run took %.0f s with --jobs %d." % (
        len(doc["implementations"]), max(sum(c.values()) for c in by_impl.values()) if by_impl else 0,
        doc["run"]["wall_seconds"], doc["run"]["jobs"]))

    # One row per listed reason of a known-divergence file, with every case it explains and every
    # implementation it was seen on: one cause (multiprocess's spawn cannot start a process) is
    # one row however many cases it fails.
    groups = collections.OrderedDict()
    for r in sorted(doc["results"], key=lambda r: (r.get("known_divergence") or {}).get("line", 0)):
        known = r.get("known_divergence")
        if r["verdict"] not in ("expected divergence", "newly passing") or not known:
            continue
        group = groups.setdefault((known["file"].rsplit("/", 1)[-1], known["reason"]),
                                  {"cases": collections.OrderedDict(), "impls": collections.OrderedDict(),
                                   "specs": collections.OrderedDict()})
        group["cases"].setdefault(r["case"], (r["file"], []))[1].append(
            known["verdict"] if r["verdict"] == "expected divergence" else "newly passing")
        group["impls"][r["implementation"]] = True
        group["specs"][known["spec"]] = True
    for known_file in sorted({f for f, _ in groups}):
        rows = [(reason, g) for (f, reason), g in groups.items() if f == known_file]
        out.append("")
        out.append("`%s` (%d %s, %d cases):" % (known_file, len(rows), "reason" if len(rows) == 1 else "reasons",
                                                 sum(len(g["cases"]) for _, g in rows)))
        out.append("")
        out.append("| reason | cases (verdict before the list) | implementations | spec |")
        out.append("|---|---|---|---|")
        for reason, g in rows:
            cases = ", ".join("[`%s`](%s/%s) (%s)" % (case, args.cases_link, path, "/".join(sorted(set(verdicts))))
                              for case, (path, verdicts) in sorted(g["cases"].items()))
            specs = ", ".join("[%s](%s/%s)" % (spec, args.spec_link, spec) for spec in g["specs"])
            out.append("| %s | %s | %s | %s |" % (cell(reason), cases, ", ".join("`%s`" % i for i in g["impls"]), specs))
    unlisted = [r for r in doc["results"] if r["verdict"] not in NOT_FAILURES]
    if unlisted:
        out.append("")
        out.append("Failures no known-divergence file lists:")
        out.append("")
        for r in unlisted:
            reason = r.get("reason") or next(("step %s %s: %s" % (s.get("step"), s.get("call"), s["problem"])
                                              for s in r.get("trace") or [] if s.get("problem")), "")
            out.append("- `%s.%s`: %s: %s" % (r["implementation"], r["case"], r["verdict"], cell(reason)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
