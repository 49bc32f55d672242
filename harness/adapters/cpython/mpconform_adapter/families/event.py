"""Event (multiprocessing.synchronize.Event)."""

import importlib

from .base import Entry, TypeInfo

TYPES = (TypeInfo("Event", ("is_set", "set", "clear", "wait")),)

# The names of the spec's Types table this module gives.
DECLARED = ("Event",)


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry("Event", ctx.Event(*args, **kwargs)))]


def classes(module, ctx):
    try:
        synchronize = importlib.import_module(module.__name__ + ".synchronize")
    except Exception:
        return {}
    return {"Event": getattr(synchronize, "Event", None)}
