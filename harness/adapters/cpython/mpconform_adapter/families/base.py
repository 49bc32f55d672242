"""What every family module declares: its types (TypeInfo), how setup makes them, and the classes
of the module under test behind them (for hello's capabilities)."""

import collections
import os
import sys

# An object of the case: the spec's type name (Connection for a Pipe end) and the object itself.
Entry = collections.namedtuple("Entry", ["type_name", "obj"])


class BadRequest(Exception):
    """The call cannot be made as asked (wrong target, wrong arguments for an attribute)."""


class UnknownOperation(Exception):
    """The target's type has no such operation."""


class TypeInfo(object):
    """One type of the spec's Types table.

    operations   exactly the spec's Operations row (methods, attributes, sequence operations)
    attributes   those of operations read with no arguments: name -> function(obj) of the value
    sequences    sequence operations: name -> (loop function(obj, *args, **kwargs), repeated method)
    checked      whether the module's class must have a method for it to be offered (False for
                 the suite's own types, bytearray and Global)
    settable     attributes a case may assign (`set:`)
    calls        operations that are Python syntax (len(a), a[i]) or suite helpers, not methods:
                 name -> function(obj, *args, **kwargs)
    context_manager  whether `with:` may use it: __enter__ and __exit__ are offered too
    added        method -> the (major, minor) of CPython that added it: on an older Python it is
                 offered although the class lacks it, and the call raises the AttributeError that
                 Python raises there (SimpleQueue.close before 3.9, D4)
    """

    def __init__(self, name, operations, attributes=None, sequences=None, checked=True, settable=(),
                 context_manager=False, calls=None, added=None):
        self.name = name
        self.operations = tuple(operations)
        self.attributes = dict(attributes or {})
        self.sequences = dict(sequences or {})
        self.checked = checked
        self.settable = tuple(settable)
        self.context_manager = context_manager
        self.calls = dict(calls or {})
        self.added = dict(added or {})

    def all_operations(self):
        """operations, and __enter__/__exit__ for a context manager."""
        return self.operations + (("__enter__", "__exit__") if self.context_manager else ())

    def offered(self, holder, method):
        """Whether `method` is offered for a class or object `holder` of the module under test."""
        if not self.checked or _has(holder, self.needed(method)):
            return True
        return method in self.added and sys.version_info[:2] < self.added[method]

    def needed(self, method):
        """The method of the object that `method` uses."""
        return self.sequences[method][1] if method in self.sequences else method


def _has(holder, name):
    """hasattr; a property that raises (exitcode of a closed Process raises ValueError) is looked
    up on the class, and the call then raises as it does."""
    try:
        return hasattr(holder, name)
    except Exception:
        return hasattr(type(holder), name)


class SendPid(object):
    """The callable a case gives as {$ref: CONN} (spec/case-format.md#callable-arguments): a Barrier
    action, a Process target, an atexit handler: CONN.send(os.getpid()) in the process that calls
    it. A class, not a lambda, so that it pickles (with its Connection) for spawned children."""

    def __init__(self, conn):
        self.conn = conn

    def __call__(self):
        self.conn.send(os.getpid())


def send_pid_of(obj, what):
    """The callable of a {$ref: CONN} argument; anything else is a request we cannot follow."""
    if not (hasattr(obj, "send") and hasattr(obj, "poll") and hasattr(obj, "recv_bytes")):
        raise BadRequest("%s is given as a Connection, got %r" % (what, obj))
    return SendPid(obj)


def read_attribute(name):
    return lambda obj: getattr(obj, name)


# --- sequence operations (spec/adapter-protocol.md#sequence-operations) ---

def repeat(method):
    """A loop calling obj.method(item) for each item; returns None."""
    def loop(obj, items):
        bound = getattr(obj, method)
        for item in items:
            bound(item)
    return loop


def collect(method):
    """A loop calling obj.method(*args, **kwargs) count times; returns the list."""
    def loop(obj, count, *args, **kwargs):
        bound = getattr(obj, method)
        got = []
        for _ in range(count):
            got.append(bound(*args, **kwargs))
        return got
    return loop
