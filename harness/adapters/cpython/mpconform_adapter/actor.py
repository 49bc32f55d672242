"""The call loop of an actor, and the entry points of process and thread actors."""

import importlib
import json
import os
import sys
import threading
import time
import traceback

from . import objects
from . import values
from .channel import Channel
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
    """What the `exit` operation returns to the loop: the code the actor ends with."""

    def __init__(self, code):
        self.code = code


def _actor_sleep(args, kwargs):
    if kwargs or len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
        raise CallError("bad_request", "sleep takes one number of seconds, got args=%r kwargs=%r" % (args, kwargs))
    seconds = args[0]
    return lambda: time.sleep(seconds)


def _actor_exit(args, kwargs):
    if kwargs or len(args) > 1:
        raise CallError("bad_request", "exit takes at most one code, got args=%r kwargs=%r" % (args, kwargs))
    code = args[0] if args else 0
    return lambda: ExitRequest(code)


ACTOR_OPERATIONS = {"sleep": _actor_sleep, "exit": _actor_exit}

# Returned by a message handler to end the loop.
STOP = object()


class Actor(object):
    """Serves the calls addressed to one actor, one at a time."""

    def __init__(self, name, channel, registry, naming, ends_on_exit=True, idle_check=None):
        self.name = name
        self.channel = channel
        self.registry = registry
        self.naming = naming
        self.ends_on_exit = ends_on_exit
        self.idle_check = idle_check

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
            make = ACTOR_OPERATIONS.get(method)
            if make is None:
                raise CallError("unknown_op", "no actor operation %r (sleep, exit)" % (method,))
            return make(args, kwargs)
        if not isinstance(target, str):
            raise CallError("bad_request", "call 'target' must be a name or null, got %r" % (target,))
        entry = self.registry.get(target)
        if entry is None:
            raise CallError("bad_request", "actor %r has no object named %r" % (self.name, target))
        try:
            return objects.operation(entry, method, args, kwargs)
        except objects.UnknownOperation as e:
            raise CallError("unknown_op", str(e))
        except objects.BadRequest as e:
            raise CallError("bad_request", str(e))

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
        elapsed = time.monotonic() - start
        exit_request = value if isinstance(value, ExitRequest) else None
        result = {"type": "result", "re": seq, "elapsed": elapsed}
        try:
            if raised is not None:
                result["status"] = "raised"
                result["exception"] = self.naming.describe(raised)
            else:
                result["status"] = "returned"
                result["value"] = values.encode(None if exit_request else value)
        except Exception as e:
            log(self.name, "cannot encode the outcome of call %d:\n%s" % (seq, traceback.format_exc()))
            self.send_error(seq, "internal", "cannot encode the outcome: %s: %s" % (type(e).__name__, e), elapsed)
            return exit_request
        self.send(result)
        return exit_request

    def send_error(self, seq, kind, message, elapsed=0.0):
        self.send({"type": "result", "re": seq, "status": "error", "elapsed": elapsed,
                   "error": {"kind": kind, "message": message}})


def start_thread_actor(endpoint, name, registry, naming):
    thread = threading.Thread(target=thread_main, args=(endpoint, name, registry, naming),
                              name="mpconform-" + name)
    # Daemon: a thread actor still blocked in a call must never keep its process from exiting.
    thread.daemon = True
    thread.start()
    return thread


def thread_main(endpoint, name, registry, naming):
    """A thread actor: its own socket, the objects of the process it runs in."""
    try:
        channel = Channel(endpoint, name)
    except Exception:
        log(name, "thread actor cannot connect:\n%s" % traceback.format_exc())
        return
    try:
        actor = Actor(name, channel, registry, naming)
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


def process_main(endpoint, name, objects_by_name, thread_actor_names, module_name="multiprocessing"):
    """The target of a process actor. Ends as a target that calls sys.exit(code) on `exit`."""
    naming = ExceptionNames(importlib.import_module(module_name))
    channel = Channel(endpoint, name)
    try:
        registry = dict(objects_by_name)
        for thread_name in thread_actor_names:
            start_thread_actor(endpoint, thread_name, registry, naming)
        actor = Actor(name, channel, registry, naming, idle_check=_orphan_check(name, os.getppid()))
        actor.send_hello()
        exit_request = actor.serve()
    finally:
        channel.close()
    sys.exit(exit_request.code if exit_request is not None else 0)
