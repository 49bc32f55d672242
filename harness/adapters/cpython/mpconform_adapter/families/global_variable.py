"""Global: a process-global variable, to show what processes do not share."""

import os

from .base import Entry, TypeInfo

TYPES = (TypeInfo("Global", ("get", "set"), checked=False),)

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

# The names of the spec's Types table this module gives.
DECLARED = ("Global",)


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry("Global", Global(*args, key=names[0], **kwargs)))]


def classes(module, ctx):
    return {}
