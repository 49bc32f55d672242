"""Condition: multiprocessing.Condition, whose wait_for predicate a case names by a Connection
(spec/case-format.md#callable-arguments)."""

from .base import BadRequest, Entry, TypeInfo


def predicate_of(obj):
    """The predicate a case gives as {$ref: CONN}: CONN.poll()."""
    if not hasattr(obj, "poll") or not hasattr(obj, "send_bytes"):
        raise BadRequest("a predicate is given as a Connection, got %r" % (obj,))
    return obj.poll


def _wait_for(cond, predicate, *args, **kwargs):
    return cond.wait_for(predicate_of(predicate), *args, **kwargs)


TYPES = (TypeInfo("Condition", ("acquire", "release", "wait", "wait_for", "notify", "notify_all"),
                  calls={"wait_for": _wait_for}, context_manager=True),)

# The names of the spec's Types table this module gives.
DECLARED = ("Condition",)


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry("Condition", ctx.Condition(*args, **kwargs)))]


def classes(module, ctx):
    # Condition binds acquire and release to its lock's in __init__: the class has no such
    # attributes to look for, so it is taken as complete.
    return {}
