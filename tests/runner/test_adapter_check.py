"""`mpconform adapter-check` (spec/adapter-protocol.md#checking-an-adapter): both real adapters pass;
a deliberately broken one (broken_adapter.py) has each kind of violation named, all of them listed.
"""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CPYTHON = "/usr/bin/python3 " + os.path.join(ROOT, "harness", "adapters", "cpython", "adapter.py")
BROKEN = "/usr/bin/python3 " + os.path.join(HERE, "broken_adapter.py")


def check(mpconform, command, timeout=180):
    run = subprocess.run([mpconform, "adapter-check", command], capture_output=True, text=True, timeout=timeout)
    return run.returncode, run.stdout + run.stderr


def cpp_adapter(mpconform):
    # The build puts it beside the runner (harness/CMakeLists.txt: MPC_CPP_ADAPTER).
    path = os.path.join(os.path.dirname(os.path.abspath(mpconform)), "adapters", "cpp", "mpconform-cpp-adapter")
    assert os.access(path, os.X_OK), "the C++ adapter is not built at %s" % path
    return path


def violations(out):
    lines = out.split("violations (", 1)[1].splitlines()[1:] if "violations (" in out else []
    return [l.strip() for l in lines if l.startswith("  ") and l.strip()[:1].isdigit()]


@pytest.mark.parametrize("which", ["cpython", "cpp"])
def test_a_real_adapter_passes(mpconform, which):
    command = CPYTHON if which == "cpython" else cpp_adapter(mpconform)
    code, out = check(mpconform, command)
    assert code == 0, out
    assert "violations: none" in out, out
    # Every operation it offers was called, or is named with the reason it was not.
    offered = int(out.split("capabilities: ", 1)[1].split(" types, ", 1)[1].split(" operations", 1)[0])
    called = int(out.split("; ", 1)[1].split(" of the ", 1)[0])
    notes = out.count("  note: ")
    assert offered > 40 and called + notes == offered, out
    assert "not offered (in spec/api.yaml" in out, out


def test_the_capability_report_names_what_is_not_offered(mpconform):
    code, out = check(mpconform, BROKEN + " good")
    assert code == 0, out
    report = out.split("not offered (", 1)[1]
    # The broken adapter offers only four Queue operations: the rest of the registry is listed.
    for op in ("Queue.put_nowait", "Connection.recv", "JoinableQueue.task_done", "Global.get"):
        assert "\n  %s\n" % op in report, out
    assert "\n  Queue.put\n" not in report and "\n  Queue.qsize\n" not in report
    assert "types: " in report and "Pipe" in report.split("types: ", 1)[1].splitlines()[0], out


KINDS = {
    "unregistered_op": "hello /capabilities/ops/4 'Queue.frobnicate' is not an operation of spec/api.yaml (Queue has no 'frobnicate')",
    "hello_wrong_type": "'main' sent a bad 'hello' message: /pid must be an integer",
    "result_before_started": "'main' sent a 'result' for call 3 before its 'started'",
    "wrong_re": "'main' sent a 'result' that answers nothing the check sent it (re 1004)",
    "error_kind": "'main' sent a bad 'result' message: /error/kind does not satisfy spec/protocol/from-adapter.schema.json",
    "claimed_unknown": "(claimed Queue.qsize) answered status error, kind unknown_op",
    "second_result": "'main' sent a second answer ('result') to",
    "no_goodbye": "the adapter's main process ended (exit code 0) before its goodbye",
}


@pytest.mark.parametrize("mode", sorted(KINDS))
def test_each_kind_of_violation_is_named(mpconform, mode):
    code, out = check(mpconform, BROKEN + " " + mode)
    assert code == 1, out
    assert any(KINDS[mode] in v for v in violations(out)), out


def test_every_violation_is_listed_not_only_the_first(mpconform):
    modes = ["unregistered_op", "hello_wrong_type", "result_before_started", "error_kind", "claimed_unknown", "no_goodbye"]
    code, out = check(mpconform, BROKEN + " " + ",".join(modes))
    assert code == 1, out
    found = violations(out)
    for mode in modes:
        assert any(KINDS[mode] in v for v in found), (mode, out)
    assert len(found) >= len(modes), out


def test_a_command_that_cannot_start_is_not_a_pass(mpconform):
    code, out = check(mpconform, "/nonexistent/adapter --flag", timeout=120)
    assert code != 0, out


def test_usage(mpconform):
    run = subprocess.run([mpconform, "adapter-check"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "usage: mpconform adapter-check" in run.stderr
