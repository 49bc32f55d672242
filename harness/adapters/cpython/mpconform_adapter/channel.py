"""One ZeroMQ DEALER socket to the runner: pyzmq when it imports, else ctypes over libzmq.so.5.

Fork safety (spec/adapter-protocol.md#transport): a child never touches a context or socket it
inherited. Every open channel is kept alive in a module-level set, so an inherited one is never
garbage-collected (and so never closed) in a forked child, and close() only acts in the process
that opened the channel.
"""

import ctypes
import ctypes.util
import errno
import json
import os
import sys
import threading

LINGER_MS = 1000

# libzmq constants (zmq.h); they are part of the stable ABI.
ZMQ_DEALER = 5
ZMQ_ROUTING_ID = 5
ZMQ_LINGER = 17
ZMQ_DONTWAIT = 1
ZMQ_POLLIN = 1
ZMQ_MSG_T_SIZE = 64


class ChannelError(Exception):
    """A ZeroMQ call failed."""


def _timeout_ms(timeout):
    if timeout is None:
        return -1
    return max(0, int(timeout * 1000 + 0.999))


class PyzmqSocket(object):
    """DEALER socket through pyzmq, with a context of its own."""

    name = "pyzmq"

    def __init__(self, endpoint, routing_id):
        import zmq
        self._zmq = zmq
        self._context = zmq.Context()
        try:
            self._socket = self._context.socket(zmq.DEALER)
            self._socket.setsockopt(zmq.ROUTING_ID, routing_id)
            self._socket.setsockopt(zmq.LINGER, LINGER_MS)
            self._socket.connect(endpoint)
        except Exception:
            self._context.destroy(linger=0)
            raise

    def send(self, data):
        self._socket.send(data)

    def receive(self, timeout):
        """The frames of one message, or None if nothing arrived within timeout seconds."""
        if not self._socket.poll(_timeout_ms(timeout), self._zmq.POLLIN):
            return None
        return self._socket.recv_multipart()

    def close(self):
        self._socket.close()
        self._context.term()


class _PollItem(ctypes.Structure):
    _fields_ = [("socket", ctypes.c_void_p), ("fd", ctypes.c_int),
                ("events", ctypes.c_short), ("revents", ctypes.c_short)]


