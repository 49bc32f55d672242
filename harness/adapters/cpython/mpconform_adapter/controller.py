"""The controller: the adapter's main process, which is also the actor `main`.

hello -> setup (objects, actors) -> ready -> calls to main ... -> teardown -> goodbye -> exit 0.
"""

import argparse
import importlib
import os
import platform
import signal
import sys
import threading
import time
import traceback
import warnings

from . import actor
from . import module_functions
from . import objects
from . import values
from .channel import Channel
from .exception_names import ExceptionNames

# Teardown: how long process actors may take to exit on their own, then after terminate().
JOIN_BUDGET = 3.0
TERMINATE_GRACE = 1.0
# After goodbye, how long normal interpreter exit may take before the process leaves by force.
EXIT_WATCHDOG = 3.0

MAIN = "main"


def log(text):
    actor.log(MAIN, text)


class SetupError(Exception):
    pass


# Python's warnings actions: setup's `warnings` (spec/adapter-protocol.md, feature warnings).
WARNINGS_ACTIONS = ("default", "error", "ignore", "always", "module", "once")


def apply_warnings_filter(action):
    """Every process of the case runs under the warnings action `action` (None: as it is): this
    one from now on, a forked child as its copy, and a spawned child or the forkserver, started
    later, by PYTHONWARNINGS."""
    if action is None:
        return
    if action not in WARNINGS_ACTIONS:
        raise SetupError("warnings %r is not one of %s" % (action, ", ".join(WARNINGS_ACTIONS)))
    warnings.simplefilter(action)
    os.environ["PYTHONWARNINGS"] = action


def _names_of(description):
    names = description.get("names", description.get("name"))
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise SetupError("object needs a name (or names for a Pipe): %r" % (description,))
    return names


