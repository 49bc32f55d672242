"""The control channel, through pyzmq and through the ctypes binding of libzmq."""

import gc
import json
import os
import signal
import time

import pytest
import zmq

from mpconform_adapter import channel as channel_module
from mpconform_adapter.channel import Channel, CtypesSocket, PyzmqSocket

BACKENDS = [PyzmqSocket, CtypesSocket]


@pytest.fixture
def router():
    context = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind("tcp://127.0.0.1:*")
    yield sock, sock.getsockopt(zmq.LAST_ENDPOINT).decode()
    sock.close()
    context.term()


def receive(sock, timeout_ms=5000):
    assert sock.poll(timeout_ms), "nothing arrived"
    return sock.recv_multipart()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_messages_flow_both_ways_under_the_routing_id(router, backend):
    sock, endpoint = router
    channel = Channel(endpoint, "actor_1", backend=backend)
    try:
        assert channel.backend_name == backend.name
        channel.send({"type": "hello", "text": "caf\u00e9"})
        identity, frame = receive(sock)
        assert identity == b"actor_1"
        assert json.loads(frame.decode("utf-8")) == {"type": "hello", "text": "caf\u00e9"}
        sock.send_multipart([b"actor_1", b'{"x": 1}'])
        assert channel.receive(5.0) == [b'{"x": 1}']
        big = b"b" * 300000
        sock.send_multipart([b"actor_1", big])
        assert channel.receive(5.0) == [big]
        sock.send_multipart([b"actor_1", b"one", b"two"])
        assert channel.receive(5.0) == [b"one", b"two"]
        sock.send_multipart([b"actor_1", b""])
        assert channel.receive(5.0) == [b""]
    finally:
        channel.close()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_receive_gives_none_after_the_timeout(router, backend):
    sock, endpoint = router
    channel = Channel(endpoint, "idle", backend=backend)
    try:
        start = time.monotonic()
        assert channel.receive(0.2) is None
        assert 0.15 <= time.monotonic() - start < 3.0
    finally:
        channel.close()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_last_message_is_delivered_after_close(router, backend):
    sock, endpoint = router
    channel = Channel(endpoint, "last", backend=backend)
    channel.send({"type": "goodbye"})
    channel.close()
    channel.close()  # a second close does nothing
    assert receive(sock)[1] == b'{"type":"goodbye"}'


def test_ctypes_errors_carry_the_libzmq_message():
    with pytest.raises(channel_module.ChannelError, match=r"zmq_connect failed: Protocol not supported \(errno 93\)"):
        CtypesSocket("nonsense://x", b"a")


def wait_for_child(pid, timeout):
    """The wait status of pid; kills it and fails if it has not ended within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("child %d still running after %.0f s" % (pid, timeout))


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_forked_child_leaves_the_inherited_channel_alone(router, backend):
    sock, endpoint = router
    parent_channel = Channel(endpoint, "parent", backend=backend)
    parent_channel.send({"n": 1})
    assert receive(sock)[0] == b"parent"
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            # The child drops and closes what it inherited (both must do nothing) and talks
            # through a channel of its own.
            parent_channel.close()
            channel_module._open_channels.clear()
            gc.collect()
            child_channel = Channel(endpoint, "child", backend=backend)
            child_channel.send({"n": 2})
            child_channel.close()
            status = 0
        finally:
            os._exit(status)
    status = wait_for_child(pid, 10.0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert receive(sock) == [b"child", b'{"n":2}']
    # The parent's socket still works after the child ended.
    parent_channel.send({"n": 3})
    assert receive(sock) == [b"parent", b'{"n":3}']
    sock.send_multipart([b"parent", b"ping"])
    assert parent_channel.receive(5.0) == [b"ping"]
    parent_channel.close()


def test_pyzmq_is_chosen_when_it_imports():
    assert channel_module.default_backend() is PyzmqSocket
