"""The results file (spec/results.md) and `mpconform diff`: real results files are valid against
spec/results.schema.json and hold what a user needs (run metadata, traces also for passes, a rerun
command that reruns one case); diff prints exactly what differs, verdicts and tolerated trace
differences, and nothing within the timing threshold."""
import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from scripted_cases import case_tree, sleep_case

from results_file import read_document

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_adapter.py")
SCHEMA = json.load(open(os.path.join(ROOT, "spec", "results.schema.json")))

CASE = sleep_case("results.sleep")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return case_tree(tmp_path_factory.mktemp("cases"), "results.sleep", CASE)


def validate(doc):
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA)


def run_fake(mpconform, cases, tmp_path, mode, name, *extra):
    report = tmp_path / name
    proc = subprocess.run([mpconform, "--cases", str(cases), "--jobs", "1", "--results", str(report),
                           "--impl", "cmd:fake=%s %s %s" % (sys.executable, FAKE, mode), *extra],
                          capture_output=True, text=True, timeout=60)
    return proc, report


def test_a_real_results_file_is_valid_and_complete(mpconform, cases, tmp_path):
    proc, report = run_fake(mpconform, cases, tmp_path, "good", "good.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = read_document(report)
    validate(doc)
    run = doc["run"]
    assert run["command"][0] == mpconform and "--results" in run["command"], run
    assert run["jobs"] == 1 and run["isolation"].startswith("isolation: "), run
    assert run["limits"]["max_frame_bytes"] == 64 << 20, run
    assert run["cases"]["dir"] == str(cases) and run["cases"]["git"] is None, run  # a temporary directory
    [impl] = doc["implementations"]
    assert impl["label"] == "fake" and impl["implementation"]["semantics"], impl
    [r] = doc["results"]
    assert (r["case"], r["file"], r["line"], r["verdict"]) == ("results.sleep", "results/sleep.yaml", 1, "passed"), r
    assert (r["title"], r["level"], r["tags"], r["spec"]) == ("The controller sleeps for no time", "required", ["state"], "queue.md#fifo")
    # The trace of a pass too, with the outcome typed and the elapsed time the actor measured.
    [step] = r["trace"]
    assert step["call"] == "sleep(0)" and step["line"] == 8 and step["problem"] == "", step
    assert step["outcome"] == {"kind": "returned", "value": {"t": "none"}}, step
    assert step["elapsed"] == 0.001, step


def test_the_rerun_command_reruns_only_that_case(mpconform, cases, tmp_path):
    (cases / "results" / "other.yaml").write_text(CASE.replace("results.sleep", "results.other"))
    try:
        proc, report = run_fake(mpconform, cases, tmp_path, "good", "two.json")
        results = read_document(report)["results"]
        assert sorted(r["case"] for r in results) == ["results.other", "results.sleep"], proc.stdout
        rerun = [r["rerun"] for r in results if r["case"] == "results.sleep"][0]
        again = subprocess.run(rerun + " --results " + str(tmp_path / "again.json"), shell=True, capture_output=True, text=True,
                               timeout=60)
        assert again.returncode == 0, again.stdout + again.stderr
        assert [r["case"] for r in read_document(tmp_path / "again.json")["results"]] == ["results.sleep"], again.stdout
    finally:
        (cases / "results" / "other.yaml").unlink()


def test_a_failure_points_at_the_step_in_the_case_file(mpconform, cases, tmp_path):
    xml = tmp_path / "junit.xml"
    proc, report = run_fake(mpconform, cases, tmp_path, "wrong", "wrong.json", "--gtest_output=xml:%s" % xml)
    assert proc.returncode == 1, proc.stdout
    case_file = str(cases / "results" / "sleep.yaml")
    assert "failed: fake.results.sleep (%s:8): step 1 sleep(0) expected returns None; got returned 5" % case_file in proc.stdout, proc.stdout
    [r] = read_document(report)["results"]
    assert r["verdict"] == "failed" and r["line"] == 8 and r["trace"][0]["problem"], r
    # JUnit: one test case named IMPL.CASE_ID... that points at the case file.
    [tc] = ET.parse(xml).getroot().iter("testcase")
    assert (tc.get("classname"), tc.get("name"), tc.get("file"), tc.get("line")) == ("fake", "results.sleep", case_file, "1")


def test_a_malformed_file_is_listed(mpconform, cases, tmp_path):
    (cases / "results" / "broken.yaml").write_text("id: results.broken\ntitle: no steps\n")
    try:
        proc, report = run_fake(mpconform, cases, tmp_path, "good", "malformed.json")
    finally:
        (cases / "results" / "broken.yaml").unlink()
    doc = read_document(report)
    validate(doc)
    assert [(m["file"], m["line"]) for m in doc["malformed"]] == [(str(cases / "results" / "broken.yaml"), 1)], doc["malformed"]


# ---- diff on hand-made results files ----

def step(n, call, observed, outcome, elapsed, expected="returns None", problem=""):
    return {"step": n, "line": 10 + n, "actor": "main", "call": call, "expected": expected, "observed": observed,
            "outcome": outcome, "elapsed": elapsed, "problem": problem}


def result(impl, case, verdict, trace, reason=""):
    return {"implementation": impl, "case": case, "file": case.replace(".", "/") + ".yaml", "line": 1, "title": case,
            "level": "required", "tags": [], "spec": "queue.md#fifo", "verdict": verdict, "reason": reason, "seconds": 0.5,
            "rerun": "mpconform --gtest_filter=%s.%s" % (impl, case), "trace": trace, "details": ""}


EMPTY = lambda message: {"kind": "raised", "type": "queue.Empty", "bases": ["Exception"], "message": message, "args": []}
NONE = {"kind": "returned", "value": {"t": "none"}}


def document(impl, name, version, results):
    return {"format": "mpconform-results/1",
            "run": {"command": ["mpconform"], "started": "2026-12-01T00:00:00Z", "wall_seconds": 1.0,
                    "cases": {"dir": "/cases", "git": None}, "runner_version": "0.1.0", "jobs": 1, "isolation": "isolation: none",
                    "limits": {"max_case_bytes": 1, "max_generated_items": 1, "max_payload_bytes": 1, "max_case_nesting": 1,
                               "max_case_timeout": 1, "max_frame_bytes": 1, "max_message_nesting": 1},
                    "host": {}},
            "implementations": [{"label": impl, "spec": impl,
                                 "implementation": {"name": name, "version": version, "semantics": ".".join(version.split(".")[:2]), "family": "cpython"}}],
            "results": results, "malformed": []}


def hand_made():
    a = document("old", "cpython", "3.8.18", [
        result("old", "q.verdict", "passed", [step(1, "q.get()", "returned None in 0.001 s", NONE, 0.001)]),
        result("old", "q.text", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty in 0.200 s", EMPTY(""), 0.2,
                                                 "raises queue.Empty")]),
        result("old", "q.slow", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty in 0.200 s", EMPTY(""), 0.2,
                                                 "raises queue.Empty")]),
        result("old", "q.within", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty in 0.200 s", EMPTY(""), 0.2,
                                                   "raises queue.Empty")]),
        result("old", "q.only_old", "skipped", [], "not applicable"),
    ])
    b = document("new", "cpython", "3.13.0", [
        result("new", "q.verdict", "failed", [step(1, "q.get()", "returned 5 in 0.001 s", {"kind": "returned", "value": {"t": "int", "v": "5"}},
                                                   0.001, problem="returned 5, expected None")]),
        result("new", "q.text", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty: timed out in 0.200 s", EMPTY("timed out"),
                                                 0.2, "raises queue.Empty")]),
        result("new", "q.slow", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty in 0.500 s", EMPTY(""), 0.5,
                                                 "raises queue.Empty")]),
        result("new", "q.within", "passed", [step(1, "q.get(timeout=0.2)", "raised queue.Empty in 0.250 s", EMPTY(""), 0.25,
                                                   "raises queue.Empty")]),
    ])
    return a, b


