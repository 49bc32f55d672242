"""Verdicts on the runner-only forms of the case language v2 (spec/case-format.md): output patterns,
signals and killed awaits, keys of expectations, captures and returns_matching, in_flight, after and
group awaits. Each form is run against a scripted adapter once where it must pass and once where it
must fail."""
import json
import os
import subprocess
import sys

import pytest

from results_file import read_results
from scripted_cases import case_tree

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTED = os.path.join(HERE, "scripted_adapter.py")

HEADER = """id: v2.case
title: A case of the language v2
spec: queue.md#fifo
tags: [state]
level: required
timeout: 10
"""


def run(mpconform, tmp_path, body, script, output=None):
    """Runs the case HEADER + body against the scripted adapter; returns its one record (and puts
    what the runner printed in `output`, a list, if given)."""
    cases = case_tree(tmp_path / "cases", "v2.case", HEADER + body)
    (tmp_path / "script.json").write_text(json.dumps(script))
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [mpconform, "--cases", str(cases), "--jobs", "1", "--report", str(report),
         "--impl", "cmd:scripted=%s %s %s" % (sys.executable, SCRIPTED, tmp_path / "script.json")],
        capture_output=True, text=True, timeout=120)
    records = read_results(report)
    assert len(records) == 1, proc.stdout + proc.stderr
    if output is not None:
        output.append(proc.stdout + proc.stderr)
    return records[0]


def verdict(record):
    return record["verdict"]


# ---- output ----

OUTPUT_CASE = """output:
  - {match: "Traceback \\\\(most"}
  - {not_match: "DeprecationWarning"}
  - {match: "only on 3.8", versions: "==3.8"}
steps:
  - {call: sleep, args: [0]}
"""


def test_output_patterns_pass_when_the_output_holds_them(mpconform, tmp_path):
    r = run(mpconform, tmp_path, OUTPUT_CASE, {"stderr": "Traceback (most recent call last):\n  ...\n"})
    assert verdict(r) == "passed", r


def test_a_missing_match_fails_naming_the_pattern(mpconform, tmp_path):
    r = run(mpconform, tmp_path, OUTPUT_CASE, {"stderr": "nothing to see\n"})
    assert verdict(r) == "failed", r
    assert "output: the adapter's output does not match /Traceback \\(most/ (output line 8)" in r["reason"], r["reason"]


def test_a_present_not_match_fails(mpconform, tmp_path):
    r = run(mpconform, tmp_path, OUTPUT_CASE, {"stderr": "Traceback (most\nDeprecationWarning: fork\n"})
    assert verdict(r) == "failed", r
    assert "matches /DeprecationWarning/, which it must not (output line 9)" in r["reason"], r["reason"]


def test_a_keyed_output_pattern_applies_only_where_its_keys_match(mpconform, tmp_path):
    r = run(mpconform, tmp_path, OUTPUT_CASE, {"stderr": "Traceback (most\n", "implementation": {"semantics": "3.8"}})
    assert verdict(r) == "failed", r
    assert "/only on 3.8/" in r["reason"]


# ---- signals and killed ----

KILL_CASE = """objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}]
steps:
  - {actor: child, call: q.get, as: g, expect: {blocks: 0.5}}
  - {signal: SIGKILL, actor: child}
  - {await: g, expect: {killed: true}}
"""


def test_a_call_that_hangs_until_killed_passes_as_killed(mpconform, tmp_path):
    r = run(mpconform, tmp_path, KILL_CASE, {"calls": {"q.get": [{"hang": True}]}})
    assert verdict(r) == "passed", r
    assert [s["outcome"]["kind"] for s in r["trace"]] == ["blocked", "signalled", "killed"]
    assert r["seconds"] < 8, "the killed actor was sent exit and waited for"