class Controller(object):
    def __init__(self, endpoint, module, ctx, channel):
        self.endpoint = endpoint
        self.module = module
        self.ctx = ctx
        self.channel = channel
        # What the runner judges by; --semantics sets it for an interpreter older than the spec.
        self.semantics = "%d.%d" % sys.version_info[:2]
        self.naming = ExceptionNames(module)
        # The types of hello's capabilities (and the only ones setup makes).
        self.types = offered_types(module, ctx)
        # Objects by name; in main the process actors' Process objects are here too.
        self.registry = {}
        self.processes = []
        self.threads = []
        self.set_up = False
        self.runner_pid = os.getppid()
        # Shared with main's thread actors; its processes are those started by steps of main.
        self.process = actor.ProcessState(endpoint, module, ctx.get_start_method(), self.registry, {})
        self.actor = actor.Actor(MAIN, channel, self.registry, self.naming, ends_on_exit=False,
                                 idle_check=self.check_runner, process=self.process)

    def hello_message(self):
        try:
            start_methods = list(self.module.get_all_start_methods())
        except Exception:
            start_methods = [self.ctx.get_start_method()]
        return {
            "type": "hello", "role": "controller", "pid": os.getpid(),
            "implementation": {
                "name": platform.python_implementation().lower(),
                "version": platform.python_version(),
                "language": "python",
                "semantics": self.semantics,
                # Drop-in modules run by CPython are CPython's family; PyPy is not CPython.
                "family": "cpython" if platform.python_implementation() == "CPython"
                else platform.python_implementation().lower(),
                "module": self.module.__name__,
                "start_method": self.ctx.get_start_method(),
                "platform": sys.platform,
            },
            "capabilities": {
                "types": [t for t in objects.TYPES if t in self.types],
                "ops": [op for op in objects.supported_operations(self.module, self.ctx)
                        if _op_type(op) in self.types] + module_functions.supported(self.module),
                "start_methods": start_methods,
                "features": list(actor.FEATURES),
                # Objects and actors may each name their own context.
                "contexts": start_methods,
            },
        }

    def run(self):
        self.actor.send(self.hello_message())
        self.actor.serve({"setup": self.on_setup, "teardown": self.on_teardown})

    def check_runner(self):
        if os.getppid() != self.runner_pid:
            # Whoever started us is gone and nobody will send teardown: end everything now
            # rather than wait forever.
            log("parent process %d is gone, ending the process actors and exiting" % self.runner_pid)
            self.stop_process_actors(join_budget=0.0)
            os._exit(70)

    # --- setup ---

    def on_setup(self, message):
        seq = message.get("seq")
        if not actor.is_json_int(seq):
            log("ignoring a setup without an integer seq")
            return None
        try:
            if self.set_up:
                raise SetupError("setup was already received")
            self.set_up = True
            apply_warnings_filter(message.get("warnings"))
            self.create_objects(message.get("objects", []))
            self.start_actors(message.get("actors", []))
        except Exception as e:
            if not isinstance(e, SetupError):
                log("setup failed:\n%s" % traceback.format_exc())
            self.actor.send({"type": "setup_failed", "re": seq,
                             "error": {"message": "%s: %s" % (type(e).__name__, e)}})
            return None
        self.actor.send({"type": "ready", "re": seq})
        return None

    def _claim(self, name):
        if name == MAIN or name in self.registry:
            raise SetupError("name %r is used twice" % (name,))

    def create_objects(self, descriptions):
        if not isinstance(descriptions, list):
            raise SetupError("'objects' must be a list")
        for description in descriptions:
            if not isinstance(description, dict):
                raise SetupError("an object must be a JSON object: %r" % (description,))
            type_name = description.get("type")
            names = _names_of(description)
            if type_name in objects.TYPES and type_name not in self.types:
                raise SetupError("%s is not offered by %s (not in hello's capabilities)" % (type_name, self.module.__name__))
            if len(names) != (2 if type_name == "Pipe" else 1):
                raise SetupError("%s needs %s" % (type_name, "two names" if type_name == "Pipe" else "one name"))
            for name in names:
                self._claim(name)
            args_node = description.get("args", [])
            kwargs_node = description.get("kwargs", {})
            if not isinstance(args_node, list) or not isinstance(kwargs_node, dict):
                raise SetupError("object 'args' must be a list and 'kwargs' an object")
            try:
                args = [values.decode(node, self.actor.resolve) for node in args_node]
                kwargs = dict((k, values.decode(node, self.actor.resolve)) for k, node in kwargs_node.items())
            except (values.ValueFormatError, actor.CallError) as e:
                raise SetupError("bad value for %s: %s" % (names[0], e))
            context = description.get("context")
            try:
                ctx = self.module.get_context(context) if context is not None else self.ctx
            except Exception as e:
                raise SetupError("context %r: %s: %s" % (context, type(e).__name__, e))
            try:
                entries = objects.create(ctx, type_name, names, args, kwargs)
            except objects.BadRequest as e:
                raise SetupError(str(e))
            for name, entry in entries:
                self.registry[name] = entry

    def start_actors(self, descriptions):
        if not isinstance(descriptions, list):
            raise SetupError("'actors' must be a list")
        shared = dict(self.registry)
        threads_in = {}
        actor_names = set()
        for description in descriptions:
            if not isinstance(description, dict):
                raise SetupError("an actor must be a JSON object: %r" % (description,))
            name, kind = description.get("name"), description.get("kind")
            if not isinstance(name, str) or not name:
                raise SetupError("actor needs a name: %r" % (description,))
            if name == MAIN or name in self.registry or name in actor_names:
                raise SetupError("name %r is used twice" % (name,))
            actor_names.add(name)
            if kind == "process":
                threads_in[name] = []
                parent = description.get("in", MAIN)
                if parent != MAIN and parent not in threads_in:
                    raise SetupError("process %r is in %r, which is not main or a process actor declared before"
                                     % (name, parent))
                if description.get("start", "setup") not in ("setup", "step"):
                    raise SetupError("actor %r has unknown start %r" % (name, description.get("start")))
                if parent != MAIN and description.get("start") != "step":
                    raise SetupError("process %r started by %r must have start: step" % (name, parent))
            elif kind == "thread":
                host = description.get("in", MAIN)
                if host != MAIN and host not in threads_in:
                    raise SetupError("thread %r is in %r, which is not main or a process actor declared before"
                                     % (name, host))
                if host != MAIN:
                    threads_in[host].append(name)
            else:
                raise SetupError("actor %r has unknown kind %r" % (name, kind))
        declarations = dict((d["name"], d) for d in descriptions)
        self.process.declarations.update(declarations)
        self.process.processes = self.processes  # main's children, joined at teardown
        # Process actors first, then main's thread actors: a fork while a thread of ours is inside
        # a call (holding a lock of the interpreter, of libzmq or of ours) can leave the child
        # blocked on a lock nobody will release (seen: PyPy's child never said hello). The case
        # cannot tell: no step runs before every actor has said hello.
        for description in sorted(descriptions, key=lambda d: d["kind"] != "process"):
            name = description["name"]
            if description["kind"] == "process":
                if description.get("start", "setup") == "step":
                    continue  # started by a step of its parent
                ctx = self.module.get_context(description["start_method"]) if description.get("start_method") else self.ctx
                process = ctx.Process(
                    target=actor.process_main, name=name, daemon=description.get("daemon"),
                    args=(self.endpoint, name, shared, threads_in[name], self.module.__name__, declarations,
                          self.ctx.get_start_method()))
                process.start()
                self.processes.append(process)
                self.registry[name] = objects.Entry("Process", process)
            elif description.get("in", MAIN) == MAIN:
                self.threads.append(actor.start_thread_actor(self.endpoint, name, self.registry, self.naming,
                                                             self.process, MAIN))
        self.process.make_children(MAIN)

    # --- teardown ---

    def on_teardown(self, message):
        seq = message.get("seq")
        self.stop_process_actors()
        deadline = time.monotonic() + TERMINATE_GRACE
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.release_queues()
        self.actor.send({"type": "goodbye", "re": seq, "cleanup": []})
        return actor.STOP

    def stop_process_actors(self, join_budget=JOIN_BUDGET):
        deadline = time.monotonic() + join_budget
        # A case may have closed a joined Process (process.use_after_close_raises): nothing is
        # left of it to join, and every method of it raises ValueError. A Process that
        # multiprocessing.Process made is ended like an actor if it was started (pid set).
        processes = [p for p in self.processes if not _closed(p)]
        processes += [p for p in self.process.made if not _closed(p) and p.pid is not None and p not in processes]
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        stragglers = [p for p in processes if p.exitcode is None]
        for process in stragglers:
            log("process %s (pid %s) did not exit, terminating it" % (process.name, process.pid))
            process.terminate()
        for process in stragglers:
            process.join(TERMINATE_GRACE)
        for process in stragglers:
            if process.exitcode is None:
                log("process %s (pid %s) did not terminate, killing it" % (process.name, process.pid))
                try:
                    os.kill(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                process.join(TERMINATE_GRACE)

    def release_queues(self):
        # A queue whose feeder still holds data nobody will read would make the exit handlers
        # wait forever (they join the feeder thread); after teardown that data is not wanted.
        for entry in list(self.registry.values()):
            if entry.type_name in ("Queue", "JoinableQueue"):
                try:
                    entry.obj.cancel_join_thread()
                except Exception as e:
                    log("cancel_join_thread failed: %r" % (e,))


def _closed(process):
    try:
        process.exitcode
    except ValueError:
        return True
    return False


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="mpconform adapter for CPython-style multiprocessing")
    parser.add_argument("--module", default="multiprocessing", help="module under test")
    parser.add_argument("--start-method", default=None, help="fork, spawn or forkserver (default: the module's)")
    parser.add_argument("--semantics", default=None,
                        help="major.minor to report as followed (the runner's older=run; default: this Python's)")
    parser.add_argument("--endpoint", required=True, help="the runner's ROUTER endpoint")
    return parser.parse_args(argv)


