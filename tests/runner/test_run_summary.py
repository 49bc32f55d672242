"""No input makes the summary lose a verdict: a shard that dies charges each case it had not
finished as crashed, a malformed file fails the run whatever --gtest_filter says, and the exit
code says the run failed."""
import os
import signal
import subprocess
import sys
import time

from results_file import read_document, read_results
from scripted_cases import case_tree, sleep_case

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_adapter.py")

# Long enough that a shard is surely inside it when it is killed. The sleeping actor is a process
# of the adapter's, which outlives its adapter when the shard dies: the runner must end it.
SLOW = """id: summary.slow_{n}
title: A process actor sleeps for a while
spec: queue.md#fifo
tags: [state]
level: required
timeout: 20
actors:
  - {{name: child, kind: process}}
steps:
  - {{actor: child, call: sleep, args: [{seconds}], expect: {{returns: null}}}}
"""




def write_cases(root, count, seconds):
    (root / "summary").mkdir(parents=True)
    for n in range(count):
        (root / "summary" / ("slow_%d.yaml" % n)).write_text(SLOW.format(n=n, seconds=seconds))


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def adapter_processes():
    """Pids of every process running the CPython adapter (its actors run the same program)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines() if "adapters/cpython/adapter.py" in line}


def test_a_shard_that_dies_charges_its_unfinished_cases_as_crashed(mpconform, tmp_path):
    write_cases(tmp_path / "cases", 6, 2)
    before = adapter_processes()
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [mpconform, "--cases", str(tmp_path / "cases"), "--jobs", "2", "--report", str(report),
         "--impl", "cpython"],  # the real adapter: the fake one does not really sleep
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The shards are the runner's children that run this program again; kill the first one
    # while it is inside its first case (each case sleeps 2 s).
    deadline = time.monotonic() + 10
    shard = None
    while shard is None and time.monotonic() < deadline:
        for pid in children(proc.pid):
            try:
                if os.readlink("/proc/%d/exe" % pid) == os.path.realpath(mpconform):
                    shard = pid
                    break
            except OSError:
                pass
        time.sleep(0.05)
    assert shard is not None, "no shard started"
    time.sleep(1.0)
    os.kill(shard, signal.SIGSEGV)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    records = read_results(report)
    assert len(records) == 6, out
    crashed = [r for r in records if r["verdict"] == "crashed"]
    passed = [r for r in records if r["verdict"] == "passed"]
    # Shard 1 of 2 holds 3 of the 6 cases; it died in its first, so all 3 are charged.
    assert len(crashed) == 3 and len(passed) == 3, out
    reasons = sorted(r["reason"] for r in crashed)
    assert sum("during this case" in r for r in reasons) == 1, reasons
    assert sum("before this case ran" in r for r in reasons) == 2, reasons
    assert all("SIGSEGV" in r for r in reasons), reasons
    # A case its shard never finished is still named fully, with the command that reruns it.
    for r in crashed:
        assert r["file"] == "summary/%s.yaml" % r["case"].split(".", 1)[1] and r["trace"] == [], r
        assert "--gtest_filter='cpython.%s'" % r["case"] in r["rerun"], r
    assert "3 passed, 3 failed" in out, out
    # The dead shard's adapter and its actor process are gone, not left running.
    assert adapter_processes() - before == set(), out


def test_a_malformed_file_fails_the_run_whatever_the_filter(mpconform, tmp_path):
    case_tree(tmp_path / "cases", "summary.quick", sleep_case("summary.quick"))
    (tmp_path / "cases" / "summary" / "broken.yaml").write_text("id: summary.broken\ntitle: no steps\n")
    for jobs in ("1", "2"):
        report = tmp_path / ("report%s.json" % jobs)
        proc = subprocess.run(
            [mpconform, "--cases", str(tmp_path / "cases"), "--jobs", jobs, "--report", str(report),
             "--impl", "cmd:fake=%s %s good" % (sys.executable, FAKE),
             "--gtest_filter=fake.*"],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, proc.stdout
        assert "malformed case file: " in proc.stdout and "broken.yaml:1:1" in proc.stdout, proc.stdout
        assert "1 passed, 1 failed" in proc.stdout, proc.stdout
        doc = read_document(report)
        # The results file lists the file apart: it is no case × implementation.
        assert [r["verdict"] for r in doc["results"]] == ["passed"], doc["results"]
        assert [(m["file"].rsplit("/", 1)[-1], m["line"]) for m in doc["malformed"]] == [("broken.yaml", 1)], doc["malformed"]
        assert "broken.yaml:1:1" in doc["malformed"][0]["error"], doc["malformed"]
