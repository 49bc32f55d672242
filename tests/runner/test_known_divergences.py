"""Known-divergence files and the matrix (spec/known-divergences.md), through the built runner
against scripted adapters: a listed case that fails is an expected divergence (the run passes), a
listed case that passes is newly passing (the run passes and says so), an unlisted failure fails
the run, and a malformed file stops the run with FILE:LINE and the reason."""
import json
import os
import stat
import subprocess
import sys

import jsonschema
import pytest

from results_file import read_document, read_results
from scripted_cases import case_tree, sleep_case

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_adapter.py")
SCHEMA = os.path.join(ROOT, "spec", "results.schema.json")

LISTED = "known.listed"
OTHER = "known.other"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("cases")
    case_tree(root, LISTED, sleep_case(LISTED))
    return case_tree(root, OTHER, sleep_case(OTHER))


def fake_adapter(tmp_path, mode):
    """An executable that runs the scripted adapter in `mode`: a cpp:PATH implementation, which
    (unlike cmd:) takes known=FILE."""
    path = tmp_path / ("fake-%s" % mode)
    path.write_text('#!/bin/sh\nexec %s %s %s "$@"\n' % (sys.executable, FAKE, mode))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def known_file(tmp_path, text, name="fake.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


LISTING = """implementation: the scripted adapter, which answers 5 where None is expected in mode wrong
divergences:
  - case: known.listed
    reason: main's sleep(0) returns 5 (the scripted adapter's mode wrong)
    spec: queue.md#fifo
"""


def run(mpconform, cases, *args):
    return subprocess.run([mpconform, "--cases", str(cases), "--jobs", "1", *args],
                          capture_output=True, text=True, timeout=120)


def by_case(report):
    return dict((r["case"], r) for r in read_results(report))


def test_a_listed_case_that_fails_is_an_expected_divergence(mpconform, cases, tmp_path):
    known = known_file(tmp_path, LISTING)
    report = tmp_path / "report.json"
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "wrong"), known)
    proc = run(mpconform, cases, "--report", str(report), "--impl", impl, "--gtest_filter=*." + LISTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = by_case(report)[LISTED]
    assert r["verdict"] == "expected divergence"
    # The original verdict and reason are kept, and the listed reason added.
    assert r["reason"].startswith("failed; known divergence ("), r["reason"]
    assert "main's sleep(0) returns 5" in r["reason"] and known + ":3" in r["reason"]
    assert r["known_divergence"] == {"file": known, "line": 3, "reason": "main's sleep(0) returns 5 (the scripted adapter's mode wrong)",
                                     "spec": "queue.md#fifo", "verdict": "failed"}
    assert r["details"], "the trace of the failure is kept"
    jsonschema.validate(read_document(report), json.load(open(SCHEMA)))
    assert "1 expected divergence," in proc.stdout


def test_a_listed_case_that_passes_is_newly_passing(mpconform, cases, tmp_path):
    known = known_file(tmp_path, LISTING)
    report = tmp_path / "report.json"
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "good"), known)
    proc = run(mpconform, cases, "--report", str(report), "--impl", impl)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = by_case(report)
    assert records[LISTED]["verdict"] == "newly passing"
    assert "remove it from the list" in records[LISTED]["reason"]
    assert records[LISTED]["known_divergence"]["verdict"] == "passed"
    assert records[OTHER]["verdict"] == "passed" and "known_divergence" not in records[OTHER]
    assert "fake.known.listed newly passing" in proc.stdout
    jsonschema.validate(read_document(report), json.load(open(SCHEMA)))


def test_an_unlisted_failure_fails_the_run(mpconform, cases, tmp_path):
    known = known_file(tmp_path, LISTING)
    report = tmp_path / "report.json"
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "wrong"), known)
    proc = run(mpconform, cases, "--report", str(report), "--impl", impl)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    records = by_case(report)
    assert records[LISTED]["verdict"] == "expected divergence"
    assert records[OTHER]["verdict"] == "failed"


def test_an_entry_for_another_start_method_does_not_apply(mpconform, cases, tmp_path):
    # The scripted adapter names no start method in its hello: an entry for spawn is not its.
    known = known_file(tmp_path, LISTING + "    start_methods: [spawn]\n")
    report = tmp_path / "report.json"
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "wrong"), known)
    proc = run(mpconform, cases, "--report", str(report), "--impl", impl, "--gtest_filter=*." + LISTED)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert by_case(report)[LISTED]["verdict"] == "failed"