def _exit_watchdog():
    time.sleep(EXIT_WATCHDOG)
    log("interpreter exit is taking over %.0f s, leaving by force" % EXIT_WATCHDOG)
    os._exit(0)


# Modules that are no drop-in multiprocessing but give contexts of their own through
# MODULE.backend.get_context: loky, also as joblib vendors it (joblib.externals.loky). The
# backend is then the module under test; its default context is loky's own ("loky").
CONTEXT_MODULES = ("loky", "joblib.externals.loky")


def select_module(module_name, start_method):
    """The module under test and the context whose factories setup uses."""
    if module_name in CONTEXT_MODULES:
        backend = importlib.import_module(module_name + ".backend")
        return backend, backend.get_context(start_method or "loky")
    module = importlib.import_module(module_name)
    if start_method is not None:
        # The module's own start method too, so that get_start_method() and the module-level
        # factories (multiprocessing.Queue, Value, ...) are those of the method under test.
        module.set_start_method(start_method, force=True)
    return module, module.get_context(start_method)


def offered_types(module, ctx):
    """The spec's types this module implements. A module other than multiprocessing whose context
    takes a factory unchanged from the standard library's BaseContext (loky's Pipe and
    JoinableQueue) does not implement that type: offering it would test CPython's again, so it is
    left out of hello and its cases are skipped as unsupported."""
    import multiprocessing.context
    offered = set(objects.TYPES)
    if module.__name__ == "multiprocessing" or not isinstance(ctx, multiprocessing.context.BaseContext):
        return offered
    for type_name in objects.TYPES:
        for cls in type(ctx).__mro__:
            if type_name in vars(cls):
                if cls.__module__ == "multiprocessing.context":
                    offered.discard(type_name)
                break
    return offered


def _op_type(op):
    """The type of hello's `Type.method`, as a type of the Types table (a Connection is a Pipe's)."""
    type_name = op.split(".", 1)[0]
    return "Pipe" if type_name == "Connection" else type_name


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        module, ctx = select_module(arguments.module, arguments.start_method)
    except Exception as e:
        log("cannot use module %r with start method %r: %s: %s"
            % (arguments.module, arguments.start_method, type(e).__name__, e))
        return 2
    values.module_under_test = module
    try:
        channel = Channel(arguments.endpoint, MAIN)
    except Exception as e:
        log("cannot connect to %s: %s" % (arguments.endpoint, e))
        return 2
    controller = Controller(arguments.endpoint, module, ctx, channel)
    if arguments.semantics:
        controller.semantics = arguments.semantics
    code = 0
    try:
        controller.run()
    except BaseException:
        log("controller failed:\n%s" % traceback.format_exc())
        try:
            controller.stop_process_actors(join_budget=0.0)
            controller.release_queues()
        except BaseException:
            log("cleanup after the failure failed:\n%s" % traceback.format_exc())
        code = 1
    channel.close()
    watchdog = threading.Thread(target=_exit_watchdog, name="mpconform-exit-watchdog")
    watchdog.daemon = True
    watchdog.start()
    return code
