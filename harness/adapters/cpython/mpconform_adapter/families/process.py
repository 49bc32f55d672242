"""Process: every process actor is one, held by the actor that started it, and so is what
multiprocessing.Process makes with a target the case names (spec/process.md#a-given-target);
Context: what multiprocessing.get_context() returns (spec/process.md#start-methods). Also the
callable arguments of those functions and of atexit.register (spec/case-format.md#callable-arguments)."""
from .base import BadRequest, TypeInfo, read_attribute, send_pid_of

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


def construction(process_class, made, args, kwargs):
    """A function of no arguments that makes multiprocessing.Process(...) with the target a case
    names: a Connection is the callable that sends the child's pid on it; a local function (or
    None) is passed as it is. The Process is kept in `made`, so that teardown ends it if the case
    started it and did not join it. BadRequest (now) for a target of another kind."""
    args = list(args)
    kwargs = dict(kwargs)
    if len(args) > 1 and args[1] is not None and not callable(args[1]):
        args[1] = send_pid_of(args[1], "a Process target")
    if kwargs.get("target") is not None and not callable(kwargs["target"]):
        kwargs["target"] = send_pid_of(kwargs["target"], "a Process target")

    def make():
        process = process_class(*args, **kwargs)
        made.append(process)
        return process
    return make


def exit_handler_registration(register, args, kwargs):
    """A function of no arguments that calls atexit.register(func), func given as {$ref: CONN}:
    the handler sends this process's pid on CONN when it runs."""
    if kwargs or len(args) != 1:
        raise BadRequest("atexit.register takes one handler, given as a Connection")
    handler = send_pid_of(args[0], "an atexit handler")
    return lambda: register(handler)
