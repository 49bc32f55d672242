"""Barrier: multiprocessing.Barrier, whose action a case names by a Connection
(spec/case-format.md#callable-arguments)."""

from .base import Entry, TypeInfo, read_attribute, send_pid_of

_ATTRIBUTES = ("parties", "n_waiting", "broken")
TYPES = (TypeInfo("Barrier", ("wait", "reset", "abort") + _ATTRIBUTES,
                  attributes=dict((name, read_attribute(name)) for name in _ATTRIBUTES)),)

# The names of the spec's Types table this module gives.
DECLARED = ("Barrier",)


def _action_of(obj):
    if obj is None:
        return None
    return send_pid_of(obj, "a Barrier action")


def create(ctx, type_name, names, args, kwargs):
    args = list(args)
    kwargs = dict(kwargs)
    if len(args) > 1:
        args[1] = _action_of(args[1])
    if "action" in kwargs:
        kwargs["action"] = _action_of(kwargs["action"])
    return [(names[0], Entry("Barrier", ctx.Barrier(*args, **kwargs)))]


def classes(module, ctx):
    return {}
