"""Queue and JoinableQueue with the fault MPCONFORM_MUTANT names (see __init__)."""

import os
import queue
import time
from multiprocessing import queues as _real
from multiprocessing.queues import SimpleQueue  # noqa: F401  (unchanged)

LATE = 0.5


def _mode():
    return os.environ.get("MPCONFORM_MUTANT", "none")


class _Faults:
    def _timed(self, real_call, block, timeout):
        mode = _mode()
        if block and timeout is not None and timeout > 0:
            if mode == "timeout_x2":
                return real_call(block, timeout * 2)
            if mode == "timeout_late":
                try:
                    return real_call(block, timeout)
                except (queue.Empty, queue.Full):
                    time.sleep(LATE)
                    raise
        elif mode == "nowait_late" and (not block or (timeout is not None and timeout <= 0)):
            time.sleep(LATE)
        return real_call(block, timeout)

    def get(self, block=True, timeout=None):
        started = time.monotonic()
        item = self._timed(lambda b, t: super(_Faults, self).get(b, t), block, timeout)
        if _mode() == "wake_late" and block and time.monotonic() - started > 0.1:
            time.sleep(LATE)
        return item

    def put(self, obj, block=True, timeout=None):
        return self._timed(lambda b, t: super(_Faults, self).put(obj, b, t), block, timeout)

    def get_nowait(self):
        return self.get(False)

    def put_nowait(self, obj):
        return self.put(obj, False)


class Queue(_Faults, _real.Queue):
    pass


class JoinableQueue(_Faults, _real.JoinableQueue):
    pass
