"""The timing tiers fail implementations that are off by 2x or by 0.5 s, and pass the real one.

Each mutant is CPython's multiprocessing with one timing fault in its Queue (mutant_mp, chosen by
MPCONFORM_MUTANT); the cases of its tier must fail against it and pass against the control
(the same module without a fault), so the failures come from the fault and nothing else.
"""
import pytest

from mutant_runs import run

TIMEOUT_CASES = ["queue.get_timeout_empty", "queue.put_timeout_full", "queue.joinable_put_get_forms"]
PROMPT_CASES = ["queue.get_nowait_empty", "queue.put_nowait_full", "queue.get_nonblocking_ignores_timeout",
                "queue.put_nonblocking_ignores_timeout", "queue.get_negative_timeout", "queue.put_negative_timeout"]
WAKES_CASES = ["queue.get_timeout_wakes_on_put"]

MUTANTS = {
    "timeout_x2": TIMEOUT_CASES,    # get(timeout=T) waits 2T
    "timeout_late": TIMEOUT_CASES,  # ... T + 0.5 s
    "nowait_late": PROMPT_CASES,    # a non-blocking call waits 0.5 s first
    "wake_late": WAKES_CASES,       # a woken get returns 0.5 s late
}
ALL_CASES = sorted(set(TIMEOUT_CASES + PROMPT_CASES + WAKES_CASES))


def verdicts_of(mpconform, mutant, cases):
    results, out = run(mpconform, mutant, cases)
    # Passed or failed, as GoogleTest counts them (the results file has the runner's verdicts).
    return dict((c, "OK" if r["verdict"] == "passed" else "FAILED") for c, r in results.items()), out


def test_control_passes_every_timing_case(mpconform):
    verdicts, out = verdicts_of(mpconform, "none", ALL_CASES)
    assert all(v == "OK" for v in verdicts.values()), out


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_fails_its_tier(mpconform, mutant):
    verdicts, out = verdicts_of(mpconform, mutant, MUTANTS[mutant])
    passed = [c for c, v in verdicts.items() if v != "FAILED"]
    assert not passed, "%s passed cases of its tier: %s\n%s" % (mutant, passed, out)
    assert "took too long" in out, out