def test_a_case_may_be_listed_once_per_start_method(mpconform, cases, tmp_path):
    known = known_file(tmp_path, LISTING + "    start_methods: [spawn]\n" + LISTING.split("divergences:\n")[1]
                       + "    start_methods: [fork]\n")
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "good"), known)
    proc = run(mpconform, cases, "--impl", impl, "--gtest_filter=*." + LISTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Neither entry applies: the scripted adapter's hello names no start method.
    assert "newly passing" not in proc.stdout


def test_an_entry_for_its_semantics_applies(mpconform, cases, tmp_path):
    # The scripted adapter follows 3.12.
    known = known_file(tmp_path, LISTING + "    versions: '>=3.12'\n")
    report = tmp_path / "report.json"
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "wrong"), known)
    proc = run(mpconform, cases, "--report", str(report), "--impl", impl, "--gtest_filter=*." + LISTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert by_case(report)[LISTED]["verdict"] == "expected divergence"


@pytest.mark.parametrize("text,line,message", [
    (LISTING.replace("known.listed", "known.nonexistent"), 3, "unknown case 'known.nonexistent'"),
    (LISTING + LISTING.split("divergences:\n")[1], 6, "case 'known.listed' is listed twice (first at line 3)"),
    (LISTING + "    start_methods: [fork, spawn]\n" + LISTING.split("divergences:\n")[1] + "    start_methods: [spawn]\n", 7,
     "is listed twice (first at line 3) for the same start methods"),
    (LISTING.replace("    reason: main's sleep(0) returns 5 (the scripted adapter's mode wrong)\n", ""), 3,
     "divergence 'known.listed' has no 'reason'"),
    (LISTING.replace("reason: main's sleep(0) returns 5 (the scripted adapter's mode wrong)", "reason: ''"), 4,
     "reason must be a non-empty string"),
    (LISTING.replace("spec: queue.md#fifo", "spec: queue.md#no-such-section"), 5, "queue.md has no section #no-such-section"),
    (LISTING.replace("spec: queue.md#fifo", "spec: fifo"), 5, "spec 'fifo' is not PAGE.md#ANCHOR"),
    (LISTING + "    reasons: a typo\n", 6, "unknown key 'reasons' in a divergence"),
    (LISTING + "    case: known.other\n", 6, "duplicate key 'case' in a divergence"),
    (LISTING + "    versions: '>>3.9'\n", 6, "versions: "),
    ("divergences: []\n", 1, "missing 'implementation'"),
    ("implementation: x\ndivergences: [\n", 3, "not valid YAML"),
])
def test_a_malformed_file_stops_the_run_naming_file_and_line(mpconform, cases, tmp_path, text, line, message):
    known = known_file(tmp_path, text)
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "good"), known)
    proc = run(mpconform, cases, "--impl", impl)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "%s:%d: " % (known, line) in proc.stderr, proc.stderr
    assert message in proc.stderr, proc.stderr


def test_a_missing_file_stops_the_run(mpconform, cases, tmp_path):
    impl = "cpp:%s,label=fake,known=%s" % (fake_adapter(tmp_path, "good"), tmp_path / "absent.yaml")
    proc = run(mpconform, cases, "--impl", impl)
    assert proc.returncode == 2
    assert "absent.yaml: the known-divergence file cannot be read" in proc.stderr


def test_the_matrix_runs_what_exists_into_one_results_file_and_says_what_it_skips(mpconform, cases, tmp_path):
    good, wrong = fake_adapter(tmp_path, "good"), fake_adapter(tmp_path, "wrong")
    known_file(tmp_path, LISTING, name="wrong.yaml")
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("""implementations:
  - name: good
    impl: cpp:%s,label=good
    needs: [{executable: %s}]
  - name: wrong
    impl: cpp:${FAKE_WRONG},label=wrong
    known: wrong.yaml
  - name: absent
    impl: cpp:%s/nothing,label=absent
    needs: [{executable: %s/nothing}]
  - name: no_module
    impl: cpp:%s,label=no_module
    needs: [{python_module: {python: %s, module: surely_no_such_module}}]
""" % (good, good, tmp_path, tmp_path, good, sys.executable))
    report = tmp_path / "report.json"
    env = dict(os.environ, FAKE_WRONG=wrong)
    proc = subprocess.run([mpconform, "--cases", str(cases), "--jobs", "2", "--matrix", str(matrix),
                           "--report", str(report), "--gtest_filter=*." + LISTED],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = read_results(report)
    assert sorted((r["implementation"], r["verdict"]) for r in records) == [
        ("good", "passed"), ("wrong", "expected divergence")]
    lines = [l for l in proc.stdout.splitlines() if l.startswith("mpconform: matrix: ")]
    assert lines == [
        "mpconform: matrix: absent (%s:8): not run: %s/nothing is not an executable" % (matrix, tmp_path),
        "mpconform: matrix: no_module (%s:11): not run: %s cannot import surely_no_such_module: "
        "ModuleNotFoundError: No module named 'surely_no_such_module'" % (matrix, sys.executable),
    ], proc.stdout
    doc = read_document(report)
    assert [i["label"] for i in doc["implementations"]] == ["good", "wrong"]
    assert doc["implementations"][1]["spec"].endswith(",known=%s" % (tmp_path / "wrong.yaml"))


@pytest.mark.parametrize("text,line,message", [
    ("implementations:\n  - name: a\n", 2, "needs 'name' and 'impl'"),
    ("implementations:\n  - {name: a, impl: cpython, needs: [{python: x}]}\n", 2, "unknown need 'python'"),
    ("implementations:\n  - {name: a, impl: cpython}\n  - {name: a, impl: cpp}\n", 3, "the name 'a' is used twice"),
    ("implementations:\n  - {name: a, impl: 'cpython:${MPCONFORM_SURELY_UNSET}'}\n", 2, "${MPCONFORM_SURELY_UNSET} is not set"),
    ("implementations:\n  - {name: a, impl: 'cmd:x=y', known: k.yaml}\n", 2, "a cmd: implementation takes no known file"),
    ("entries: []\n", 1, "a matrix file is a mapping with a list 'implementations'"),
])
def test_a_malformed_matrix_stops_the_run(mpconform, cases, tmp_path, text, line, message):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(text)
    proc = run(mpconform, cases, "--matrix", str(matrix))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "%s:%d: " % (matrix, line) in proc.stderr and message in proc.stderr, proc.stderr