def test_a_call_that_completes_before_the_kill_fails_a_killed_await(mpconform, tmp_path):
    body = KILL_CASE.replace("expect: {blocks: 0.5}}", "detach: true}").replace("  - {signal", "  - {call: sleep, args: [0.5]}\n  - {signal")
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"value": {"t": "int", "v": "1"}}]}})
    assert verdict(r) == "failed", r
    assert "expected the call to be in flight when its process was killed" in r["trace"][-1]["problem"]


def test_a_killed_call_fails_an_await_that_expects_a_value(mpconform, tmp_path):
    r = run(mpconform, tmp_path, KILL_CASE.replace("{killed: true}", "{returns: 1}"), {"calls": {"q.get": [{"hang": True}]}})
    assert verdict(r) == "failed", r
    assert "its process was killed by the case's signal before the call completed" in r["trace"][-1]["problem"]


def test_an_unsignalled_death_is_still_a_crash(mpconform, tmp_path):
    body = """objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}]
steps:
  - {actor: child, call: q.get, as: g, expect: {blocks: 0.5}}
  - {call: sleep, args: [0.5]}
  - {await: g}
"""
    # The child kills itself during the call: no signal step of the case did.
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"delay": 0.7, "die": True}]}})
    assert verdict(r) == "crashed", r
    assert "died during a call" in r["reason"]


def test_a_step_for_an_actor_gone_after_a_signal_fails(mpconform, tmp_path):
    body = """objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}]
steps:
  - {signal: SIGTERM, actor: child}
  - {call: sleep, args: [0.5]}
  - {actor: child, call: q.qsize}
"""
    r = run(mpconform, tmp_path, body, {})
    assert verdict(r) == "failed", r
    assert "ended after the case's signal" in r["trace"][-1]["problem"], r["trace"]


# ---- dies: a call whose process ends, unsignalled, before its result ----

DIES_CASE = """objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}]
steps:
  - {actor: child, call: q.get, expect: {dies: true}}
"""


def test_a_call_whose_process_dies_passes_dies_with_the_signal_seen(mpconform, tmp_path):
    r = run(mpconform, tmp_path, DIES_CASE, {"calls": {"q.get": [{"delay": 0.2, "die": "SIGSEGV"}]}})
    assert verdict(r) == "passed", r
    # The scripted controller reaps its children only at teardown: the runner sees the zombie.
    assert r["trace"][0]["outcome"] == {"kind": "died", "signal": 11}, r["trace"]
    assert "killed by signal 11 (SIGSEGV)" in r["trace"][0]["observed"], r["trace"]
    assert r["seconds"] < 8, "the dead actor was sent exit and waited for"


def test_a_call_that_returns_fails_dies_naming_the_file_and_line(mpconform, tmp_path):
    printed = []
    r = run(mpconform, tmp_path, DIES_CASE, {"calls": {"q.get": [{"value": {"t": "int", "v": "1"}}]}}, printed)
    assert verdict(r) == "failed", r
    assert r["trace"][0]["problem"] == ("expected its process to die before the call completed; "
                                        "the call returned instead"), r["trace"]
    assert ("v2/case.yaml:10): step 1 q.get() expected never completes: its process dies first (no signal of "
            "the case); got returned 1 in") in printed[0], printed[0]


def test_a_call_that_raises_fails_dies(mpconform, tmp_path):
    r = run(mpconform, tmp_path, DIES_CASE, {"calls": {"q.get": [{"raise": "queue.Empty"}]}})
    assert verdict(r) == "failed", r
    assert "the call raised instead" in r["trace"][0]["problem"], r["trace"]


def test_an_await_expects_dies_of_a_call_that_blocked(mpconform, tmp_path):
    body = DIES_CASE.replace("expect: {dies: true}}", "as: g, expect: {blocks: 0.5}}\n  - {await: g, expect: {dies: true}}")
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"delay": 0.8, "die": True}]}})
    assert verdict(r) == "passed", r
    assert [s["outcome"]["kind"] for s in r["trace"]] == ["blocked", "died"]
    assert r["trace"][1]["outcome"] == {"kind": "died", "signal": 9}


