"""The module-level calls of spec/api.yaml `functions`, by qualified name, found in the module
under test (its name in place of `multiprocessing`)."""

import importlib

# Qualified name -> (submodule below the module under test or "", attribute).
FUNCTIONS = {
    "multiprocessing.active_children": ("", "active_children"),
    "multiprocessing.current_process": ("", "current_process"),
    "multiprocessing.parent_process": ("", "parent_process"),
    "multiprocessing.cpu_count": ("", "cpu_count"),
    "multiprocessing.get_start_method": ("", "get_start_method"),
    "multiprocessing.set_start_method": ("", "set_start_method"),
    "multiprocessing.get_all_start_methods": ("", "get_all_start_methods"),
    "multiprocessing.get_context": ("", "get_context"),
    "multiprocessing.connection.wait": ("connection", "wait"),
    "multiprocessing.reduction.send_handle": ("reduction", "send_handle"),
    "multiprocessing.reduction.recv_handle": ("reduction", "recv_handle"),
    "multiprocessing.Value": ("", "Value"),
    "multiprocessing.RawValue": ("", "RawValue"),
    "multiprocessing.Array": ("", "Array"),
    "multiprocessing.RawArray": ("", "RawArray"),
    "multiprocessing.sharedctypes.copy": ("sharedctypes", "copy"),
    "multiprocessing.Semaphore": ("", "Semaphore"),
    "multiprocessing.BoundedSemaphore": ("", "BoundedSemaphore"),
    "multiprocessing.Queue": ("", "Queue"),
    "multiprocessing.Process": ("", "Process"),
    # The standard library's, not the module's: Python syntax as a call (`Queue[int]`, `repr(e)`).
    "operator.getitem": (None, "getitem"),
    "builtins.repr": (None, "repr"),
    # An exit handler of the calling process (spec/process.md#exit-handlers).
    "atexit.register": (None, "register"),
}


def resolve(module, qualified):
    """The function `qualified` names in the module under test, or None if it has none."""
    where = FUNCTIONS.get(qualified)
    if where is None:
        return None
    submodule, attribute = where
    try:
        if submodule is None:  # the standard library's (operator, builtins, atexit)
            owner = importlib.import_module(qualified.rsplit(".", 1)[0])
        elif submodule:
            owner = importlib.import_module(module.__name__ + "." + submodule)
        else:
            owner = module
    except Exception:
        return None
    function = getattr(owner, attribute, None)
    return function if callable(function) else None


def supported(module):
    """The qualified names of the functions the module has (hello's capabilities.ops)."""
    return [name for name in FUNCTIONS if resolve(module, name) is not None]
