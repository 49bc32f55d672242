"""Value, RawValue, Array, RawArray: ctypes objects in shared memory (multiprocessing.sharedctypes).

Array's Python syntax is offered as named operations (spec/api.yaml): len(a), a[i], a[i] = v,
a[start:stop] and a[start:stop] = items. increment_many is the seeds' `v.value += 1` loop.
"""

from .base import Entry, TypeInfo, read_attribute

_VALUE_OPS = ("get_lock", "get_obj", "increment_many", "value")
_ARRAY_OPS = ("len", "getitem", "setitem", "getslice", "setslice", "get_lock", "get_obj", "value", "raw")


def _increment_many(v, count, locked=True):
    """count times `v.value += 1`, each under `with v.get_lock():` when locked (the seeds' lesson);
    unlocked, the read and the write are two accesses another process may come between."""
    for _ in range(count):
        if locked:
            with v.get_lock():
                v.value += 1
        else:
            v.value += 1


def _setitem(a, index, value):
    a[index] = value


def _setslice(a, start, stop, items):
    a[start:stop] = items


# Operations that are Python syntax rather than methods, and the two methods a raw ctypes object
# lacks (looked up when the call is made, so that the AttributeError is its outcome):
# name -> function(obj, ...).
_CALLS = {
    "get_lock": lambda obj: obj.get_lock(),
    "get_obj": lambda obj: obj.get_obj(),
    "increment_many": _increment_many,
    "len": len,
    "getitem": lambda a, index: a[index],
    "setitem": _setitem,
    "getslice": lambda a, start=None, stop=None: a[start:stop],
    "setslice": _setslice,
}

_VALUE_ATTRIBUTES = {"value": read_attribute("value")}
_ARRAY_ATTRIBUTES = {"value": read_attribute("value"), "raw": read_attribute("raw")}

# checked=False: the operations are those of ctypes objects and sharedctypes' wrappers, which
# every multiprocessing has; one the object lacks (get_lock of a raw value) raises AttributeError
# as in CPython, which is what the cases check.
TYPES = (
    TypeInfo("Value", _VALUE_OPS, attributes=_VALUE_ATTRIBUTES, checked=False, settable=("value",), calls=_CALLS),
    TypeInfo("RawValue", _VALUE_OPS, attributes=_VALUE_ATTRIBUTES, checked=False, settable=("value",), calls=_CALLS),
    TypeInfo("Array", _ARRAY_OPS, attributes=_ARRAY_ATTRIBUTES, checked=False, settable=("value", "raw"),
             calls=_CALLS),
    TypeInfo("RawArray", _ARRAY_OPS, attributes=_ARRAY_ATTRIBUTES, checked=False, settable=("value", "raw"),
             calls=_CALLS),
)

# The names of the spec's Types table this module gives.
DECLARED = ("Value", "RawValue", "Array", "RawArray")


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry(type_name, getattr(ctx, type_name)(*args, **kwargs)))]


def classes(module, ctx):
    return {}