EXPECTED = """\
--- A: {a}:old (cpython 3.8.18, semantics 3.8)
+++ B: {b}:new (cpython 3.13.0, semantics 3.13)
q.only_old (q/only_old.yaml:1)
  only in A: skipped (not applicable)
q.slow (q/slow.yaml:1)
  verdict: A passed | B passed
  step 1 [main] q.get(timeout=0.2)
    A: raised queue.Empty in 0.200 s
    B: raised queue.Empty in 0.500 s
    differs: elapsed (0.300 s apart)
q.text (q/text.yaml:1)
  verdict: A passed | B passed
  step 1 [main] q.get(timeout=0.2)
    A: raised queue.Empty in 0.200 s
    B: raised queue.Empty: timed out in 0.200 s
    differs: exception message
q.verdict (q/verdict.yaml:1)
  verdict: A passed | B failed
  step 1 [main] q.get()
    A: returned None in 0.001 s
    B: returned 5 in 0.001 s  MISMATCH: returned 5, expected None
    differs: returned value, mismatch
4 of 5 cases differ: 1 in verdict, 2 in the trace only, 1 only in A, 0 only in B
"""


def write_hand_made(tmp_path):
    a, b = hand_made()
    for doc in (a, b):
        validate(doc)  # the hand-made files are results files too
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    return str(tmp_path / "a.json"), str(tmp_path / "b.json")


