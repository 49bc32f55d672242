"""The runner's own verdicts for adapters that crash, hang, send garbage, leak or answer wrongly."""
import os
import subprocess
import sys
import time
import uuid

import pytest

from scripted_cases import case_tree, sleep_case

from results_file import read_results

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_adapter.py")



@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return case_tree(tmp_path_factory.mktemp("cases"), "verdict.sleep", sleep_case("verdict.sleep"))


def fake_command(mode):
    """The --impl of the fake in `mode`, with a tag of its own so that fake_processes sees only this
    run's processes (other runs of these tests may be going on at the same time)."""
    tag = "run-%d-%s" % (os.getpid(), uuid.uuid4().hex[:12])
    return "cmd:fake=%s %s %s %s" % (sys.executable, FAKE, mode, tag), tag


def fake_processes(tag):
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if FAKE in line and (" %s " % tag) in line + " "]


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
    impl, tag = fake_command(mode)
    started = time.monotonic()
    proc = subprocess.run(
        [mpconform, "--cases", str(cases), "--jobs", "1", "--report", str(report), "--impl", impl],
        capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    records = read_results(report)
    assert [r["verdict"] for r in records] == [verdict], proc.stdout
    assert (proc.returncode == 0) == (verdict == "passed")
    assert took < 20, "the runner took %.1f s; the case deadline is 4 s" % took
    assert fake_processes(tag) == []
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
    records = read_results(report)
    assert [r["verdict"] for r in records] == ["skipped"], proc.stdout
    assert "not applicable" in records[0]["reason"]
    assert proc.returncode == 0


def run_fake(mpconform, cases, tmp_path, mode, jobs=1, extra=()):
    """Runs the one-step case against the fake adapter in `mode`; watches the runner's peak RSS."""
    report = tmp_path / "report.json"
    impl, tag = fake_command(mode)
    args = [mpconform, "--cases", str(cases), "--jobs", str(jobs), "--report", str(report), "--impl", impl, *extra]
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    peak_kb = 0
    while proc.poll() is None and time.monotonic() - started < 60:
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - started
    leftover = fake_processes(tag)
    return proc.returncode, stdout + stderr, read_results(report), took, peak_kb, leftover


# Issue 7, items 1-6: each faulty adapter ends in a protocol error whose reason names what is
# wrong, within the case deadline (4 s), with the adapter's group killed.
@pytest.mark.parametrize("mode,reason", [
    ("not_utf8_frame", "'main' sent a frame that is not UTF-8: byte 0xff at offset 0"),
    ("not_utf8_string", "'main' sent a frame that is not UTF-8: byte 0xff at offset "),
    ("deep_message", "'main' sent a message nested deeper than 256 levels"),
    ("deep_value", "'main' sent a message nested deeper than 256 levels"),
    ("deep_args", "'main' sent a message nested deeper than 256 levels"),
    ("duplicate_started", "'main' sent a second 'started' for call 2"),
    ("duplicate_result", "'main' sent a second 'result' for call 2"),
    ("contradictory_result", "'main' sent a second 'result' for call 2"),
    ("result_without_started", "'main' sent a 'result' for call 2 before its 'started'"),
    ("multipart", "'main' sent a message of 2 frames: one frame is one message"),
    ("huge_frame", "the connection of 'main' was dropped while the adapter runs: a frame over the limit of 67108864 bytes"),
    ("wrong_type", "'main' sent a bad 'result' message: /value/t must be a string"),
    # The controller's replies follow the same rule: one answer per request, nothing after goodbye.
    ("ready_twice", "'main' sent a second answer to request 1 ('ready')"),
    ("undeclared_actor", "'main' sent an actor hello, but the case declares no actor of that name"),
    ("after_goodbye", "'main' sent a 'started' after the controller's goodbye"),
])
def test_protocol_error(mpconform, cases, tmp_path, mode, reason):
    code, out, records, took, peak_kb, leftover = run_fake(mpconform, cases, tmp_path, mode)
    assert [r["verdict"] for r in records] == ["protocol error"], out
    assert reason in records[0]["reason"], records[0]["reason"]
    assert code == 1, out
    assert took < 20, "the runner took %.1f s; the case deadline is 4 s" % took
    assert leftover == [], "the adapter's group was not killed"
    # Nothing of a frame over the limit gets into the runner's memory (it would be 300 MiB).
    assert peak_kb < 150 * 1024, "runner peak RSS %d KiB" % peak_kb


# Under --jobs 2 the shard used to die (SIGABRT writing its records, SIGSEGV on deep values)
# and the summary read "0 failed": the failure must be counted.
@pytest.mark.parametrize("mode,verdict", [
    ("not_utf8_frame", "protocol error"),
    ("deep_message", "protocol error"),
    ("deep_value", "protocol error"),
    ("stderr_bytes", "failed"),
])
def test_failure_is_counted_under_two_jobs(mpconform, cases, tmp_path, mode, verdict):
    code, out, records, took, _, leftover = run_fake(mpconform, cases, tmp_path, mode, jobs=2)
    assert [r["verdict"] for r in records] == [verdict], out
    # Each class is counted on its own: a protocol error is not a failed expectation.
    counted = "0 passed, 1 failed" if verdict == "failed" else "0 passed, 0 failed, 1 %s" % verdict
    assert counted + ", 0 skipped in " in out, out
    assert code == 1, out
    assert leftover == []


def test_adapter_output_that_is_not_utf8_is_kept_escaped(mpconform, cases, tmp_path):
    code, out, records, _, _, _ = run_fake(mpconform, cases, tmp_path, "stderr_bytes")
    assert [r["verdict"] for r in records] == ["failed"], out
    assert "adapter output: \\xff\\xfe\\x80 end" in records[0]["details"], records[0]["details"]
    assert code == 1


# The bounds are options: a hello over --max-frame-bytes is dropped by libzmq before the runner
# holds it, and the dropped connection (of a peer not yet named) is reported at once.
@pytest.mark.parametrize("option,reason", [
    (["--max-frame-bytes", "100"], "the connection of a peer that had sent no message yet was dropped"),
    (["--max-message-nesting", "2"], "'main' sent a message nested deeper than 2 levels"),
])
def test_message_bounds_are_options(mpconform, cases, tmp_path, option, reason):
    code, out, records, took, _, leftover = run_fake(mpconform, cases, tmp_path, "good", extra=option)
    assert [r["verdict"] for r in records] == ["protocol error"], out
    assert reason in records[0]["reason"], records[0]["reason"]
    assert took < 20 and leftover == [] and code == 1
