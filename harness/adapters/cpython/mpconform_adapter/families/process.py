"""Process: every process actor is one, held by the actor that started it; Context: what
multiprocessing.get_context() returns (spec/process.md#start-methods)."""

from .base import BadRequest, TypeInfo, read_attribute

ATTRIBUTES = ("exitcode", "name", "pid", "sentinel", "daemon", "ident")

TYPES = (TypeInfo("Process", ("join", "is_alive", "terminate", "kill", "close", "start") + ATTRIBUTES,
                  attributes=dict((name, read_attribute(name)) for name in ATTRIBUTES),
                  settable=("name", "daemon")),
         TypeInfo("Context", ("get_start_method", "set_start_method")))

# The names of the spec's Types table this module gives.
DECLARED = ("Process", "Context")


def create(ctx, type_name, names, args, kwargs):
    raise BadRequest("objects of type %r cannot be created by setup" % (type_name,))


def classes(module, ctx):
    return {"Process": getattr(ctx, "Process", None), "Context": type(ctx)}
