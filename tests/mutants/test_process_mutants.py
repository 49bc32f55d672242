"""The process cases fail implementations whose Process is wrong in one way, and pass the real one.

Each mutant is CPython's multiprocessing with one fault in its Process or in a process's exit
(mutant_mp, chosen by MPCONFORM_MUTANT); every case named for it must fail against it, at the step
the fault breaks, and pass against the control (the same module without a fault), so the failures
come from the fault and nothing else.
"""
import pytest

from mutant_runs import run

# Mutant -> {case: the call of the first step that must fail}.
MUTANTS = {
    "terminate_noop": {"process.terminate_exitcode": "child.join(timeout=10)",
                       "process.terminate_ends_busy_child": "child.join(timeout=10)"},
    "kill_noop": {"process.kill_exitcode": "child.join(timeout=10)"},
    "kill_is_terminate": {"process.kill_exitcode": "child.exitcode()"},
    "exitcode_sign": {"process.terminate_exitcode": "child.exitcode()",
                      "process.terminate_ends_busy_child": "child.exitcode()",
                      "process.kill_exitcode": "child.exitcode()",
                      "process.sigterm_ends_idle_child": "child.exitcode()",
                      "process.sigkill_ends_join_thread_hang": "child.exitcode()",
                      "process.grandchild_sees_parent_end": "child.exitcode()"},
    # The child's exit joins the sleeping grandchild, or (abandoned) leaves it running with the
    # child's sentinel, inherited at its fork, open: either way the child's join() waits for it.
    "daemon_ignored": {"process.daemon_child_ended_with_parent": "child.join(timeout=10)"},
    "daemon_abandoned": {"process.daemon_child_ended_with_parent": "child.join(timeout=10)"},
    "alive_until_joined": {"process.exited_child_seen_before_join": "child.is_alive()"},
    "exitcode_at_join": {"process.exited_child_seen_before_join": "child.exitcode()"},
}
ALL_CASES = sorted(set(case for cases in MUTANTS.values() for case in cases))

# Under spawn and forkserver the Process a child is given is unpickled there, and the exit of a
# process is that of a fresh interpreter: one fault of each kind shows the mutant is still in force.
# Without a fork nothing inherits the child's sentinel, so the child exits at once and it is the
# Pipe the abandoned grandchild still holds that shows the fault.
OTHER_START_METHODS = {
    "exitcode_sign": {"process.kill_exitcode": "child.exitcode()"},
    "daemon_abandoned": {"process.daemon_child_ended_with_parent": "r.poll(timeout=0)"},
}
OTHER_CASES = sorted(set(case for cases in OTHER_START_METHODS.values() for case in cases))


def first_failed_step(result):
    return next((step["call"] for step in result["trace"] if step.get("problem")), None)


def assert_fails_at(mutant, results, expected, out):
    for case, call in sorted(expected.items()):
        result = results[case]
        assert result["verdict"] == "failed", "%s: %s was %s, not failed\n%s" % (mutant, case, result["verdict"], out)
        assert first_failed_step(result) == call, "%s: %s failed at %r, not at %r\n%s\n%s" % (
            mutant, case, first_failed_step(result), call, result["details"], out)


def test_control_passes_every_process_case(mpconform):
    results, out = run(mpconform, "none", ALL_CASES)
    assert all(r["verdict"] == "passed" for r in results.values()), out


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_fails_its_cases(mpconform, mutant):
    results, out = run(mpconform, mutant, sorted(MUTANTS[mutant]))
    assert_fails_at(mutant, results, MUTANTS[mutant], out)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_control_passes_under_start_method(mpconform, start_method):
    results, out = run(mpconform, "none", OTHER_CASES, start_method)
    assert all(r["verdict"] == "passed" for r in results.values()), out


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
@pytest.mark.parametrize("mutant", sorted(OTHER_START_METHODS))
def test_mutant_fails_under_start_method(mpconform, mutant, start_method):
    results, out = run(mpconform, mutant, sorted(OTHER_START_METHODS[mutant]), start_method)
    assert_fails_at(mutant + " under " + start_method, results, OTHER_START_METHODS[mutant], out)