def test_diff_of_two_results_files_prints_exactly_what_differs(mpconform, tmp_path):
    a, b = write_hand_made(tmp_path)
    proc = subprocess.run([mpconform, "diff", a, b], capture_output=True, text=True, timeout=30)
    assert proc.stdout == EXPECTED.format(a=a, b=b), proc.stdout + proc.stderr
    assert proc.returncode == 1


def test_diff_thresholds_are_options(mpconform, tmp_path):
    a, b = write_hand_made(tmp_path)
    # 0.05 s apart: within the default 0.1 s, beyond 0.01 s with no relative factor.
    proc = subprocess.run([mpconform, "diff", "--time-threshold", "0.01", "--time-factor", "0", a, b], capture_output=True, text=True)
    assert "q.within (q/within.yaml:1)" in proc.stdout and "differs: elapsed (0.050 s apart)" in proc.stdout, proc.stdout
    # A large factor tolerates 0.2 s against 0.5 s too.
    proc = subprocess.run([mpconform, "diff", "--time-factor", "0.9", a, b], capture_output=True, text=True)
    assert "q.slow" not in proc.stdout and "q.within" not in proc.stdout, proc.stdout


def test_diff_of_a_file_with_itself_finds_nothing(mpconform, tmp_path):
    a, _ = write_hand_made(tmp_path)
    proc = subprocess.run([mpconform, "diff", a, a], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 of 5 cases differ: 0 in verdict, 0 in the trace only, 0 only in A, 0 only in B"


def test_diff_needs_a_label_for_a_file_of_several_implementations(mpconform, tmp_path):
    a, b = hand_made()
    both = copy.deepcopy(a)
    both["implementations"] += b["implementations"]
    both["results"] += b["results"]
    path = tmp_path / "both.json"
    path.write_text(json.dumps(both))
    proc = subprocess.run([mpconform, "diff", str(path), str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "holds 2 implementations ( old new ): name one as %s:LABEL" % path in proc.stderr, proc.stderr
    proc = subprocess.run([mpconform, "diff", "%s:old" % path, "%s:new" % path], capture_output=True, text=True)
    assert proc.returncode == 1 and "4 of 5 cases differ" in proc.stdout, proc.stdout + proc.stderr
    proc = subprocess.run([mpconform, "diff", "%s:old" % path, "%s:nope" % path], capture_output=True, text=True)
    assert proc.returncode == 2 and "has no implementation 'nope' (it has: old new)" in proc.stderr, proc.stderr


def test_diff_refuses_what_is_no_results_file(mpconform, tmp_path):
    (tmp_path / "old.json").write_text("[]")
    proc = subprocess.run([mpconform, "diff", str(tmp_path / "old.json"), str(tmp_path / "old.json")], capture_output=True, text=True)
    assert proc.returncode == 2 and "a bare array is the report of mpconform before mpconform-results/1" in proc.stderr, proc.stderr


# ---- diff of real runs ----

def test_diff_of_two_real_results_files(mpconform, cases, tmp_path):
    _, good = run_fake(mpconform, cases, tmp_path, "good", "good.json")
    _, wrong = run_fake(mpconform, cases, tmp_path, "wrong", "wrong.json")
    validate(read_document(wrong))
    proc = subprocess.run([mpconform, "diff", str(good), str(wrong)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[2:6] == ["results.sleep (results/sleep.yaml:1)",
                          "  verdict: A passed | B failed",
                          "  step 1 [main] sleep(0)",
                          "    A: returned None in 0.001 s"], proc.stdout
    assert lines[6].startswith("    B: returned 5 in 0.001 s  MISMATCH: "), proc.stdout
    assert lines[7] == "    differs: returned value, mismatch", proc.stdout


def test_diff_runs_two_implementations(mpconform, tmp_path):
    """cpython against the C++ reference on real cases: both run, the diff names them."""
    cpp = os.path.join(os.path.dirname(os.path.dirname(mpconform)), "harness", "adapters", "cpp", "mpconform-cpp-adapter")
    if not os.access(cpp, os.X_OK):
        cpp = os.path.join(os.path.dirname(mpconform), "adapters", "cpp", "mpconform-cpp-adapter")
    if not os.access(cpp, os.X_OK):
        pytest.skip("the C++ adapter is not built")
    proc = subprocess.run([mpconform, "diff", "--impl", "cpython", "--impl", "cpp", "--jobs", "1",
                           "--gtest_filter=*.queue.get_timeout_empty:*.queue.fifo_single_producer:*.pipe.poll_after_send"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("--- A: cpython (cpython ") and lines[1].startswith("+++ B: cpp ("), proc.stdout
    assert lines[-1].startswith("%d of 3 cases differ: " % (len([l for l in lines if l.startswith(("queue.", "pipe."))]))), proc.stdout
    assert "mpconform: " in proc.stderr and "passed" in proc.stderr, proc.stderr  # the runner's own output goes to stderr
