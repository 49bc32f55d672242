"""Lock, RLock, Semaphore, BoundedSemaphore (multiprocessing.synchronize's SemLock types)."""

from .base import Entry, TypeInfo

_SEMAPHORE_OPS = ("acquire", "release", "get_value")

TYPES = (
    TypeInfo("Lock", ("acquire", "release"), context_manager=True),
    TypeInfo("RLock", ("acquire", "release"), context_manager=True),
    TypeInfo("Semaphore", _SEMAPHORE_OPS, context_manager=True),
    TypeInfo("BoundedSemaphore", _SEMAPHORE_OPS, context_manager=True),
)

# The names of the spec's Types table this module gives.
DECLARED = ("Lock", "RLock", "Semaphore", "BoundedSemaphore")


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry(type_name, getattr(ctx, type_name)(*args, **kwargs)))]


def classes(module, ctx):
    # SemLock binds acquire and release on each instance (_make_methods), not on the class, so
    # the classes cannot be checked: every operation is offered (get_value raises
    # NotImplementedError where the platform lacks sem_getvalue, as CPython's does).
    return {}
