"""The types of spec/adapter-protocol.md#types: constructors, allowed operations, and Global."""

import collections
import importlib
import os

# An object of the case: the spec's type name (Connection for a Pipe end) and the object itself.
Entry = collections.namedtuple("Entry", ["type_name", "obj"])

TYPES = ("Queue", "JoinableQueue", "SimpleQueue", "Pipe", "bytearray", "Global", "Process")

_QUEUE_OPS = ("put", "get", "put_nowait", "get_nowait", "qsize", "empty", "full", "close",
              "join_thread", "cancel_join_thread", "put_many", "get_many")

# Exactly the spec's Operations table.
OPERATIONS = {
    "Queue": _QUEUE_OPS,
    "JoinableQueue": _QUEUE_OPS + ("task_done", "join"),
    "SimpleQueue": ("put", "get", "empty", "close", "put_many", "get_many"),
    "Connection": ("send", "recv", "send_bytes", "recv_bytes", "recv_bytes_into", "poll", "close",
                   "closed", "readable", "writable", "send_many", "recv_many", "send_bytes_many",
                   "recv_bytes_many"),
    "bytearray": ("value",),
    "Global": ("get", "set"),
    "Process": ("join", "is_alive", "exitcode", "terminate", "kill"),
}

# Operations that read an attribute: called with no arguments.
ATTRIBUTES = {
    "Connection": ("closed", "readable", "writable"),
    "bytearray": ("value",),
    "Process": ("exitcode",),
}


class BadRequest(Exception):
    """The call cannot be made as asked (wrong target, wrong arguments for an attribute)."""


class UnknownOperation(Exception):
    """The target's type has no such operation."""


# --- sequence operations (spec/adapter-protocol.md#sequence-operations) ---

def put_many(target, items):
    for item in items:
        target.put(item)


def get_many(target, count, *args, **kwargs):
    got = []
    for _ in range(count):
        got.append(target.get(*args, **kwargs))
    return got


def send_many(target, items):
    for item in items:
        target.send(item)


def recv_many(target, count):
    got = []
    for _ in range(count):
        got.append(target.recv())
    return got


def send_bytes_many(target, items):
    for item in items:
        target.send_bytes(item)


def recv_bytes_many(target, count):
    got = []
    for _ in range(count):
        got.append(target.recv_bytes())
    return got


SEQUENCE_OPERATIONS = {
    "put_many": (put_many, "put"),
    "get_many": (get_many, "get"),
    "send_many": (send_many, "send"),
    "recv_many": (recv_many, "recv"),
    "send_bytes_many": (send_bytes_many, "send_bytes"),
    "recv_bytes_many": (recv_bytes_many, "recv_bytes"),
}


# --- Global ---

# The process-global variables, by key. Each process has its own copy of this dict: a forked
# child inherits the parent's, a spawned child gets entries through Global.__reduce__.
_global_values = {}


class Global(object):
    """A process-global variable: what one process sets, another does not see."""

    def __init__(self, value, key=None):
        self._key = key if key is not None else "global-%d-%d" % (os.getpid(), id(self))
        _global_values[self._key] = value

    def get(self):
        return _global_values[self._key]

    def set(self, value):
        _global_values[self._key] = value

    def __reduce__(self):
        # Carries the value as of pickling (Process.start under spawn/forkserver) so that the
        # child starts with it; a process that already has the variable keeps its own value.
        return (_attach_global, (self._key, _global_values[self._key]))

    def __repr__(self):
        return "Global(key=%r)" % (self._key,)


def _attach_global(key, value):
    _global_values.setdefault(key, value)
    g = Global.__new__(Global)
    g._key = key
    return g


# --- construction ---

def create(ctx, type_name, names, args, kwargs):
    """The entries (name, Entry) for one object of the setup message."""
    if type_name == "Pipe":
        first, second = ctx.Pipe(*args, **kwargs)
        return [(names[0], Entry("Connection", first)), (names[1], Entry("Connection", second))]
    if type_name in ("Queue", "JoinableQueue", "SimpleQueue"):
        obj = getattr(ctx, type_name)(*args, **kwargs)
    elif type_name == "bytearray":
        obj = bytearray(*args, **kwargs)
    elif type_name == "Global":
        obj = Global(*args, key=names[0], **kwargs)
    else:
        raise BadRequest("objects of type %r cannot be created by setup" % (type_name,))
    return [(names[0], Entry(type_name, obj))]


def operation(entry, method, args, kwargs):
    """A function of no arguments that makes the call `method(*args, **kwargs)` on the entry."""
    type_name, obj = entry
    if method not in OPERATIONS.get(type_name, ()):
        raise UnknownOperation("%s has no operation %r" % (type_name, method))
    needed = SEQUENCE_OPERATIONS[method][1] if method in SEQUENCE_OPERATIONS else method
    if type_name not in ("bytearray", "Global") and not hasattr(obj, needed):
        # Not offered in hello either (supported_operations), e.g. SimpleQueue.close on 3.8.
        raise UnknownOperation("%s of this module has no %r" % (type_name, needed))
    if method in ATTRIBUTES.get(type_name, ()):
        if args or kwargs:
            raise BadRequest("%s.%s is an attribute, called without arguments" % (type_name, method))
        if type_name == "bytearray":
            return lambda: bytearray(obj)
        return lambda: getattr(obj, method)
    if method in SEQUENCE_OPERATIONS:
        loop = SEQUENCE_OPERATIONS[method][0]
        return lambda: loop(obj, *args, **kwargs)
    bound = getattr(obj, method)
    return lambda: bound(*args, **kwargs)


def _module_classes(module, ctx):
    """The classes behind the spec's types in the module under test, where they can be found."""
    classes = {"Process": getattr(ctx, "Process", None)}
    try:
        queues = importlib.import_module(module.__name__ + ".queues")
        for name in ("Queue", "JoinableQueue", "SimpleQueue"):
            classes[name] = getattr(queues, name, None)
    except Exception:
        pass
    try:
        connection = importlib.import_module(module.__name__ + ".connection")
        classes["Connection"] = getattr(connection, "Connection", None)
    except Exception:
        pass
    return classes


def supported_operations(module, ctx):
    """`Type.method` for every operation the module's classes have (hello's capabilities.ops)."""
    classes = _module_classes(module, ctx)
    ops = []
    for type_name, methods in OPERATIONS.items():
        cls = classes.get(type_name)
        for method in methods:
            needed = SEQUENCE_OPERATIONS[method][1] if method in SEQUENCE_OPERATIONS else method
            # A class we could not find is assumed complete; a missing method (3.8 has no
            # SimpleQueue.close, billiard's Process no kill) is not offered.
            if cls is None or type_name in ("bytearray", "Global") or hasattr(cls, needed):
                ops.append("%s.%s" % (type_name, method))
    return ops
