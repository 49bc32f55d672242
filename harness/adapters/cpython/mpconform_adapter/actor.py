"""The call loop of an actor, and the entry points of process and thread actors."""

import importlib
import json
import os
import sys
import threading
import time
import traceback

from . import module_functions
from . import objects
from . import values
from .channel import Channel
from .families import process as process_family
from .exception_names import ExceptionNames

PROTOCOL = 1

# How often an idle process actor checks that its parent is still there, in seconds.
ORPHAN_CHECK_INTERVAL = 1.0


def log(who, text):
    try:
        sys.stderr.write("mpconform-adapter[%d %s]: %s\n" % (os.getpid(), who, text))
        sys.stderr.flush()
    except Exception:
        pass  # stderr gone: nothing left to tell


def is_json_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class CallError(Exception):
    """The adapter cannot make a call: reported as a result with status `error`."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message


class ExitRequest(object):
    """What `exit`, `return` and `raise` give the loop: how the actor's target ends.

    mode "exit": sys.exit(code); "return": the target returns; "raise": it raises `exception`.
    """

    def __init__(self, code, mode="exit", exception=None):
        self.code = code
        self.mode = mode
        self.exception = exception


def _actor_sleep(args, kwargs):
    if kwargs or len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
        raise CallError("bad_request", "sleep takes one number of seconds, got args=%r kwargs=%r" % (args, kwargs))
    seconds = args[0]
    return lambda: time.sleep(seconds)


def _actor_exit(args, kwargs):
    if kwargs or len(args) > 1:
        raise CallError("bad_request", "exit takes at most one code, got args=%r kwargs=%r" % (args, kwargs))
    code = args[0] if args else 0
    if code is not None and not isinstance(code, (int, str, list)):
        raise CallError("bad_request", "exit's code is an int, a bool, None, a str or a list, got %r" % (code,))
    return lambda: ExitRequest(code)


def _actor_return(args, kwargs):
    if args or kwargs:
        raise CallError("bad_request", "return takes no arguments")
    return lambda: ExitRequest(0, mode="return")


ACTOR_OPERATIONS = {"sleep": _actor_sleep, "exit": _actor_exit, "return": _actor_return}

# hello's capabilities.features (spec/adapter-protocol.md#call-fields-of-the-case-language-v2).
FEATURES = ["bind", "object_names", "set", "step_start", "process_before_start", "process_end", "local_function",
            "class", "warnings"]


class ProcessState(object):
    """What the actors of one process share: its registry, and what starting a child needs."""

    def __init__(self, endpoint, module, start_method, registry, declarations):
        self.endpoint = endpoint
        self.module = module
        self.start_method = start_method
        self.registry = registry
        # Actor name -> its setup description (kind, in, start, start_method), for every actor.
        self.declarations = declarations
        self.processes = []
        # The Processes multiprocessing.Process made here, started or not (ended at teardown).
        self.made = []
        # Child actor name -> the dict its unstarted Process is given (filled at its start step).
        self.unstarted = {}

    def threads_in(self, name):
        return [d["name"] for d in self.declarations.values()
                if d.get("kind") == "thread" and d.get("in", "main") == name]

    def make_children(self, parent):
        """The Process objects of the process actors that steps of `parent` start, made unstarted so
        that a case may use them before their start step; each is given, at its start, what this
        process holds then (spec/case-format.md#actors)."""
        for name, description in self.declarations.items():
            if (description.get("kind") != "process" or description.get("start") != "step"
                    or description.get("in", "main") != parent):
                continue
            ctx = self.module.get_context(description.get("start_method") or self.start_method)
            given = {}
            process = ctx.Process(target=process_main, name=name, daemon=description.get("daemon"),
                                  args=(self.endpoint, name, given, self.threads_in(name), self.module.__name__,
                                        self.declarations, self.start_method))
            self.unstarted[name] = given
            self.registry[name] = objects.Entry("Process", process)

    def start_child(self, name, parent):
        """The `start` actor operation: start process actor `name`, a child of this process."""
        description = self.declarations.get(name)
        if description is None or description.get("kind") != "process" or description.get("start") != "step":
            raise CallError("bad_request", "%r is not a process actor started by a step" % (name,))
        if description.get("in", "main") != parent:
            raise CallError("bad_request", "%r is started by %r, not %r" % (name, description.get("in", "main"), parent))
        if name not in self.unstarted:
            raise CallError("bad_request", "%r is already started" % (name,))
        given = self.unstarted.pop(name)
        # Everything this process holds now but Process objects and closed Connections, which
        # cannot be pickled (spec/adapter-protocol.md#call-fields-of-the-case-language-v2). Under
        # fork the child copies `given` as it is now; spawn and forkserver pickle it in start().
        given.update((k, e) for k, e in self.registry.items()
                     if e.type_name != "Process" and not (e.type_name == "Connection" and getattr(e.obj, "closed", False)))
        process = self.registry[name].obj
        process.start()
        self.processes.append(process)

# Returned by a message handler to end the loop.
STOP = object()


class Actor(object):
    """Serves the calls addressed to one actor, one at a time."""

    def __init__(self, name, channel, registry, naming, ends_on_exit=True, idle_check=None, process=None):
        self.name = name
        self.channel = channel
        self.registry = registry
        self.naming = naming
        self.ends_on_exit = ends_on_exit
        self.idle_check = idle_check
        # The ProcessState of the process the actor runs in (None: no module calls, no start).
        self.process = process
        # The process whose children this actor starts: itself, or the process it is a thread of.
        self.process_name = name

    def send(self, message):
        message["protocol"] = PROTOCOL
        self.channel.send(message)

    def send_hello(self):
        self.send({"type": "hello", "role": "actor", "name": self.name, "pid": os.getpid()})

    def serve(self, handlers=None):
        """Runs the loop. Returns the ExitRequest of `exit`, or None when a handler says STOP."""
        handlers = handlers or {}
        while True:
            frames = self.channel.receive(ORPHAN_CHECK_INTERVAL if self.idle_check else None)
            if frames is None:
                if self.idle_check:
                    self.idle_check()
                continue
            message = self.parse(frames)
            if message is None:
                continue
            kind = message.get("type")
            if kind == "call":
                exit_request = self.handle_call(message)
                if exit_request is not None and self.ends_on_exit:
                    return exit_request
            elif kind in handlers:
                if handlers[kind](message) is STOP:
                    return None
            else:
                log(self.name, "ignoring a message of type %r" % (kind,))

    def parse(self, frames):
        """The message in frames, or None (logged) if it is not one JSON object in one frame."""
        if len(frames) != 1:
            log(self.name, "ignoring a message of %d frames (one expected)" % len(frames))
            return None
        try:
            message = json.loads(frames[0].decode("utf-8"))
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            log(self.name, "ignoring a frame that is not UTF-8 JSON (%s): %r" % (e, frames[0][:120]))
            return None
        if not isinstance(message, dict):
            log(self.name, "ignoring a frame that is not a JSON object: %r" % (frames[0][:120],))
            return None
        return message

    def resolve(self, name):
        entry = self.registry.get(name)
        if entry is None:
            raise CallError("bad_request", "actor %r has no object named %r" % (self.name, name))
        return entry.obj

    def prepare(self, message):
        """A function of no arguments that makes the call the message asks for."""
        if message.get("protocol") != PROTOCOL:
            raise CallError("bad_request", "protocol %r is not supported (1 is)" % (message.get("protocol"),))
        target = message.get("target")
        method = message.get("method")
        args_node = message.get("args", [])
        kwargs_node = message.get("kwargs", {})
        if not isinstance(method, str):
            raise CallError("bad_request", "call needs a string 'method', got %r" % (method,))
        if not isinstance(args_node, list) or not isinstance(kwargs_node, dict):
            raise CallError("bad_request", "call 'args' must be a list and 'kwargs' an object")
        try:
            args = [values.decode(node, self.resolve) for node in args_node]
            kwargs = dict((key, values.decode(node, self.resolve)) for key, node in kwargs_node.items())
        except values.ValueFormatError as e:
            raise CallError("bad_request", "bad value: %s" % e)
        if target is None:
            return self.prepare_actor_call(method, args, kwargs)
        if not isinstance(target, str):
            raise CallError("bad_request", "call 'target' must be a name or null, got %r" % (target,))
        entry = self.registry.get(target)
        if entry is None:
            raise CallError("bad_request", "actor %r has no object named %r" % (self.name, target))
        try:
            if message.get("form") == "set":
                if args or kwargs or "value" not in message:
                    raise CallError("bad_request", "a set call has a 'value' and no args or kwargs")
                try:
                    value = values.decode(message["value"], self.resolve)
                except values.ValueFormatError as e:
                    raise CallError("bad_request", "bad value: %s" % e)
                return objects.set_attribute(entry, method, value)
            if message.get("form") is not None:
                raise CallError("bad_request", "unknown call form %r" % (message.get("form"),))
            return objects.operation(entry, method, args, kwargs)
        except objects.UnknownOperation as e:
            raise CallError("unknown_op", str(e))
        except objects.BadRequest as e:
            raise CallError("bad_request", str(e))

    def prepare_actor_call(self, method, args, kwargs):
        """Actor operations and module functions: calls with a null target."""
        if method.startswith(("multiprocessing.", "operator.", "builtins.", "atexit.")):  # of spec/api.yaml
            function = module_functions.resolve(self.process.module, method) if self.process else None
            if function is None:
                raise CallError("unknown_op", "the module under test has no function %r" % (method,))
            try:
                # Functions with a callable argument (spec/case-format.md#callable-arguments).
                if method == "multiprocessing.Process":
                    return process_family.construction(function, self.process.made, args, kwargs)
                if method == "atexit.register":
                    return process_family.exit_handler_registration(function, args, kwargs)
            except objects.BadRequest as e:
                raise CallError("bad_request", str(e))
            return lambda: function(*args, **kwargs)
        if method == "start":
            if self.process is None or kwargs or len(args) != 1 or not isinstance(args[0], str):
                raise CallError("bad_request", "start takes one actor name, got args=%r kwargs=%r" % (args, kwargs))
            name, process, parent = args[0], self.process, self.process_name
            return lambda: process.start_child(name, parent)
        if method == "raise":
            if kwargs or len(args) != 2 or not all(isinstance(a, str) for a in args):
                raise CallError("bad_request", "raise takes [TYPE, MESSAGE], got args=%r kwargs=%r" % (args, kwargs))
            cls = self.naming.class_of(args[0])
            if cls is None:
                raise CallError("bad_request", "raise: %r is not a portable exception name" % (args[0],))
            exception = cls(args[1])
            return lambda: ExitRequest(1, mode="raise", exception=exception)
        make = ACTOR_OPERATIONS.get(method)
        if make is None:
            raise CallError("unknown_op", "no actor operation %r (sleep, exit, return, raise, start)" % (method,))
        return make(args, kwargs)

    def name_of(self, obj):
        """(name, spec type) of an object this actor holds by name, or None."""
        for name, entry in self.registry.items():
            if entry.obj is obj and not isinstance(obj, (bool, int, float, str, bytes)):
                return name, entry.type_name
        return None

    def bind(self, message, value):
        """Stores a returned value under the call's `bind` names (a 2-tuple is unpacked)."""
        names = message.get("bind")
        if names is None:
            return
        types = message.get("bind_types") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CallError("bad_request", "bind is a list of names, got %r" % (names,))
        items = [value] if len(names) == 1 else list(value)
        if len(items) != len(names):
            raise CallError("bad_request", "bind names %d, the result has %d items" % (len(names), len(items)))
        for i, (name, item) in enumerate(zip(names, items)):
            type_name = types[i] if i < len(types) and isinstance(types[i], str) else type(item).__name__
            self.registry[name] = objects.Entry(type_name, item)

    def handle_call(self, message):
        """Answers started, makes the call, answers its result. Returns an ExitRequest for exit."""
        seq = message.get("seq")
        if not is_json_int(seq):
            log(self.name, "ignoring a call without an integer seq: %r" % (message,))
            return None
        self.send({"type": "started", "re": seq})
        try:
            call = self.prepare(message)
        except CallError as e:
            self.send_error(seq, e.kind, e.message)
            return None
        except Exception as e:
            log(self.name, "cannot prepare call %d:\n%s" % (seq, traceback.format_exc()))
            self.send_error(seq, "internal", "%s: %s" % (type(e).__name__, e))
            return None
        raised = None
        value = None
        start = time.monotonic()
        try:
            value = call()
        except BaseException as e:  # the outcome of the call, whatever it is
            raised = e
        end = time.monotonic()
        elapsed = end - start
        exit_request = value if isinstance(value, ExitRequest) else None
        result = {"type": "result", "re": seq, "elapsed": elapsed, "started_at": start, "ended_at": end}
        try:
            if raised is None:
                self.bind(message, value)
        except CallError as e:
            self.send_error(seq, e.kind, e.message, elapsed)
            return None
        except Exception as e:
            self.send_error(seq, "bad_request", "cannot bind the result: %s: %s" % (type(e).__name__, e), elapsed)
            return None
        try:
            if raised is not None:
                result["status"] = "raised"
                result["exception"] = self.naming.describe(raised)
            else:
                result["status"] = "returned"
                result["value"] = values.encode(None if exit_request else value, self.name_of)
        except Exception as e:
            log(self.name, "cannot encode the outcome of call %d:\n%s" % (seq, traceback.format_exc()))
            self.send_error(seq, "internal", "cannot encode the outcome: %s: %s" % (type(e).__name__, e), elapsed)
            return exit_request
        self.send(result)
        return exit_request

    def send_error(self, seq, kind, message, elapsed=0.0):
        self.send({"type": "result", "re": seq, "status": "error", "elapsed": elapsed,
                   "error": {"kind": kind, "message": message}})


def start_thread_actor(endpoint, name, registry, naming, process=None, host=None):
    thread = threading.Thread(target=thread_main, args=(endpoint, name, registry, naming, process, host),
                              name="mpconform-" + name)
    # Daemon: a thread actor still blocked in a call must never keep its process from exiting.
    thread.daemon = True
    thread.start()
    return thread


def thread_main(endpoint, name, registry, naming, process=None, host=None):
    """A thread actor: its own socket, the objects of the process it runs in."""
    try:
        channel = Channel(endpoint, name)
    except Exception:
        log(name, "thread actor cannot connect:\n%s" % traceback.format_exc())
        return
    try:
        actor = Actor(name, channel, registry, naming, process=process)
        actor.process_name = host or name
        actor.send_hello()
        actor.serve()
    except Exception:
        log(name, "thread actor failed:\n%s" % traceback.format_exc())
    finally:
        channel.close()


def _orphan_check(name, parent_pid):
    def check():
        if os.getppid() != parent_pid:
            # The controller is gone; exit at once, without exit handlers that could block.
            log(name, "parent process %d is gone, exiting" % parent_pid)
            os._exit(70)
    return check


def process_main(endpoint, name, objects_by_name, thread_actor_names, module_name="multiprocessing",
                 declarations=None, start_method=None):
    """The target of a process actor. Ends as `exit` (sys.exit(code)), `return` or `raise` asks."""
    module = importlib.import_module(module_name)
    values.module_under_test = module
    naming = ExceptionNames(module)
    channel = Channel(endpoint, name)
    try:
        registry = dict(objects_by_name)
        process = ProcessState(endpoint, module, start_method, registry, declarations or {})
        process.make_children(name)
        for thread_name in thread_actor_names:
            start_thread_actor(endpoint, thread_name, registry, naming, process, name)
        actor = Actor(name, channel, registry, naming, idle_check=_orphan_check(name, os.getppid()), process=process)
        actor.send_hello()
        exit_request = actor.serve()
    finally:
        channel.close()
    if exit_request is None:
        sys.exit(0)
    if exit_request.mode == "return":
        return
    if exit_request.mode == "raise":
        raise exit_request.exception
    sys.exit(exit_request.code)
