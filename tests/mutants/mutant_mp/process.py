"""Process classes, and the exit of a process, with the fault MPCONFORM_MUTANT names (see __init__).

Every start method's Process class has a mutant here under the real class's name (so that default
names such as ForkProcess-1 are unchanged, and spawn and forkserver children unpickle the mutant
from mutant_mp.process). The exit faults replace multiprocessing.util._exit_function, which a
process runs when it ends: called by Process._bootstrap before 3.13, registered with atexit from
3.13 on (in a fork child from util._exit_function as it is then; in a spawned or forkserver child,
before this module is imported, from the real one, which is why that registration is replaced).
"""

import atexit
import os
from multiprocessing import context, process, util


def _mode():
    return os.environ.get("MPCONFORM_MUTANT", "none")


class _Faults:
    def terminate(self):
        mode = _mode()
        if mode == "terminate_noop":
            self._check_closed()
            return
        super().terminate()

    def kill(self):
        mode = _mode()
        if mode == "kill_noop":
            self._check_closed()
            return
        if mode == "kill_is_terminate":
            return super().terminate()  # as on Windows, where kill() is terminate()
        super().kill()

    @property
    def exitcode(self):
        code = process.BaseProcess.exitcode.fget(self)
        mode = _mode()
        if mode == "exitcode_sign" and code is not None and code < 0:
            return -code  # the signal's number, as WTERMSIG gives it, not minus it
        if mode == "exitcode_at_join" and not self._joined:
            return None
        return code

    def is_alive(self):
        alive = super().is_alive()
        if _mode() == "alive_until_joined" and self._popen is not None and not self._joined:
            return True
        return alive

    # Whether a join() of this Process (in the process that started it) saw the child's end.
    _joined = False

    def join(self, timeout=None):
        super().join(timeout)
        if self._popen is not None and self._popen.returncode is not None:
            self._joined = True


class Process(_Faults, context.Process):
    pass


class ForkProcess(_Faults, context.ForkProcess):
    pass


class SpawnProcess(_Faults, context.SpawnProcess):
    pass


class ForkServerProcess(_Faults, context.ForkServerProcess):
    pass


# The real class -> its mutant.
MUTANT_OF = {context.Process: Process, context.ForkProcess: ForkProcess, context.SpawnProcess: SpawnProcess,
             context.ForkServerProcess: ForkServerProcess}


_real_exit_function = util._exit_function


def _exit_joining_daemons(*args, **kwargs):
    """daemon_ignored: daemonic children are joined like the others, not terminated."""
    if not util._exiting:
        util._run_finalizers(0)
        for child in process.active_children():
            child.join()
    return _real_exit_function(*args, **kwargs)


def _exit_abandoning_daemons(*args, **kwargs):
    """daemon_abandoned: daemonic children are left running, as threading leaves daemon threads."""
    if not util._exiting:
        # process._children is rebound in every child (Process._bootstrap): read it now.
        process._children.difference_update([child for child in list(process._children) if child.daemon])
    return _real_exit_function(*args, **kwargs)


_EXIT_FAULTS = {"daemon_ignored": _exit_joining_daemons, "daemon_abandoned": _exit_abandoning_daemons}

if _mode() in _EXIT_FAULTS:
    util._exit_function = _EXIT_FAULTS[_mode()]
    atexit.unregister(_real_exit_function)
    atexit.register(util._exit_function)
