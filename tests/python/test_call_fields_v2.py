"""The adapter's side of the case language v2 (spec/adapter-protocol.md#call-fields-of-the-case-language-v2):
bound results, object names in results, module functions, set, with, actors started by steps,
how a process target ends, platform and call timestamps."""

import sys

import pytest

from fake_runner import FakeRunner, ref, v
from test_end_to_end import handshake, interpreter_params, language_version, raised, returned, teardown_and_check_exit


@pytest.fixture
def runner():
    r = FakeRunner()
    yield r
    r.close()


def call(runner, actor, target, method, args=(), **fields):
    message = {"type": "call", "target": target, "method": method, "args": list(args), "kwargs": {}}
    message.update(fields)
    return runner.finish(actor, runner.send(actor, message))


def set_up_case(runner, objects, actors):
    """setup, then the hello of each actor setup starts (not those started by steps)."""
    seq = runner.send("main", {"type": "setup", "case": "test.v2", "objects": objects, "actors": actors})
    ready = runner.receive(lambda s, m: m.get("re") == seq, 30)[1]
    assert ready["type"] == "ready", (ready, runner.stderr_text())
    for actor in actors:
        if actor.get("start", "setup") == "setup":
            wait_hello(runner, actor["name"])


def wait_hello(runner, name):
    sender, hello = runner.receive(lambda s, m: m.get("type") == "hello" and m.get("name") == name, 30)
    assert sender == name
    return hello


@pytest.mark.parametrize("interpreter, method", interpreter_params())
def test_v2_call_fields(runner, interpreter, method):
    hello = handshake(runner, interpreter, "--start-method", method)
    assert hello["implementation"]["platform"] == "linux"
    capabilities = hello["capabilities"]
    assert {"bind", "object_names", "set", "step_start", "process_end"} <= set(capabilities["features"])
    assert {"fork", "spawn"} <= set(capabilities["contexts"])
    assert {"multiprocessing.connection.wait", "multiprocessing.active_children", "Connection.__enter__",
            "Connection.__exit__", "Process.name"} <= set(capabilities["ops"])
    set_up_case(runner, [{"names": ["a", "b"], "type": "Pipe", "args": [], "kwargs": {}},
                         {"names": ["r", "w"], "type": "Pipe", "args": [], "kwargs": {"duplex": v(False)}}],
                [{"name": "child", "kind": "process"},
                 {"name": "late", "kind": "process", "start": "step"},
                 {"name": "grandchild", "kind": "process", "in": "late", "start": "step"}])

    # Identity and module functions: wait() returns the ready end itself, named.
    returned(call(runner, "child", "b", "send", [v(None)]))
    result = call(runner, "main", None, "multiprocessing.connection.wait", [{"t": "list", "v": [ref("a"), ref("r")]}, v(20)])
    assert returned(result) == {"t": "list", "v": [{"t": "object", "type": "Connection", "repr": result["value"]["v"][0]["repr"],
                                                    "name": "a"}]}
    assert 0 <= result["ended_at"] - result["started_at"] <= result["elapsed"] + 1e-6
    assert returned(call(runner, "main", "a", "recv")) == v(None)

    # Bind: a Connection received in the child is stored there and used.
    returned(call(runner, "main", "a", "send", [ref("w")]))
    returned(call(runner, "child", "b", "recv", bind=["got"], bind_types=["Connection"]))
    assert returned(call(runner, "child", "got", "readable")) == v(False)
    returned(call(runner, "child", "got", "send", [v("via got")]))
    assert returned(call(runner, "main", "r", "recv")) == v("via got")
    # A name bound in the child is not main's.
    assert call(runner, "main", "got", "send", [v(1)])["status"] == "error"

    # Set: the name of a Process object.
    assert returned(call(runner, "main", "child", "name", [], form="set", value=v("renamed"))) == v(None)
    assert returned(call(runner, "main", "child", "name")) == v("renamed")
    assert call(runner, "main", "child", "exitcode", [], form="set", value=v(3))["status"] == "error"

    # With: __enter__ gives the object itself; __exit__ closes it.
    enter = returned(call(runner, "main", "r", "__enter__"))
    assert enter["t"] == "object" and enter["name"] == "r"
    assert returned(call(runner, "main", "r", "__exit__")) == v(None)
    assert returned(call(runner, "main", "r", "closed")) == v(True)

    # Actors started by steps, and a grandchild; the parent holds its child's Process.
    assert returned(call(runner, "main", None, "start", [v("late")])) == v(None)
    wait_hello(runner, "late")
    assert returned(call(runner, "late", "w", "writable")) == v(True)  # given by main when it started late
    assert returned(call(runner, "late", None, "start", [v("grandchild")])) == v(None)
    wait_hello(runner, "grandchild")
    parent = returned(call(runner, "grandchild", None, "multiprocessing.parent_process"))
    assert parent["t"] == "object"
    children = returned(call(runner, "late", None, "multiprocessing.active_children"))
    assert [c.get("name") for c in children["v"]] == ["grandchild"]

    # How targets end.
    returned(call(runner, "grandchild", None, "raise", [v("ValueError"), v("on purpose")]))
    returned(call(runner, "late", "grandchild", "join", [v(10)]))
    assert returned(call(runner, "late", "grandchild", "exitcode")) == v(1)
    returned(call(runner, "late", None, "exit", [v(None)]))
    returned(call(runner, "main", "late", "join", [v(10)]))
    assert returned(call(runner, "main", "late", "exitcode")) == v(1 if language_version(interpreter) == "3.8" else 0)
    returned(call(runner, "child", None, "return"))
    returned(call(runner, "main", "child", "join", [v(10)]))
    assert returned(call(runner, "main", "child", "exitcode")) == v(0)
    teardown_and_check_exit(runner)
    assert "ValueError: on purpose" in runner.stderr_text()


