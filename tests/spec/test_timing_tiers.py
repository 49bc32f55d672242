"""Every timing in a case belongs to a tier of spec/case-format.md#timing-tiers.

The tiers are what makes a timing check both stable on a loaded machine and sharp enough to fail
an implementation off by 2x or by 0.5 s; a window outside them is either flaky or blunt.
"""
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "cases")

TIMEOUT_T = 1.0
TIMEOUT_WINDOW = {"min": 1.0, "max": 1.4}
PROMPT_MAX = 0.25
BLOCKS_MIN = 0.5
WAKES_AFTER = 0.5
BULK_MAX = 5
EXIT_MAX = 2.5
TIERS = ("timeout", "prompt", "blocks", "wakes", "exit", "bulk")
EXPIRED = ("queue.Empty", "queue.Full")


def load_cases():
    for dirpath, _, files in os.walk(CASES):
        for name in sorted(files):
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name)) as f:
                    yield yaml.safe_load(f)


def expectations(step):
    e = step.get("expect")
    if e is None:
        return []
    return e if isinstance(e, list) else [e]


def timeout_argument(step, default_timeouts=None):
    """The timeout a call is given, by keyword or (for get/put/poll/join) by position; else the
    default timeout its object was made with (Barrier(2, timeout=1).wait())."""
    kwargs = step.get("kwargs") or {}
    if "timeout" in kwargs:
        return kwargs["timeout"]
    args = step.get("args") or []
    target, _, method = step.get("call", "").rpartition(".")
    position = {"get": 1, "put": 2, "poll": 0, "join": 0, "acquire": 1, "wait": 0}.get(method)
    if position is not None and len(args) > position:
        return args[position]
    return (default_timeouts or {}).get(target)


def default_timeouts(doc):
    """Object name -> the timeout its constructor was given by keyword (a Barrier's default)."""
    return dict((o["name"], o["kwargs"]["timeout"]) for o in doc.get("objects") or []
                if isinstance(o.get("name"), str) and "timeout" in (o.get("kwargs") or {}))


def non_blocking(step):
    kwargs = step.get("kwargs") or {}
    args = step.get("args") or []
    position = {"get": 0, "put": 1, "acquire": 0}.get(step.get("call", "").rpartition(".")[2])
    block = kwargs.get("block", args[position] if position is not None and len(args) > position else True)
    return block is False


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def tier(step, e, calls, defaults=None):
    """The tier of one timed expectation, or a sentence saying why it fits none."""
    if "blocks" in e:
        return "blocks" if e["blocks"] >= BLOCKS_MIN else "blocks window %s < %s s" % (e["blocks"], BLOCKS_MIN)
    elapsed = e["elapsed"]
    call = calls.get(step["await"]) if "await" in step else step
    if elapsed == TIMEOUT_WINDOW:
        t = timeout_argument(call, defaults)
        return "timeout" if is_number(t) and t == TIMEOUT_T else "timeout window on a call whose timeout is %r" % (t,)
    if set(elapsed) == {"max"}:
        if elapsed["max"] == PROMPT_MAX:
            return "prompt"
        if "await" in step:
            windows = [x["blocks"] for x in expectations(call) if "blocks" in x]
            if windows and elapsed["max"] == windows[0] + WAKES_AFTER:
                return "wakes"
        elif elapsed["max"] == WAKES_AFTER:
            return "wakes"
        if elapsed["max"] == BULK_MAX:
            return "bulk"
        if elapsed["max"] == EXIT_MAX and call.get("call", "").endswith(".join"):
            return "exit"
    return "window %r fits no tier" % (elapsed,)


def flattened(steps):
    """(index, step) of each step; a group await (await: [L1, L2], with exactly_one) is one step
    per awaited label and expectation list, so that each call is judged by its own tier."""
    for index, step in enumerate(steps):
        if isinstance(step.get("await"), list):
            for label in step["await"]:
                for key in ("expect", "exactly_one"):
                    if key in step:
                        yield index, {"await": label, "expect": step[key]}
        else:
            yield index, step


def case_tiers(doc):
    calls, found, problems = {}, [], []
    defaults = default_timeouts(doc)
    for index, step in flattened(doc["steps"]):
        if "as" in step:
            calls[step["as"]] = step
        for e in expectations(step):
            if "blocks" in e or "elapsed" in e:
                t = tier(step, e, calls, defaults)
                (found if t in TIERS else problems).append(
                    t if t in TIERS else "step %d: %s" % (index + 1, t))
            raised = e.get("raises")
            raised = raised.get("type") if isinstance(raised, dict) else raised
            call = calls.get(step["await"]) if "await" in step else step
            t = timeout_argument(call, defaults) if call else None
            if raised in EXPIRED and is_number(t) and t > 0 and not non_blocking(call) and e.get("elapsed") != TIMEOUT_WINDOW:
                problems.append("step %d: a timeout of %r expires without the timeout tier's window" % (index + 1, t))
    return found, problems


def test_every_timing_fits_a_tier():
    problems = []
    for doc in load_cases():
        problems += ["%s: %s" % (doc["id"], p) for p in case_tiers(doc)[1]]
    assert not problems, "\n".join(problems)


def test_every_tier_is_used():
    used = set()
    for doc in load_cases():
        used.update(case_tiers(doc)[0])
    assert used == set(TIERS)


def test_the_classifier_refuses_blunt_and_flaky_windows():
    def problems(steps):
        return case_tiers({"steps": steps})[1]
    assert not problems([{"call": "q.get", "kwargs": {"timeout": 1.0},
                          "expect": {"raises": "queue.Empty", "elapsed": {"min": 1.0, "max": 1.4}}}])
    # The old windows: 0.3 s within 2.3 s passed an implementation that waits 3T.
    assert problems([{"call": "q.get", "kwargs": {"timeout": 0.3},
                      "expect": {"raises": "queue.Empty", "elapsed": {"min": 0.3, "max": 2.3}}}])
    assert problems([{"call": "q.get", "kwargs": {"timeout": 1.0}, "expect": {"raises": "queue.Empty"}}])
    assert problems([{"call": "q.get_nowait", "expect": {"raises": "queue.Empty", "elapsed": {"max": 2.0}}}])
    assert problems([{"call": "q.get", "as": "g", "expect": {"blocks": 0.3}}, {"await": "g"}])
    assert problems([{"call": "q.get", "as": "g", "kwargs": {"timeout": 20}, "expect": {"blocks": 0.5}},
                     {"await": "g", "expect": {"returns": 1, "elapsed": {"max": 15}}}])
    assert not problems([{"call": "q.get", "as": "g", "kwargs": {"timeout": 20}, "expect": {"blocks": 0.5}},
                         {"await": "g", "expect": {"returns": 1, "elapsed": {"max": 1.0}}}])
