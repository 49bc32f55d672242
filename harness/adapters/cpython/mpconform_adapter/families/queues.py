"""Queue, JoinableQueue, SimpleQueue."""

import importlib

from .base import Entry, TypeInfo, collect, repeat

_QUEUE_OPS = ("put", "get", "put_nowait", "get_nowait", "qsize", "empty", "full", "close",
              "join_thread", "cancel_join_thread", "put_many", "get_many")
_SEQUENCES = {"put_many": (repeat("put"), "put"), "get_many": (collect("get"), "get")}

TYPES = (
    TypeInfo("Queue", _QUEUE_OPS, sequences=_SEQUENCES),
    TypeInfo("JoinableQueue", _QUEUE_OPS + ("task_done", "join"), sequences=_SEQUENCES),
    TypeInfo("SimpleQueue", ("put", "get", "empty", "close", "put_many", "get_many"), sequences=_SEQUENCES,
             added={"close": (3, 9)}),
)

# The names of the spec's Types table this module gives.
DECLARED = ("Queue", "JoinableQueue", "SimpleQueue")


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry(type_name, getattr(ctx, type_name)(*args, **kwargs)))]


def classes(module, ctx):
    try:
        queues = importlib.import_module(module.__name__ + ".queues")
    except Exception:
        return {}
    return dict((t.name, getattr(queues, t.name, None)) for t in TYPES)
