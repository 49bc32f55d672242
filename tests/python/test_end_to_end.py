"""The adapter as the runner sees it: a subprocess speaking the protocol to a fake ROUTER."""

import os
import shutil
import signal
import subprocess
import sys
import time
import zlib

import pytest

from fake_runner import ADAPTER, FakeRunner, group_members, ref, v

PYENV_VERSIONS = ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
SYSTEM_PYTHON = "/usr/bin/python3"


def pyenv_interpreter(version):
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    path = os.path.join(root, "versions", version, "bin", "python")
    if os.path.exists(path):
        return path
    if shutil.which("pyenv"):
        try:
            prefix = subprocess.run(["pyenv", "prefix", version], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, timeout=10).stdout.decode().strip()
        except (OSError, subprocess.SubprocessError):
            return None
        path = os.path.join(prefix, "bin", "python")
        if prefix and os.path.exists(path):
            return path
    return None


def interpreters():
    found = [("cpython-" + version, pyenv_interpreter(version)) for version in PYENV_VERSIONS]
    found.append(("system-python3", SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else None))
    found.append(("pypy3", shutil.which("pypy3")))
    return found


def interpreter_params():
    params = []
    for label, path in interpreters():
        for method in ("fork", "spawn"):
            marks = [] if path else [pytest.mark.skip(reason="%s is not installed" % label)]
            params.append(pytest.param(path, method, id="%s-%s" % (label, method), marks=marks))
    return params


