"""No input makes the summary lose a verdict: a shard that dies charges each case it had not
finished as crashed, a malformed file fails the run whatever --gtest_filter says, and the exit
code says the run failed."""
import os
import re
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


# This tree's adapter: the runner built from it runs that one, and other trees' runs on the same
# machine (other checkouts) are not this test's.
ADAPTER = os.path.normpath(os.path.join(HERE, "..", "..", "harness", "adapters", "cpython", "adapter.py"))


def adapter_processes():
    """Pids of every process running this tree's CPython adapter (its actors run the same program)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines() if ADAPTER in line}


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
    assert "3 passed, 0 failed, 3 crashed, 0 skipped" in out, out
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
        assert "1 passed, 0 failed, 1 malformed case, 0 skipped" in proc.stdout, proc.stdout
        doc = read_document(report)
        # The results file lists the file apart: it is no case × implementation.
        assert [r["verdict"] for r in doc["results"]] == ["passed"], doc["results"]
        assert [(m["file"].rsplit("/", 1)[-1], m["line"]) for m in doc["malformed"]] == [("broken.yaml", 1)], doc["malformed"]
        assert "broken.yaml:1:1" in doc["malformed"][0]["error"], doc["malformed"]


# Issue 10, "Output a person can read", and issue 8 item 5 (levels): the scripted adapter's mode
# comes from each case's name (fake_adapter.py by_case), so that one run gives many verdicts.
def mix_case(name, level="required", versions=None, timeout=4):
    text = sleep_case("mix." + name, timeout).replace("level: required", "level: " + level)
    if versions:
        text = text.replace("steps:", 'versions: "%s"\nsteps:' % versions)
    return text


def mix_tree(root, cases):
    for name, text in cases.items():
        case_tree(root, "mix." + name, text)
    return root


def run_mix(mpconform, cases, *extra, jobs="1", env=None):
    return subprocess.run(
        [mpconform, "--cases", str(cases), "--jobs", jobs, "--impl", "cmd:fake=%s %s by_case" % (sys.executable, FAKE), *extra],
        capture_output=True, text=True, timeout=120, env=env)


# "mpconform: 3 of 9 cases done, 2 failed, running: fake.mix.x (0 s)" (harness/runner/progress.cpp).
PROGRESS_LINE = re.compile(r"mpconform: \d+ (of \d+ )?cases? done")


def summary_of(out):
    lines = [l for l in out.splitlines() if l.startswith("mpconform: ") and " skipped in " in l]
    assert len(lines) == 1, out  # one summary: no shard prints totals of its own
    return lines[0]


def test_the_summary_names_each_verdict_class_on_its_own(mpconform, tmp_path):
    cases = mix_tree(tmp_path / "cases", {
        "good": mix_case("good"),
        "wrong": mix_case("wrong"),
        "crash": mix_case("crash"),
        "hang": mix_case("hang"),
        "garbage": mix_case("garbage"),
        "unknown_op": mix_case("unknown_op"),
        "wrong__specific": mix_case("wrong__specific", level="cpython-specific"),
        "wrong__recommended": mix_case("wrong__recommended", level="recommended"),
        "good__skipped": mix_case("good__skipped", versions="<3.0"),
    })
    for jobs in ("1", "2"):
        proc = run_mix(mpconform, cases, jobs=jobs)
        summary = summary_of(proc.stdout)
        assert summary.startswith(
            "mpconform: 1 passed, 1 failed, 1 failed (recommended), 1 crashed, 1 timed out, 1 protocol error, "
            "1 adapter error, 1 differs (cpython-specific), 1 skipped in "), proc.stdout
        assert proc.returncode == 1, proc.stdout
        # Each case that did not pass has its line, led by its verdict; the skipped one has none.
        for verdict, name in [("failed", "wrong"), ("crashed", "crash"), ("timed out", "hang"), ("protocol error", "garbage"),
                              ("adapter error", "unknown_op"), ("differs (cpython-specific)", "wrong__specific"),
                              ("failed (recommended)", "wrong__recommended")]:
            assert sum(l.startswith("%s: fake.mix.%s (" % (verdict, name)) for l in proc.stdout.splitlines()) == 1, (name, proc.stdout)
        # (A progress line may name it while it runs: "running: fake.mix.good__skipped (0 s)".)
        assert not any("fake.mix.good__skipped (" in l for l in proc.stdout.splitlines()
                       if not PROGRESS_LINE.match(l)), proc.stdout
        # GoogleTest's own per-test lines and totals are not the run's output.
        assert "[==========]" not in proc.stdout and "[  PASSED  ]" not in proc.stdout, proc.stdout


def test_strict_makes_a_recommended_failure_fail_the_run(mpconform, tmp_path):
    cases = mix_tree(tmp_path / "cases", {"good": mix_case("good"),
                                          "wrong__recommended": mix_case("wrong__recommended", level="recommended")})
    lenient = run_mix(mpconform, cases)
    assert lenient.returncode == 0, lenient.stdout
    assert summary_of(lenient.stdout).startswith("mpconform: 1 passed, 0 failed, 1 failed (recommended), 0 skipped in "), lenient.stdout
    for jobs in ("1", "2"):
        strict = run_mix(mpconform, cases, "--strict", jobs=jobs)
        assert strict.returncode == 1, strict.stdout
        assert summary_of(strict.stdout).endswith("(--strict)"), strict.stdout
        assert "failed (recommended): fake.mix.wrong__recommended (" in strict.stdout, strict.stdout
    # GoogleTest sees the failure too (its JUnit XML is what CI reads).
    xml = tmp_path / "junit.xml"
    run_mix(mpconform, cases, "--strict", "--gtest_output=xml:%s" % xml)
    assert xml.read_text().count("<failure") == 1, xml.read_text()


def test_one_line_per_failure_then_the_summary_then_the_traces(mpconform, tmp_path):
    cases = mix_tree(tmp_path / "cases", {"wrong": mix_case("wrong"), "good": mix_case("good")})
    proc = run_mix(mpconform, cases)
    lines = proc.stdout.splitlines()
    failure = [i for i, l in enumerate(lines) if l.startswith("failed: fake.mix.wrong ")]
    assert len(failure) == 1, proc.stdout
    # The case file and the failing step's line, what was expected, what happened, the rerun command.
    # The case file is shown where it is (below the working directory, relative to it).
    assert re.fullmatch(
        r"failed: fake\.mix\.wrong \(" + re.escape(str(cases / "mix" / "wrong.yaml")) + r":8\): step 1 sleep\(0\) expected returns None; "
        r"got returned 5 in 0\.001 s \(value differs: .*\); rerun: '[^']*mpconform' --cases '[^']*' --jobs 1 "
        r"--impl 'cmd:fake=[^']*' --gtest_filter='fake\.mix\.wrong'", lines[failure[0]]), lines[failure[0]]
    summary = lines.index(summary_of(proc.stdout))
    traces = lines.index("Full traces (1):")
    assert failure[0] < summary < traces, proc.stdout
    assert "      MISMATCH: value differs: " in "\n".join(lines[traces:]), proc.stdout
    # The rerun command reruns that case alone.
    rerun = lines[failure[0]].split("; rerun: ", 1)[1]
    again = subprocess.run(rerun, shell=True, capture_output=True, text=True, timeout=60)
    assert summary_of(again.stdout).startswith("mpconform: 0 passed, 1 failed, 0 skipped in "), again.stdout


def test_a_traceback_printed_by_several_cases_is_shown_once_with_the_count(mpconform, tmp_path):
    cases = mix_tree(tmp_path / "cases", {"traceback__%d" % n: mix_case("traceback__%d" % n) for n in range(3)})
    cases = mix_tree(cases, {"wrong": mix_case("wrong")})
    proc = run_mix(mpconform, cases, jobs="2")
    out = proc.stdout
    assert "1 failed, 3 adapter errors, 0 skipped" in summary_of(out), out
    assert out.count("Traceback (most recent call last):") == 1, out
    assert out.count("    | KeyError: 'no such key'") == 1, out
    assert "Traceback #1, printed by 3 cases: fake.mix.traceback__0 fake.mix.traceback__1 fake.mix.traceback__2" in out, out
    # Each case's own output keeps what is its own (the adapter's line with its pid) and points at it.
    assert out.count("    | [traceback #1 (KeyError: 'no such key'), printed by 3 cases: shown once below]") == 3, out
    assert out.count("    | fake-adapter[") == 3, out


def test_progress_lines_appear_while_the_shards_run(mpconform, tmp_path):
    cases = mix_tree(tmp_path / "cases", {"slow__%d" % n: mix_case("slow__%d" % n, timeout=10) for n in range(6)})
    env = dict(os.environ)
    env.pop("MPCONFORM_PROGRESS", None)  # stdout is a pipe: plain lines
    proc = subprocess.Popen(
        [mpconform, "--cases", str(cases), "--jobs", "2", "--impl", "cmd:fake=%s %s by_case" % (sys.executable, FAKE)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []  # (line, whether the runner was still running when it was read)
    for line in proc.stdout:
        seen.append((line.rstrip("\n"), proc.poll() is None))
    proc.wait(timeout=60)
    out = "\n".join(l for l, _ in seen)
    assert proc.returncode == 0, out
    progress = [(l, live) for l, live in seen if re.fullmatch(r"mpconform: \d+ of 6 cases done, 0 failed(, running.*)?", l)]
    assert progress and progress[0][1], out  # read while the shards still ran
    first = progress[0][0]
    assert re.fullmatch(r"mpconform: [1-5] of 6 cases done, 0 failed, running (longest: )?fake\.mix\.slow__\d \(\d+ s\)", first), out
    assert summary_of(out).startswith("mpconform: 6 passed, 0 failed, 0 skipped in "), out
    assert "shard" not in out, out  # the shards print nothing of their own


def test_on_a_terminal_the_progress_line_is_rewritten_in_place(mpconform, tmp_path):
    import pty
    cases = mix_tree(tmp_path / "cases", {"slow__%d" % n: mix_case("slow__%d" % n, timeout=10) for n in range(2)})
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [mpconform, "--cases", str(cases), "--jobs", "2", "--impl", "cmd:fake=%s %s by_case" % (sys.executable, FAKE)],
        stdout=secondary, stderr=secondary, env={k: v for k, v in os.environ.items() if k != "MPCONFORM_PROGRESS"})
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the runner has closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(primary)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, out
    assert re.search(r"\rmpconform: \d of 2 cases done, 0 failed.*\x1b\[K", out), repr(out)
    # The live line is taken off before the summary, which is a line of its own.
    assert "\r\x1b[Kmpconform: 2 passed, 0 failed, 0 skipped in " in out, repr(out)
