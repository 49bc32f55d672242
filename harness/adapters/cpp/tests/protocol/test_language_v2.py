"""The C++ adapter's side of the case language v2 (spec/adapter-protocol.md, call fields of v2),
driven over the protocol by the fake runner of tests/python: bind, names in results, module
functions, set, __enter__/__exit__, actors started by steps (grandchildren), return/raise."""

import os
import subprocess
import tempfile

import pytest

from fake_runner import FakeRunner, ref, v

ADAPTER = os.environ.get("MPCONFORM_CPP_ADAPTER", "")

pytestmark = pytest.mark.skipif(not os.access(ADAPTER, os.X_OK), reason="set MPCONFORM_CPP_ADAPTER to the built adapter")


class CppRunner(FakeRunner):
    def start_cpp(self):
        handle, self.output = tempfile.mkstemp(prefix="mpconform-cpp-adapter-", suffix=".log")
        os.close(handle)
        with open(self.output, "ab") as sink:
            self.process = subprocess.Popen([ADAPTER, "--endpoint", self.endpoint], stdin=subprocess.DEVNULL,
                                            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        _, hello = self.receive(lambda s, m: m.get("type") == "hello" and s == "main")
        return hello

    def setup(self, objects, actors):
        seq = self.send("main", {"type": "setup", "objects": objects, "actors": actors})
        reply = self.receive(lambda s, m: m.get("re") == seq)[1]
        assert reply["type"] == "ready", reply
        for a in actors:
            if a.get("start", "setup") == "setup":
                self.hello_of(a["name"])

    def hello_of(self, name):
        return self.receive(lambda s, m: m.get("type") == "hello" and s == name)[1]

    def run(self, actor, target, method, args=(), kwargs=None, **fields):
        message = {"type": "call", "target": target, "method": method, "args": list(args), "kwargs": kwargs or {}}
        message.update(fields)
        seq = self.send(actor, message)
        return self.finish(actor, seq)

    def teardown(self):
        seq = self.send("main", {"type": "teardown"})
        assert self.reply_to(seq, "goodbye")["type"] == "goodbye"


@pytest.fixture
def runner():
    r = CppRunner()
    yield r
    r.close()


def returned(result):
    assert result["status"] == "returned", result
    return result["value"]


def test_hello_lists_the_v2_features(runner):
    hello = runner.start_cpp()
    assert hello["implementation"]["platform"] == "linux"
    caps = hello["capabilities"]
    assert {"bind", "object_names", "set", "step_start", "process_end"} <= set(caps["features"])
    assert caps["contexts"] == ["fork", "spawn", "forkserver"]
    assert caps["start_methods"] == ["fork", "spawn", "forkserver"]
    for op in ("multiprocessing.connection.wait", "multiprocessing.active_children", "Connection.__enter__",
               "Connection.fileno", "Process.pid", "Process.sentinel", "Process.name"):
        assert op in caps["ops"], op
    runner.teardown()


def test_wait_returns_ready_connection_with_its_name(runner):
    runner.start_cpp()
    runner.setup([{"type": "Pipe", "names": ["a", "b"]}, {"type": "Pipe", "names": ["c", "d"]}], [])
    # Nothing is ready: an empty list after the timeout.
    assert returned(runner.run("main", None, "multiprocessing.connection.wait", [v([]), v(0.1)])) == {"t": "list", "v": []}
    nothing = returned(runner.run("main", None, "multiprocessing.connection.wait",
                                  [{"t": "list", "v": [ref("a"), ref("c")]}, v(0.05)]))
    assert nothing == {"t": "list", "v": []}
    returned(runner.run("main", "d", "send", [v(1)]))
    ready = returned(runner.run("main", None, "multiprocessing.connection.wait",
                                [{"t": "list", "v": [ref("a"), ref("c")]}], {"timeout": v(None)}))
    assert [item.get("name") for item in ready["v"]] == ["c"]
    assert ready["v"][0]["t"] == "object" and ready["v"][0]["type"] == "Connection"
    # The timestamps are the monotonic clock's, in order.
    result = runner.run("main", "c", "recv")
    assert result["started_at"] <= result["ended_at"]
    runner.teardown()


def test_bound_value_and_enter_returns_the_connection_itself(runner):
    runner.start_cpp()
    runner.setup([{"type": "Pipe", "names": ["a", "b"]}], [])
    entered = returned(runner.run("main", "a", "__enter__"))
    assert entered["t"] == "object" and entered["name"] == "a"
    fd = returned(runner.run("main", "a", "fileno", bind=["fd"]))
    assert fd["t"] == "int"
    returned(runner.run("main", "a", "__exit__"))
    assert returned(runner.run("main", "a", "closed")) == {"t": "bool", "v": True}
    # The bound value passes as its value.
    assert returned(runner.run("main", "b", "poll", [ref("fd")])) in ({"t": "bool", "v": True}, {"t": "bool", "v": False})
    runner.teardown()


def test_step_started_child_and_grandchild_get_the_objects_bound_before(runner):
    runner.start_cpp()
    actors = [{"name": "child", "kind": "process", "start": "step", "in": "main"},
              {"name": "grandchild", "kind": "process", "start": "step", "in": "child"}]
    runner.setup([{"type": "Queue", "name": "q"}], actors)
    returned(runner.run("main", "q", "put", [v("early")]))
    returned(runner.run("main", None, "start", [v("child")]))
    runner.hello_of("child")
    # A child binds a result; its grandchild, started afterwards, is given it.
    returned(runner.run("child", None, "multiprocessing.current_process", bind=["me"]))
    returned(runner.run("child", None, "start", [v("grandchild")]))
    runner.hello_of("grandchild")
    assert returned(runner.run("grandchild", "q", "get", [v(True), v(5.0)])) == {"t": "str", "v": "early"}
    me = returned(runner.run("grandchild", "me", "name"))
    assert me == {"t": "str", "v": "child"}
    parent = returned(runner.run("grandchild", None, "multiprocessing.parent_process"))
    assert parent["t"] == "object" and parent["type"] == "Process"
    children = returned(runner.run("child", None, "multiprocessing.active_children"))
    assert [c.get("name") for c in children["v"]] == ["grandchild"]
    pid = returned(runner.run("child", "grandchild", "pid"))
    assert pid["t"] == "int"
    # Starting it twice, or starting another process's actor, is refused.
    assert runner.run("main", None, "start", [v("grandchild")])["status"] == "error"
    # The grandchild raises: traceback on stderr, exit code 1, read by its parent.
    returned(runner.run("grandchild", None, "raise", [v("ValueError"), v("boom")]))
    returned(runner.run("child", "grandchild", "join", [v(5.0)]))
    assert returned(runner.run("child", "grandchild", "exitcode")) == {"t": "int", "v": "1"}
    returned(runner.run("child", None, "exit", [v("goodbye text")]))
    returned(runner.run("main", "child", "join", [v(5.0)]))
    assert returned(runner.run("main", "child", "exitcode")) == {"t": "int", "v": "1"}
    runner.teardown()
    text = runner.stderr_text()
    assert "Process grandchild:\nTraceback (most recent call last):" in text and "ValueError: boom" in text
    assert "goodbye text\n" in text


def test_set_renames_the_process_and_return_ends_it_with_0(runner):
    runner.start_cpp()
    runner.setup([], [{"name": "p", "kind": "process"}])
    returned(runner.run("main", "p", "name", form="set", value=v("renamed")))
    assert returned(runner.run("main", "p", "name")) == {"t": "str", "v": "renamed"}
    refused = runner.run("main", "p", "name", form="set", value=v(3))
    assert refused["status"] == "raised" and refused["exception"]["type"] == "AssertionError"
    returned(runner.run("p", None, "return"))
    returned(runner.run("main", "p", "join", [v(5.0)]))
    assert returned(runner.run("main", "p", "exitcode")) == {"t": "int", "v": "0"}
    runner.teardown()


def test_sentinel_is_ready_once_the_child_ended(runner):
    runner.start_cpp()
    runner.setup([], [{"name": "p", "kind": "process"}])
    returned(runner.run("main", "p", "sentinel", bind=["s"]))
    assert returned(runner.run("main", None, "multiprocessing.connection.wait", [v([]), v(0.0)])) == {"t": "list", "v": []}
    none_ready = returned(runner.run("main", None, "multiprocessing.connection.wait",
                                     [{"t": "list", "v": [ref("s")]}, v(0.05)]))
    assert none_ready == {"t": "list", "v": []}
    returned(runner.run("p", None, "exit", [v(None)]))
    ready = returned(runner.run("main", None, "multiprocessing.connection.wait", [{"t": "list", "v": [ref("s")]}, v(5.0)]))
    # The sentinel itself comes back, as a plain int (ints are never reported by name).
    sentinel = returned(runner.run("main", "p", "sentinel"))
    assert ready["v"] == [sentinel]
    assert returned(runner.run("main", None, "multiprocessing.cpu_count"))["t"] == "int"
    assert returned(runner.run("main", None, "multiprocessing.parent_process")) == {"t": "none"}
    runner.teardown()


def test_send_handle_passes_a_descriptor(runner):
    runner.start_cpp()
    runner.setup([{"type": "Pipe", "names": ["a", "b"]}, {"type": "Pipe", "names": ["c", "d"]}], [])
    returned(runner.run("main", "c", "fileno", bind=["fd"]))
    returned(runner.run("main", None, "multiprocessing.reduction.send_handle", [ref("a"), ref("fd"), v(os.getpid())]))
    got = returned(runner.run("main", None, "multiprocessing.reduction.recv_handle", [ref("b")]))
    assert got["t"] == "int" and int(got["v"]) >= 0
    runner.teardown()