def language_version(interpreter):
    out = subprocess.run([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         stdout=subprocess.PIPE, check=True, timeout=60).stdout
    return out.decode().strip()


def payload(size, seed):
    """The spec's payload generator, written again here so the adapter's is checked against it."""
    x, block = seed, bytearray()
    for _ in range(65521):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
        block.append(x >> 56)
    return (bytes(block) * (size // 65521 + 1))[:size]


@pytest.fixture
def runner():
    r = FakeRunner()
    yield r
    r.close()


def handshake(runner, interpreter, *options):
    runner.start(interpreter, *options)
    sender, hello = runner.receive(lambda s, m: m.get("type") == "hello" and m.get("role") == "controller", 30)
    assert sender == "main"
    assert hello["pid"] == runner.process.pid
    return hello


def set_up_case(runner, objects, actors):
    seq = runner.send("main", {"type": "setup", "case": "test.e2e", "objects": objects, "actors": actors})
    ready = runner.receive(lambda s, m: m.get("re") == seq, 30)[1]
    assert ready["type"] == "ready", (ready, runner.stderr_text())
    hellos = {}
    for actor in actors:
        name = actor["name"]
        sender, hello = runner.receive(lambda s, m, n=name: m.get("type") == "hello" and m.get("name") == n, 30)
        assert sender == name and hello["role"] == "actor"
        hellos[name] = hello["pid"]
    return hellos


def returned(result):
    assert result["status"] == "returned", result
    return result["value"]


def raised(result):
    assert result["status"] == "raised", result
    return result["exception"]


def teardown_and_check_exit(runner, within=15.0):
    seq = runner.send("main", {"type": "teardown"})
    goodbye = runner.reply_to(seq, "goodbye", timeout=within)
    assert goodbye["cleanup"] == []
    assert runner.process.wait(within) == 0, runner.stderr_text()
    # Like the runner: nothing of the adapter's process group may be left 5 s after it exited.
    deadline = time.monotonic() + 5.0
    while group_members(runner.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(runner.process.pid) == [], runner.stderr_text()


@pytest.mark.parametrize("interpreter, method", interpreter_params())
def test_a_case_session_runs_across_process_and_thread_actors(runner, interpreter, method):
    hello = handshake(runner, interpreter, "--start-method", method)
    implementation = hello["implementation"]
    assert implementation["semantics"] == language_version(interpreter)
    assert implementation["module"] == "multiprocessing"
    assert implementation["start_method"] == method
    assert implementation["language"] == "python"
    assert implementation["family"] == ("cpython" if implementation["name"] == "cpython" else "pypy")
    capabilities = hello["capabilities"]
    assert {"fork", "spawn"} <= set(capabilities["start_methods"])
    assert {"Queue", "Pipe", "Global", "bytearray"} <= set(capabilities["types"])
    assert {"Queue.put", "Queue.get", "Queue.get_many", "Connection.recv_bytes_into", "Process.join",
            "Global.set", "bytearray.value"} <= set(capabilities["ops"])

    # Garbage before setup is ignored: the session goes on as if it had not come.
    runner.send_raw("main", [b"\xff not json"])
    runner.send_raw("main", [b"[1, 2]"])
    runner.send_raw("main", [b"{}", b"{}"])
    runner.send("main", {"type": "no_such_type"})

    pids = set_up_case(runner, [
        {"name": "q", "type": "Queue", "args": [], "kwargs": {}},
        {"names": ["a", "b"], "type": "Pipe", "args": [], "kwargs": {}},
        {"name": "g", "type": "Global", "args": [v(1)], "kwargs": {}},
        {"name": "buf", "type": "bytearray", "args": [v(8)], "kwargs": {}},
    ], [
        {"name": "producer", "kind": "process"},
        {"name": "waiter", "kind": "thread", "in": "main"},
        {"name": "helper", "kind": "thread", "in": "producer"},
    ])
    adapter_pid = runner.process.pid
    assert pids["waiter"] == adapter_pid
    assert pids["producer"] != adapter_pid
    assert pids["helper"] == pids["producer"]

    # A Queue carries an item from a process actor to main.
    assert returned(runner.call("producer", "q", "put", [v(42)])) == {"t": "none"}
    assert returned(runner.call("main", "q", "get", [], {"timeout": v(10.0)})) == {"t": "int", "v": "42"}

    # A blocking call shows as started without a result until another actor unblocks it.
    seq = runner.call_async("main", "q", "get")
    runner.receive(lambda s, m: m.get("type") == "started" and m.get("re") == seq)
    assert runner.nothing_for(seq, 0.5)
    runner.call("helper", "q", "put_many", [v(["late", "later"])])
    assert returned(runner.reply_to(seq, "result")) == {"t": "str", "v": "late"}
    assert returned(runner.call("waiter", "q", "get_many", [v(1)], {"timeout": v(10.0)})) == \
        {"t": "list", "v": [{"t": "str", "v": "later"}]}

    # A thread actor's timed-out get raises queue.Empty after the timeout.
    result = runner.call("waiter", "q", "get", [], {"timeout": v(0.2)})
    assert raised(result) == {"type": "queue.Empty", "bases": ["Exception"], "message": "", "args": []}
    assert 0.2 <= result["elapsed"] < 5.0

    # Adapter errors, not outcomes: an unknown operation, target or actor operation.
    unknown = runner.call("main", "q", "frobnicate")
    assert unknown["status"] == "error" and unknown["error"]["kind"] == "unknown_op"
    assert runner.call("main", None, "fly")["error"]["kind"] == "unknown_op"
    assert runner.call("producer", "nosuch", "get")["error"]["kind"] == "bad_request"
    assert runner.call("producer", "producer", "join")["error"]["kind"] == "bad_request"
    assert runner.call("main", "q", "put", [{"t": "int", "v": "x"}])["error"]["kind"] == "bad_request"

    # Global: each process has its own; the child started with the parent's value.
    assert returned(runner.call("producer", "g", "get")) == {"t": "int", "v": "1"}
    runner.call("producer", "g", "set", [v(5)])
    assert returned(runner.call("helper", "g", "get")) == {"t": "int", "v": "5"}
    assert returned(runner.call("main", "g", "get")) == {"t": "int", "v": "1"}

    # A generated payload crosses a Pipe and comes back as a digest of the same bytes.
    runner.call("producer", "a", "send_bytes", [{"t": "payload", "size": 5000, "seed": 7}])
    expected = payload(5000, 7)
    assert returned(runner.call("main", "b", "recv_bytes")) == \
        {"t": "digest", "of": "bytes", "len": 5000, "crc32": zlib.crc32(expected)}

    # recv_bytes_into writes into the named bytearray.
    runner.call("producer", "a", "send_bytes", [v(b"hey")])
    assert returned(runner.call("main", "b", "recv_bytes_into", [ref("buf"), v(2)])) == {"t": "int", "v": "3"}
    assert returned(runner.call("main", "buf", "value")) == {"t": "bytearray", "v": "0000686579000000"}

    # The message does not fit: BufferTooShort with the whole message as its argument.
    runner.call("producer", "a", "send_bytes", [v(b"0123456789")])
    too_short = raised(runner.call("main", "b", "recv_bytes_into", [ref("buf")]))
    assert too_short["type"] == "multiprocessing.BufferTooShort"
    assert too_short["bases"] == ["multiprocessing.ProcessError", "Exception"]
    assert too_short["args"] == [{"t": "bytes", "v": b"0123456789".hex()}]

    # The unpicklable sentinel: Connection.send raises in the caller.
    refused = raised(runner.call("producer", "a", "send", [{"t": "unpicklable"}]))
    assert refused["type"] == "TypeError" and "unpicklable" in refused["message"]

    slept = runner.call("main", None, "sleep", [v(0.1)])
    assert returned(slept) == {"t": "none"} and slept["elapsed"] >= 0.1

    # exit: threads first, then the process actor, whose exit code main then sees.
    assert returned(runner.call("waiter", None, "exit")) == {"t": "none"}
    assert returned(runner.call("helper", None, "exit")) == {"t": "none"}
    assert returned(runner.call("main", "producer", "is_alive")) == {"t": "bool", "v": True}
    assert returned(runner.call("producer", None, "exit", [v(3)])) == {"t": "none"}
    assert returned(runner.call("main", "producer", "join", [v(20.0)])) == {"t": "none"}
    assert returned(runner.call("main", "producer", "exitcode")) == {"t": "int", "v": "3"}
    assert returned(runner.call("main", "producer", "is_alive")) == {"t": "bool", "v": False}
    teardown_and_check_exit(runner)
    assert "ignoring a frame that is not UTF-8 JSON" in runner.stderr_text()
    assert "ignoring a message of type 'no_such_type'" in runner.stderr_text()


def stragglers_params():
    params = []
    for label, path in interpreters():
        if label in ("cpython-3.8.18", "cpython-3.13.0", "system-python3"):
            for method in ("fork", "spawn"):
                marks = [] if path else [pytest.mark.skip(reason="%s is not installed" % label)]
                params.append(pytest.param(path, method, id="%s-%s" % (label, method), marks=marks))
    return params


@pytest.mark.parametrize("interpreter, method", stragglers_params())
def test_teardown_ends_actors_that_never_got_exit_and_leaves_nothing(runner, interpreter, method):
    handshake(runner, interpreter, "--start-method", method)
    set_up_case(runner, [
        {"name": "q", "type": "Queue", "args": [], "kwargs": {}},
        {"name": "unread", "type": "Queue", "args": [], "kwargs": {}},
    ], [
        {"name": "stuck", "kind": "process"},
        {"name": "busy", "kind": "process"},
        {"name": "sleeper", "kind": "thread", "in": "main"},
    ])
    # A process actor blocked in a call, an idle one, and a thread blocked in a call.
    stuck = runner.call_async("stuck", "q", "get")
    sleeper = runner.call_async("sleeper", "q", "get")
    for seq in (stuck, sleeper):
        runner.receive(lambda s, m, seq=seq: m.get("type") == "started" and m.get("re") == seq)
    # 300 KB in a queue nobody reads: at exit, CPython would wait for its feeder thread forever.
    runner.call("main", "unread", "put", [{"t": "payload", "size": 300000, "seed": 1}])
    runner.call("busy", "unread", "put", [{"t": "payload", "size": 300000, "seed": 2}])
    started = time.monotonic()
    teardown_and_check_exit(runner, within=20.0)
    assert time.monotonic() - started < 15.0
    output = runner.stderr_text()
    assert "did not exit, terminating it" in output
    # The exit itself was clean: the watchdog did not have to cut it short.
    assert "leaving by force" not in output, output


@pytest.mark.parametrize("module, method", [
    ("billiard", "fork"), ("billiard", "spawn"), ("multiprocess", "fork"),
])
def test_drop_in_modules_run_under_the_system_python(runner, module, method):
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import " + module], stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip("%s is not importable by %s" % (module, SYSTEM_PYTHON))
    hello = handshake(runner, SYSTEM_PYTHON, "--module", module, "--start-method", method)
    assert hello["implementation"]["module"] == module
    assert hello["implementation"]["family"] == "cpython"
    set_up_case(runner, [{"name": "q", "type": "Queue", "args": [], "kwargs": {"maxsize": v(1)}}],
          [{"name": "child", "kind": "process"}])
    runner.call("child", "q", "put", [v((2 ** 70))])
    full = raised(runner.call("child", "q", "put", [v(1)], {"timeout": v(0.2)}))
    assert full["type"] == "queue.Full"
    assert returned(runner.call("main", "q", "get", [], {"timeout": v(10.0)})) == {"t": "int", "v": str(2 ** 70)}
    assert raised(runner.call("main", "q", "get_nowait"))["type"] == "queue.Empty"
    runner.call("child", None, "exit")
    runner.call("main", "child", "join", [v(20.0)])
    assert returned(runner.call("main", "child", "exitcode")) == {"t": "int", "v": "0"}
    teardown_and_check_exit(runner)


def test_setup_that_cannot_be_made_fails_and_the_adapter_still_ends_cleanly(runner):
    interpreter = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    handshake(runner, interpreter)
    seq = runner.send("main", {"type": "setup", "objects": [{"name": "l", "type": "NoSuchType"}], "actors": []})
    failed = runner.reply_to(seq, "setup_failed")
    assert "NoSuchType" in failed["error"]["message"]
    teardown_and_check_exit(runner)


def test_an_unusable_start_method_ends_the_adapter_with_a_message(runner):
    interpreter = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    runner.start(interpreter, "--start-method", "teleport")
    assert runner.process.wait(30) == 2
    assert "teleport" in runner.stderr_text()


def test_the_adapter_and_its_actors_end_when_their_starter_dies(runner):
    interpreter = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    # A stand-in for a runner that dies: a process that starts the adapter and is then killed,
    # so that nobody will ever send teardown.
    starter = ("import subprocess, sys, time; p = subprocess.Popen(sys.argv[1:]); "
               "print(p.pid, flush=True); time.sleep(600)")
    wrapper = subprocess.Popen([interpreter, "-c", starter, interpreter, ADAPTER, "--start-method", "fork",
                                "--endpoint", runner.endpoint], stdout=subprocess.PIPE, start_new_session=True)
    try:
        adapter_pid = int(wrapper.stdout.readline())
        runner.receive(lambda s, m: m.get("type") == "hello" and m.get("role") == "controller", 30)
        pids = set_up_case(runner, [{"name": "q", "type": "Queue", "args": [], "kwargs": {}}],
                           [{"name": "child", "kind": "process"}])
        assert {adapter_pid, pids["child"]} <= set(group_members(wrapper.pid))
        wrapper.kill()
        wrapper.wait()
        deadline = time.monotonic() + 10.0
        while group_members(wrapper.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_members(wrapper.pid) == []
    finally:
        for pid in group_members(wrapper.pid):
            os.kill(pid, signal.SIGKILL)
        wrapper.stdout.close()