class _Message(ctypes.Structure):
    # zmq_msg_t: 64 opaque bytes that libzmq wants pointer-aligned.
    _fields_ = [("_", ctypes.c_uint64 * (ZMQ_MSG_T_SIZE // 8))]


_libzmq = None
_libzmq_lock = threading.Lock()


def _reset_libzmq_lock():
    # A fork while another thread loads libzmq would give the child a lock held forever.
    global _libzmq_lock
    _libzmq_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_libzmq_lock)


def _load_libzmq():
    global _libzmq
    if _libzmq is not None:
        return _libzmq  # loaded once per process; a child inherits it
    with _libzmq_lock:
        if _libzmq is not None:
            return _libzmq
        names = ["libzmq.so.5"]
        found = ctypes.util.find_library("zmq")
        if found:
            names.append(found)
        last_error = None
        lib = None
        for name in names:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as e:
                last_error = e
        if lib is None:
            raise ChannelError("cannot load libzmq (%s)" % last_error)
        vp, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        signatures = {
            "zmq_ctx_new": (vp, []),
            "zmq_ctx_term": (i, [vp]),
            "zmq_socket": (vp, [vp, i]),
            "zmq_close": (i, [vp]),
            "zmq_setsockopt": (i, [vp, i, vp, sz]),
            "zmq_connect": (i, [vp, ctypes.c_char_p]),
            "zmq_send": (i, [vp, ctypes.c_char_p, sz, i]),
            "zmq_msg_init": (i, [ctypes.POINTER(_Message)]),
            "zmq_msg_recv": (i, [ctypes.POINTER(_Message), vp, i]),
            "zmq_msg_data": (vp, [ctypes.POINTER(_Message)]),
            "zmq_msg_size": (sz, [ctypes.POINTER(_Message)]),
            "zmq_msg_more": (i, [ctypes.POINTER(_Message)]),
            "zmq_msg_close": (i, [ctypes.POINTER(_Message)]),
            "zmq_poll": (i, [ctypes.POINTER(_PollItem), i, ctypes.c_long]),
            "zmq_errno": (i, []),
            "zmq_strerror": (ctypes.c_char_p, [i]),
        }
        for fname, (restype, argtypes) in signatures.items():
            f = getattr(lib, fname)
            f.restype = restype
            f.argtypes = argtypes
        _libzmq = lib
        return lib


class CtypesSocket(object):
    """DEALER socket through a minimal ctypes binding of libzmq, with a context of its own."""

    name = "ctypes"

    def __init__(self, endpoint, routing_id):
        self._lib = _load_libzmq()
        self._pid = os.getpid()
        self._context = None
        self._socket = None
        self._context = self._lib.zmq_ctx_new()
        if not self._context:
            self._fail("zmq_ctx_new")
        try:
            self._socket = self._lib.zmq_socket(self._context, ZMQ_DEALER)
            if not self._socket:
                self._fail("zmq_socket")
            self._set_option(ZMQ_ROUTING_ID, ctypes.create_string_buffer(routing_id, len(routing_id)),
                             len(routing_id))
            self._set_option(ZMQ_LINGER, ctypes.byref(ctypes.c_int(LINGER_MS)),
                             ctypes.sizeof(ctypes.c_int))
            self._check(self._lib.zmq_connect(self._socket, endpoint.encode("utf-8")), "zmq_connect")
        except Exception:
            self._release()
            raise

    def _fail(self, what):
        code = self._lib.zmq_errno()
        text = self._lib.zmq_strerror(code)
        raise ChannelError("%s failed: %s (errno %d)" % (what, text.decode("utf-8", "replace"), code))

    def _check(self, rc, what):
        if rc == -1:
            self._fail(what)
        return rc

    def _retrying(self, what, call):
        # A signal handled by Python interrupts libzmq calls with EINTR; the call is simply retried.
        while True:
            rc = call()
            if rc != -1:
                return rc
            if self._lib.zmq_errno() != errno.EINTR:
                self._fail(what)

    def _set_option(self, option, value_ref, size):
        self._check(self._lib.zmq_setsockopt(self._socket, option, ctypes.cast(value_ref, ctypes.c_void_p), size),
                    "zmq_setsockopt(%d)" % option)

    def send(self, data):
        self._retrying("zmq_send", lambda: self._lib.zmq_send(self._socket, data, len(data), 0))

    def _receive_frame(self):
        message = _Message()
        self._check(self._lib.zmq_msg_init(ctypes.byref(message)), "zmq_msg_init")
        try:
            self._retrying("zmq_msg_recv", lambda: self._lib.zmq_msg_recv(ctypes.byref(message), self._socket, 0))
            size = self._lib.zmq_msg_size(ctypes.byref(message))
            data = ctypes.string_at(self._lib.zmq_msg_data(ctypes.byref(message)), size) if size else b""
            more = self._lib.zmq_msg_more(ctypes.byref(message))
        finally:
            self._lib.zmq_msg_close(ctypes.byref(message))
        return data, more

    def receive(self, timeout):
        """The frames of one message, or None if nothing arrived within timeout seconds."""
        item = _PollItem(self._socket, 0, ZMQ_POLLIN, 0)
        ready = self._retrying("zmq_poll", lambda: self._lib.zmq_poll(ctypes.byref(item), 1, _timeout_ms(timeout)))
        if ready == 0:
            return None
        frames = []
        more = True
        while more:
            data, more = self._receive_frame()
            frames.append(data)
        return frames

    def _release(self):
        if self._socket:
            self._lib.zmq_close(self._socket)
            self._socket = None
        if self._context:
            self._retrying("zmq_ctx_term", lambda: self._lib.zmq_ctx_term(self._context))
            self._context = None

    def close(self):
        if os.getpid() == self._pid:
            self._release()

    def __del__(self):
        # Only the process that opened the socket may close it; at interpreter shutdown another
        # thread may still be inside a libzmq call on it, so leave it to process exit then.
        if getattr(self, "_pid", None) == os.getpid() and not sys.is_finalizing():
            self._release()


def _pyzmq_usable():
    try:
        import zmq
        zmq.Context  # noqa: B018 - a broken install fails here, not at import
        return True
    except Exception:
        # PyPy can find CPython's pyzmq on its path and fail inside it with any error.
        return False


_default_backend = None


def default_backend():
    global _default_backend
    if _default_backend is None:
        _default_backend = PyzmqSocket if _pyzmq_usable() else CtypesSocket
    return _default_backend


# Channels open in this process or inherited from a forking parent; see the module docstring.
_open_channels = set()


class Channel(object):
    """The control channel of one actor: JSON objects over one DEALER socket."""

    def __init__(self, endpoint, routing_id, backend=None):
        self._pid = os.getpid()
        self._closed = False
        self.routing_id = routing_id
        self._socket = (backend or default_backend())(endpoint, routing_id.encode("utf-8"))
        _open_channels.add(self)

    @property
    def backend_name(self):
        return self._socket.name

    def send(self, message):
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("ascii")
        self._socket.send(data)

    def receive(self, timeout=None):
        """The frames of the next message, or None after timeout seconds (None: wait forever)."""
        return self._socket.receive(timeout)

    def close(self):
        if self._closed or os.getpid() != self._pid:
            return
        self._closed = True
        _open_channels.discard(self)
        self._socket.close()
