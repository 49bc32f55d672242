"""multiprocessing with one deliberate fault, in its Queue's timing or in its Process, for
tests/mutants.

The fault is chosen by the environment variable MPCONFORM_MUTANT (read in every process, so
that spawned children agree):

  none          no fault (the control: every case must pass)
  timeout_x2    a get()/put() given a timeout T waits 2T before raising queue.Empty/queue.Full
  timeout_late  ... waits T + 0.5 s
  nowait_late   a non-blocking get()/put() (block=False, get_nowait, put_nowait, timeout <= 0)
                waits 0.5 s before doing what it does
  wake_late     a blocking get() that waited returns its item 0.5 s after it arrived

  terminate_noop      Process.terminate() does nothing
  kill_noop           Process.kill() does nothing
  kill_is_terminate   Process.kill() sends SIGTERM, as on Windows
  exitcode_sign       the exitcode of a child ended by signal N is N, not -N
  alive_until_joined  is_alive() stays True after the child has exited, until join()
  exitcode_at_join    exitcode stays None after the child has exited, until join()
  daemon_ignored      a process's exit joins its daemonic children instead of terminating them
  daemon_abandoned    a process's exit neither terminates nor joins its daemonic children

Everything else is the real multiprocessing: `--impl cpython:PYTHON,module=mutant_mp` with this
directory on PYTHONPATH.
"""

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403  (the adapter reads the module's names)

from . import connection  # noqa: F401  (the adapter imports MODULE.connection)
from . import process, queues  # noqa: F401  (the adapter imports MODULE.queues)

Process = process.Process


class _Context:
    """The real context with the mutant Queue and Process classes."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    # Named here, not only through __getattr__, because the adapter offers a Context's operations
    # by the methods of its class.
    def get_start_method(self, allow_none=False):
        return self._real.get_start_method(allow_none)

    def set_start_method(self, method, force=False):
        return self._real.set_start_method(method, force)

    def Queue(self, maxsize=0):
        return queues.Queue(maxsize, ctx=self._real)

    def JoinableQueue(self, maxsize=0):
        return queues.JoinableQueue(maxsize, ctx=self._real)

    @property
    def Process(self):
        return process.MUTANT_OF[self._real.Process]


def get_context(method=None):
    return _Context(_mp.get_context(method))