def test_a_death_inside_the_blocks_window_fails_the_blocks(mpconform, tmp_path):
    body = DIES_CASE.replace("expect: {dies: true}}", "as: g, expect: {blocks: 1}}\n  - {await: g, expect: {dies: true}}")
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"delay": 0.1, "die": True}]}})
    assert verdict(r) == "failed", r
    assert r["trace"][0]["problem"] == "its process ended while the call should have blocked", r["trace"]


def test_a_death_of_another_process_than_the_one_expected_to_die_is_a_crash(mpconform, tmp_path):
    body = """objects: [{name: q, type: Queue}, {name: r, type: Queue}]
actors: [{name: child, kind: process}, {name: other, kind: process}]
steps:
  - {actor: other, call: r.get, as: g, detach: true}
  - {actor: child, call: q.get, expect: {dies: true}}
  - {await: g}
"""
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"delay": 0.5, "die": True}], "r.get": [{"die": True}]}})
    assert verdict(r) == "crashed", r
    assert "actor 'other'" in r["reason"] and "died during a call" in r["reason"], r["reason"]


# ---- version specifiers with a micro level ----

MICRO_CASE = """objects: [{name: q, type: Queue}]
steps:
  - call: q.qsize
    expect:
      - {versions: "<3.11.5", returns: 1}
      - {returns: 2}
"""


@pytest.mark.parametrize("implementation,value", [
    ({"semantics": "3.11", "version": "3.11.2", "language": "python"}, "1"),   # Debian's python3
    ({"semantics": "3.11", "version": "3.11.7", "language": "python"}, "2"),   # pyenv's 3.11.7
    ({"semantics": "3.10", "version": "3.10.13", "language": "python"}, "1"),
    ({"semantics": "3.12", "version": "3.12.1", "language": "python"}, "2"),
    ({"semantics": "3.11", "version": "3.11.7", "language": "c++"}, "1"),      # not a Python: 3.11 is 3.11.0
    ({"semantics": "3.8", "version": "3.7.16", "language": "python"}, "1"),    # older=run: judged as 3.8.0
])
def test_a_micro_level_specifier_compares_the_full_version(mpconform, tmp_path, implementation, value):
    r = run(mpconform, tmp_path, MICRO_CASE, {"implementation": implementation,
                                              "calls": {"q.qsize": [{"value": {"t": "int", "v": value}}]}})
    assert verdict(r) == "passed", r


def test_a_micro_level_case_specifier_skips_naming_the_full_version(mpconform, tmp_path):
    body = 'versions: "<3.11.5"\n' + MICRO_CASE
    r = run(mpconform, tmp_path, body, {"implementation": {"semantics": "3.11", "version": "3.11.7"}})
    assert verdict(r) == "skipped", r
    assert "the case applies to <3.11.5, the implementation follows 3.11 (3.11.7)" in r["reason"], r["reason"]


# ---- warnings ----

WARNINGS_CASE = """warnings: default
output:
  - {match: "warnings filter: default"}
steps:
  - {call: sleep, args: [0]}
"""


def test_the_warnings_action_goes_to_an_adapter_that_lists_the_feature(mpconform, tmp_path):
    r = run(mpconform, tmp_path, WARNINGS_CASE, {"features": ["warnings"]})
    assert verdict(r) == "passed", r


def test_a_case_with_warnings_is_skipped_by_an_adapter_without_the_feature(mpconform, tmp_path):
    r = run(mpconform, tmp_path, WARNINGS_CASE, {})
    assert verdict(r) == "skipped", r
    assert r["reason"] == "unsupported by the implementation: feature warnings", r["reason"]


# ---- keys of an expectation ----

KEYED_CASE = """start_methods: [fork, spawn]
objects: [{name: q, type: Queue}]
steps:
  - call: q.qsize
    expect:
      - {platforms: [darwin], returns: 1}
      - {start_methods: [spawn], returns: 2}
      - {returns: 3}
"""