@pytest.mark.parametrize("interpreter, method", [p for p in interpreter_params() if p.values[1] == "fork"])
def test_a_start_that_raises_is_reported_and_the_child_never_connects(runner, interpreter, method):
    handshake(runner, interpreter, "--start-method", method)
    set_up_case(runner, [{"name": "q", "type": "Queue", "args": [], "kwargs": {}, "context": "fork"}],
                [{"name": "child", "kind": "process", "start": "step", "start_method": "spawn"}])
    result = call(runner, "main", None, "start", [v("child")])
    # 3.12 and later refuse; 3.11 from 3.11.5 (gh-108520) too, but Debian's 3.11.2 does not.
    version = tuple(int(x) for x in language_version(interpreter).split("."))
    if version >= (3, 12) or (version == (3, 11) and result["status"] == "raised"):
        assert raised(result)["type"] == "RuntimeError"
        assert "SemLock created in a fork context" in raised(result)["message"]
    else:
        returned(result)
        wait_hello(runner, "child")
        returned(call(runner, "child", None, "exit", [v(0)]))
    teardown_and_check_exit(runner)


@pytest.mark.parametrize("interpreter, method", interpreter_params())
def test_the_warnings_filter_shows_what_the_default_filters_hide(runner, interpreter, method):
    # setup's warnings (feature warnings), applied before the actors start: forking the child while
    # the controller has threads warns from 3.12, in multiprocessing/popen_fork.py (hidden by default).
    hello = handshake(runner, interpreter, "--start-method", method)
    assert "warnings" in hello["capabilities"]["features"]
    seq = runner.send("main", {"type": "setup", "case": "test.v2", "objects": [], "warnings": "default",
                               "actors": [{"name": "child", "kind": "process"}]})
    assert runner.receive(lambda s, m: m.get("re") == seq, 30)[1]["type"] == "ready", runner.stderr_text()
    wait_hello(runner, "child")
    returned(call(runner, "child", None, "exit", [v(0)]))
    teardown_and_check_exit(runner)
    version = tuple(int(x) for x in language_version(interpreter).split("."))
    warned = "is multi-threaded, use of fork() may lead to deadlocks" in runner.stderr_text()
    assert warned == (version >= (3, 12) and method == "fork"), runner.stderr_text()


@pytest.mark.parametrize("interpreter, method", [p for p in interpreter_params() if p.values[1] == "fork"])
def test_a_warnings_action_that_python_lacks_fails_setup(runner, interpreter, method):
    handshake(runner, interpreter, "--start-method", method)
    seq = runner.send("main", {"type": "setup", "case": "test.v2", "objects": [], "actors": [], "warnings": "loud"})
    failed = runner.receive(lambda s, m: m.get("re") == seq, 30)[1]
    assert failed["type"] == "setup_failed"
    assert "warnings 'loud' is not one of default, error" in failed["error"]["message"]
    teardown_and_check_exit(runner)
