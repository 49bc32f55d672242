"""The runner's own verdicts for adapters that crash, hang, send garbage, leak or answer wrongly."""
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_adapter.py")

CASE = """id: verdict.sleep
title: The actor sleeps for no time
spec: queue.md#fifo
tags: [state]
level: required
timeout: 4
steps:
  - {call: sleep, args: [0], expect: {returns: null}}
"""



@pytest.fixture(scope="module")
def mpconform(request):
    return request.config.getoption("--mpconform")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("cases")
    (root / "verdict").mkdir()
    (root / "verdict" / "sleep.yaml").write_text(CASE)
    return root


def fake_processes(mode):
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if FAKE in line and (" %s " % mode) in line + " "]


@pytest.mark.parametrize("mode,verdict", [
    ("good", "passed"),
    ("wrong", "failed"),
    ("crash", "crashed"),
    ("hang", "timed out"),
    ("silent", "timed out"),
    ("garbage", "protocol error"),
    ("unknown_op", "adapter error"),
    ("leak", "leaked"),
])
def test_verdict(mpconform, cases, tmp_path, mode, verdict):
    report = tmp_path / "report.json"
    started = time.monotonic()
    proc = subprocess.run(
        [mpconform, "--cases", str(cases), "--jobs", "1", "--report", str(report),
         "--impl", "cmd:fake=%s %s %s" % (sys.executable, FAKE, mode)],
        capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    records = json.loads(report.read_text())
    assert [r["verdict"] for r in records] == [verdict], proc.stdout
    assert (proc.returncode == 0) == (verdict == "passed")
    assert took < 20, "the runner took %.1f s; the case deadline is 4 s" % took
    assert fake_processes(mode) == []
    if verdict != "passed":
        assert "rerun:" in proc.stdout
        assert "--gtest_filter='fake.verdict.sleep'" in proc.stdout


SKIPPED_WITH_ACTORS = """id: verdict.skipped_with_actors
title: A case for other versions, with actors, is skipped without starting them
spec: queue.md#fifo
tags: [state]
level: required
versions: "<3.0"
actors:
  - {name: helper, kind: thread, in: main}
timeout: 4
steps:
  - {actor: helper, call: sleep, args: [0], expect: {returns: null}}
"""


def test_a_case_for_other_versions_is_skipped_even_with_actors(mpconform, tmp_path):
    # The runner used to ask the never-started actors to exit (a protocol error).
    (tmp_path / "cases" / "verdict").mkdir(parents=True)
    (tmp_path / "cases" / "verdict" / "skipped_with_actors.yaml").write_text(SKIPPED_WITH_ACTORS)
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [mpconform, "--cases", str(tmp_path / "cases"), "--jobs", "1", "--report", str(report),
         "--impl", "cmd:fake=%s %s good" % (sys.executable, FAKE)],
        capture_output=True, text=True, timeout=60)
    records = json.loads(report.read_text())
    assert [r["verdict"] for r in records] == ["skipped"], proc.stdout
    assert "not applicable" in records[0]["reason"]
    assert proc.returncode == 0