@pytest.mark.parametrize("platform,start,value,outcome", [
    ("darwin", "fork", "1", "passed"),
    ("linux", "spawn", "2", "passed"),
    ("linux", "fork", "3", "passed"),
    (None, "fork", "3", "passed"),      # no platform reported: platforms keys never match
    ("linux", "fork", "1", "failed"),
    ("darwin", "spawn", "2", "failed"),  # the first that matches applies
])
def test_the_first_expectation_whose_keys_match_applies(mpconform, tmp_path, platform, start, value, outcome):
    impl = {"start_method": start}
    if platform:
        impl["platform"] = platform
    r = run(mpconform, tmp_path, KEYED_CASE, {"implementation": impl, "calls": {"q.qsize": [{"value": {"t": "int", "v": value}}]}})
    assert verdict(r) == outcome, r


def test_case_level_start_methods_skip_other_implementations(mpconform, tmp_path):
    r = run(mpconform, tmp_path, KEYED_CASE, {"implementation": {"start_method": "forkserver"}})
    assert verdict(r) == "skipped", r
    assert "not applicable: the case applies to the start methods fork, spawn, the implementation uses forkserver" in r["reason"]


# ---- captures and returns_matching ----

CAPTURE_CASE = """objects: [{name: q, type: Queue}]
steps:
  - {call: q.qsize, capture: n, expect: {returns_matching: {type: int, min: 2, max: 99999}}}
  - {call: q.put, args: [{$captured: n}], capture: echoed}
  - {call: q.get, expect: {returns: {$captured: echoed}}}
"""


def test_a_captured_value_is_sent_and_compared(mpconform, tmp_path):
    r = run(mpconform, tmp_path, CAPTURE_CASE, {"calls": {
        "q.qsize": [{"value": {"t": "int", "v": "4242"}}], "q.put": [{"echo": True}],
        "q.get": [{"value": {"t": "int", "v": "4242"}}]}})
    assert verdict(r) == "passed", r
    assert r["trace"][1]["outcome"]["value"] == {"t": "int", "v": "4242"}, "the capture was not substituted"


def test_a_value_that_differs_from_the_captured_one_fails(mpconform, tmp_path):
    r = run(mpconform, tmp_path, CAPTURE_CASE, {"calls": {
        "q.qsize": [{"value": {"t": "int", "v": "4242"}}], "q.put": [{"echo": True}],
        "q.get": [{"value": {"t": "int", "v": "4243"}}]}})
    assert verdict(r) == "failed", r
    assert "value differs" in r["trace"][2]["problem"]


@pytest.mark.parametrize("value,problem", [
    ({"t": "int", "v": "1"}, "value is below 2"),
    ({"t": "int", "v": "123456789012345678901234567890"}, "value is above 99999"),
    ({"t": "str", "v": "4242"}, "value is a str, not a int"),
])
def test_returns_matching_fails_outside_its_predicate(mpconform, tmp_path, value, problem):
    r = run(mpconform, tmp_path, CAPTURE_CASE, {"calls": {"q.qsize": [{"value": value}]}})
    assert verdict(r) == "failed", r
    assert r["trace"][0]["problem"] == problem


def test_returns_matching_searches_a_str(mpconform, tmp_path):
    body = "objects: [{name: q, type: Queue}]\nsteps:\n  - {call: q.get, expect: {returns_matching: {type: str, match: \"^pid [0-9]+$\"}}}\n"
    assert verdict(run(mpconform, tmp_path, body, {"calls": {"q.get": [{"value": {"t": "str", "v": "pid 42"}}]}})) == "passed"
    r = run(mpconform, tmp_path, body, {"calls": {"q.get": [{"value": {"t": "str", "v": "pid 42!"}}]}})
    assert verdict(r) == "failed" and r["trace"][0]["problem"] == "value does not match /^pid [0-9]+$/", r


