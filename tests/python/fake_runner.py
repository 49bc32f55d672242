"""A small stand-in for the C++ runner: one ROUTER socket, the adapter as a subprocess."""

import json
import os
import signal
import subprocess
import tempfile
import time

import zmq

ADAPTER_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "..", "harness", "adapters", "cpython"))
ADAPTER = os.path.join(ADAPTER_DIR, "adapter.py")


def v(value):
    """The JSON value node of a plain test value (only what the tests need, written by hand)."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, bytes):
        return {"t": "bytes", "v": value.hex()}
    if isinstance(value, list):
        return {"t": "list", "v": [v(item) for item in value]}
    raise TypeError(value)


def ref(name):
    return {"t": "ref", "name": name}


def group_members(pgid):
    """Pids of live (not zombie) processes in the process group pgid."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


class FakeRunner(object):
    def __init__(self):
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind("tcp://127.0.0.1:*")
        self.endpoint = self.router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.seq = 0
        self.pending = []  # (routing id, message) received but not yet asked for
        self.process = None
        self.output = None

    def start(self, interpreter, *options):
        command = [interpreter, ADAPTER] + list(options) + ["--endpoint", self.endpoint]
        # Like the runner: a process group of its own, so leftovers can be found and killed.
        # Output goes to a file: a pipe nobody reads could fill up and block the adapter.
        # (Appending, so that reading it meanwhile through another handle moves no shared offset.)
        handle, self.output = tempfile.mkstemp(prefix="mpconform-adapter-", suffix=".log")
        os.close(handle)
        with open(self.output, "ab") as sink:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self.process

    def send(self, to, message):
        message.setdefault("protocol", 1)
        if message["type"] in ("call", "setup", "teardown"):
            self.seq += 1
            message["seq"] = self.seq
        self.router.send_multipart([to.encode(), json.dumps(message).encode()])
        return message.get("seq")

    def send_raw(self, to, frames):
        self.router.send_multipart([to.encode()] + list(frames))

    def receive(self, predicate, timeout=20.0):
        """The first (sender, message) that satisfies predicate, waiting at most timeout seconds."""
        for i, (sender, message) in enumerate(self.pending):
            if predicate(sender, message):
                del self.pending[i]
                return sender, message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.router.poll(int(left * 1000) + 1):
                raise AssertionError("no matching message within %.1f s; unmatched: %r; stderr so far: %s"
                                     % (timeout, self.pending, self.stderr_now()))
            frames = self.router.recv_multipart()
            assert len(frames) == 2, frames
            sender, message = frames[0].decode(), json.loads(frames[1].decode())
            assert message.get("protocol") == 1, message
            if predicate(sender, message):
                return sender, message
            self.pending.append((sender, message))

    def reply_to(self, seq, kind, timeout=20.0):
        return self.receive(lambda s, m: m.get("type") == kind and m.get("re") == seq, timeout)[1]

    def nothing_for(self, seq, seconds):
        """True if no result for seq arrives within seconds."""
        try:
            self.reply_to(seq, "result", timeout=seconds)
        except AssertionError:
            return True
        return False

    def call(self, actor, target, method, args=(), kwargs=None, timeout=20.0):
        """Sends a call and returns its result, after checking that started came first."""
        seq = self.call_async(actor, target, method, args, kwargs)
        return self.finish(actor, seq, timeout)

    def call_async(self, actor, target, method, args=(), kwargs=None):
        return self.send(actor, {"type": "call", "target": target, "method": method,
                                 "args": list(args), "kwargs": kwargs or {}})

    def finish(self, actor, seq, timeout=20.0):
        sender, started = self.receive(lambda s, m: m.get("type") == "started" and m.get("re") == seq, timeout)
        assert sender == actor
        sender, result = self.receive(lambda s, m: m.get("type") == "result" and m.get("re") == seq, timeout)
        assert sender == actor
        return result

    def stderr_now(self):
        return self.stderr_text()

    def stderr_text(self):
        """What the adapter wrote to stdout and stderr so far."""
        if self.output is None:
            return ""
        with open(self.output, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            self.process.wait()
        if self.process is not None:
            # Whatever the test's outcome, nothing of the adapter's group may stay behind.
            for pid in group_members(self.process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.output is not None:
            os.unlink(self.output)
        self.router.close()
        self.context.term()
