"""multiprocessing with one deliberate timing fault in its Queue, for tests/timing.

The fault is chosen by the environment variable MPCONFORM_MUTANT (read in every process, so
that spawned children agree):

  none          no fault (the control: every case must pass)
  timeout_x2    a get()/put() given a timeout T waits 2T before raising queue.Empty/queue.Full
  timeout_late  ... waits T + 0.5 s
  nowait_late   a non-blocking get()/put() (block=False, get_nowait, put_nowait, timeout <= 0)
                waits 0.5 s before doing what it does
  wake_late     a blocking get() that waited returns its item 0.5 s after it arrived

Everything else is the real multiprocessing: `--impl cpython:PYTHON,module=mutant_mp` with this
directory on PYTHONPATH.
"""

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403  (the adapter reads the module's names)

from . import queues  # noqa: F401  (the adapter imports MODULE.queues)


class _Context:
    """The real context with the mutant queue classes."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def Queue(self, maxsize=0):
        return queues.Queue(maxsize, ctx=self._real)

    def JoinableQueue(self, maxsize=0):
        return queues.JoinableQueue(maxsize, ctx=self._real)


def get_context(method=None):
    return _Context(_mp.get_context(method))