# ---- ordering ----

IN_FLIGHT_CASE = """objects: [{name: q, type: Queue}]
actors: [{name: t, kind: thread}]
steps:
  - {actor: t, call: q.get, as: g, detach: true}
  - {call: sleep, args: [0.3]}
  - {in_flight: g}
  - {await: g}
"""


def test_in_flight_passes_while_the_call_runs(mpconform, tmp_path):
    r = run(mpconform, tmp_path, IN_FLIGHT_CASE, {"calls": {"q.get": [{"delay": 1.0}]}})
    assert verdict(r) == "passed", r
    assert r["trace"][2]["outcome"] == {"kind": "in_flight"}


def test_in_flight_fails_once_the_call_has_completed(mpconform, tmp_path):
    r = run(mpconform, tmp_path, IN_FLIGHT_CASE, {"calls": {"q.get": [{}]}})
    assert verdict(r) == "failed", r
    assert r["trace"][2]["problem"] == "completed while it should still be in flight"


AFTER_CASE = """objects: [{name: q, type: Queue}, {name: r, type: Queue}]
actors: [{name: t, kind: thread}]
steps:
  - {actor: t, call: q.get, as: g, detach: true}
  - {call: sleep, args: [0.3]}
  - {call: r.put, args: [1], as: p}
  - {await: g, expect: {ok: true, after: p}}
"""


@pytest.mark.parametrize("stamps", [True, False])
def test_after_passes_when_the_awaited_call_completes_later(mpconform, tmp_path, stamps):
    r = run(mpconform, tmp_path, AFTER_CASE, {"stamps": stamps, "calls": {"q.get": [{"delay": 1.0}]}})
    assert verdict(r) == "passed", r


@pytest.mark.parametrize("stamps,why", [
    (True, "before 'p' started (started_at"),
    (False, "before 'p' started (by the order in which the runner received them"),
])
def test_after_fails_when_the_awaited_call_completed_first(mpconform, tmp_path, stamps, why):
    r = run(mpconform, tmp_path, AFTER_CASE, {"stamps": stamps, "calls": {"q.get": [{}]}})
    assert verdict(r) == "failed", r
    assert why in r["trace"][-1]["problem"], r["trace"][-1]


GROUP_CASE = """objects: [{name: a, type: Queue}, {name: b, type: Queue}, {name: c, type: Queue}]
actors: [{name: x, kind: thread}, {name: y, kind: thread}, {name: z, kind: thread}]
steps:
  - {actor: x, call: a.get, as: ga, detach: true}
  - {actor: y, call: b.get, as: gb, detach: true}
  - {actor: z, call: c.get, as: gc, detach: true}
  - {await: [ga, gb, gc], expect: {raises: queue.Empty}, exactly_one: {returns: 1}}
"""

ONE = {"value": {"t": "int", "v": "1"}}
EMPTY = {"raise": "queue.Empty"}


@pytest.mark.parametrize("outcomes,verdict_,problem", [
    ((EMPTY, ONE, EMPTY), "passed", None),
    ((ONE, ONE, EMPTY), "failed", "exactly one should returns 1; 2 did (ga, gb)"),
    ((EMPTY, EMPTY, EMPTY), "failed", "exactly one should returns 1; 0 did"),
    (({"value": {"t": "int", "v": "2"}}, ONE, EMPTY), "failed", "expected an exception"),
])
def test_a_group_await_with_exactly_one(mpconform, tmp_path, outcomes, verdict_, problem):
    calls = {"a.get": [outcomes[0]], "b.get": [outcomes[1]], "c.get": [outcomes[2]]}
    r = run(mpconform, tmp_path, GROUP_CASE, {"calls": calls})
    assert verdict(r) == verdict_, r
    assert len(r["trace"]) == 6, "one trace entry per awaited call"
    if problem:
        assert any(problem in s["problem"] for s in r["trace"]), r["trace"]
