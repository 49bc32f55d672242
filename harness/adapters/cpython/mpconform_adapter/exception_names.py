"""Portable names of exceptions (spec/adapter-protocol.md#exceptions)."""

import builtins
import importlib
import pickle
import queue
import threading

from . import values

# Attribute of the module under test (and of its `queues` submodule) -> portable name.
_MODULE_EXCEPTIONS = (
    ("BufferTooShort", "multiprocessing.BufferTooShort"),
    ("AuthenticationError", "multiprocessing.AuthenticationError"),
    ("TimeoutError", "multiprocessing.TimeoutError"),
    ("ProcessError", "multiprocessing.ProcessError"),
)
_QUEUES_EXCEPTIONS = (
    ("Empty", "queue.Empty"),
    ("Full", "queue.Full"),
)


def _exception_class(owner, attribute):
    cls = getattr(owner, attribute, None)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return cls
    return None


class ExceptionNames(object):
    """Names exceptions by class identity, for one module under test."""

    def __init__(self, module):
        self._portable = {
            queue.Empty: "queue.Empty",
            queue.Full: "queue.Full",
            threading.BrokenBarrierError: "threading.BrokenBarrierError",
            pickle.PicklingError: "pickle.PicklingError",
        }
        owners = [module]
        try:
            owners.append(importlib.import_module(module.__name__ + ".queues"))
        except Exception:
            pass
        if module.__name__ != "multiprocessing":
            # Drop-in modules may raise the standard library's classes as well as their own.
            import multiprocessing
            owners.append(multiprocessing)
        for owner in owners:
            for attribute, portable in _MODULE_EXCEPTIONS + _QUEUES_EXCEPTIONS:
                cls = _exception_class(owner, attribute)
                if cls is not None:
                    self._portable.setdefault(cls, portable)

    def portable_name(self, cls):
        """The portable name of cls, or None if it has none."""
        name = self._portable.get(cls)
        if name is not None:
            return name
        if cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
        return None

    def class_of(self, name):
        """The exception class of a portable name (the `raise` actor operation), or None."""
        for cls, portable in self._portable.items():
            if portable == name:
                return cls
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            return cls
        return None

    def type_name(self, cls):
        name = self.portable_name(cls)
        if name is not None:
            return name
        return "%s.%s" % (cls.__module__, getattr(cls, "__qualname__", cls.__name__))

    def base_names(self, cls):
        """Portable names of the classes cls derives from, up to Exception (or BaseException)."""
        names = []
        for base in cls.__mro__[1:]:
            name = self.portable_name(base)
            if name is not None:
                names.append(name)
            if base is Exception or base is BaseException:
                break
        return names

    def describe(self, exc):
        """The `exception` object of a result."""
        cls = type(exc)
        try:
            message = str(exc)
        except Exception as e:
            message = "<str() failed: %s>" % type(e).__name__
        args = getattr(exc, "args", ())
        if not isinstance(args, tuple):
            args = (args,)
        return {
            "type": self.type_name(cls),
            "bases": self.base_names(cls),
            "message": message,
            "args": [values.encode(arg) for arg in args],
        }
