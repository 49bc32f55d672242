"""Operations allowed per type are exactly the spec's table; Global is per process."""

import os
import pickle
import re

import multiprocessing
import pytest

from mpconform_adapter import objects
from mpconform_adapter.families import global_variable
from mpconform_adapter.families import process as process_family

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec", "adapter-protocol.md")


def spec_operations():
    """Type -> operation names, read from the Operations table of the spec."""
    with open(SPEC, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Operations"):]
    section = section[:section.index("\n### ")]
    table = {}
    for line in section.splitlines():
        match = re.match(r"\| `(\w+)` \| (.*) \|\s*$", line)
        if not match:
            continue
        # Drop parenthesised parts (signatures, remarks) and keep the `names`.
        cells = re.sub(r"\([^()]*\)", "", match.group(2))
        names = re.findall(r"`(\w+)`", cells)
        base = re.match(r"those of `(\w+)`", cells)
        if base:
            names = list(table[base.group(1)]) + [n for n in names[1:] if n not in table[base.group(1)]]
        table[match.group(1)] = names
    return table


def test_operations_are_exactly_the_spec_table():
    table = spec_operations()
    assert set(table) == {"Queue", "JoinableQueue", "SimpleQueue", "Connection", "bytearray", "Global", "Process",
                          "Context", "Value", "RawValue", "Array", "RawArray",
                          "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event",
                          "Condition", "Barrier"}
    for type_name, names in table.items():
        assert sorted(objects.OPERATIONS[type_name]) == sorted(names), type_name
    assert set(objects.OPERATIONS) == set(table)


def test_capabilities_list_every_operation_the_module_has():
    ctx = multiprocessing.get_context("fork")
    ops = objects.supported_operations(multiprocessing, ctx)
    assert "Queue.get_many" in ops and "Connection.recv_bytes_into" in ops and "Process.kill" in ops
    assert "bytearray.value" in ops and "Global.set" in ops
    has_close = hasattr(multiprocessing.queues.SimpleQueue, "close")
    assert ("SimpleQueue.close" in ops) == has_close
    assert len(ops) == len(set(ops))


def test_capabilities_leave_out_what_billiard_lacks():
    billiard = pytest.importorskip("billiard")
    ops = objects.supported_operations(billiard, billiard.get_context("fork"))
    assert "Process.kill" not in ops
    assert "Process.terminate" in ops and "Queue.put" in ops


def entry_for(type_name, obj):
    return objects.Entry(type_name, obj)


def test_sequence_operations_loop_over_the_object():
    q = multiprocessing.get_context("fork").SimpleQueue()
    entry = entry_for("SimpleQueue", q)
    assert objects.operation(entry, "put_many", [[1, "two", 3.0]], {})() is None
    assert objects.operation(entry, "get_many", [2], {})() == [1, "two"]
    assert q.get() == 3.0
    a, b = multiprocessing.Pipe()
    objects.operation(entry_for("Connection", a), "send_bytes_many", [[b"x", b"", b"yz"]], {})()
    assert objects.operation(entry_for("Connection", b), "recv_bytes_many", [3], {})() == [b"x", b"", b"yz"]
    objects.operation(entry_for("Connection", b), "send_many", [[(1,), None]], {})()
    assert objects.operation(entry_for("Connection", a), "recv_many", [2], {})() == [(1,), None]


def test_an_exception_ends_a_sequence_operation():
    q = multiprocessing.get_context("fork").Queue()
    q.put(1)
    import queue
    with pytest.raises(queue.Empty):
        objects.operation(entry_for("Queue", q), "get_many", [2], {"timeout": 2.0})()


def test_attributes_are_read_without_arguments():
    a, b = multiprocessing.Pipe(duplex=False)
    assert objects.operation(entry_for("Connection", a), "readable", [], {})() is True
    assert objects.operation(entry_for("Connection", a), "writable", [], {})() is False
    with pytest.raises(objects.BadRequest):
        objects.operation(entry_for("Connection", a), "closed", [1], {})
    buf = bytearray(b"ab")
    value = objects.operation(entry_for("bytearray", buf), "value", [], {})()
    assert value == bytearray(b"ab") and type(value) is bytearray and value is not buf


def test_operations_outside_the_table_are_unknown():
    q = multiprocessing.get_context("fork").Queue()
    with pytest.raises(objects.UnknownOperation):
        objects.operation(entry_for("Queue", q), "task_done", [], {})
    with pytest.raises(objects.UnknownOperation):
        objects.operation(entry_for("Queue", q), "__class__", [], {})
    with pytest.raises(objects.UnknownOperation):
        objects.operation(entry_for("bytearray", bytearray()), "append", [1], {})


def test_create_makes_two_connections_for_a_pipe_and_refuses_process():
    ctx = multiprocessing.get_context("fork")
    entries = objects.create(ctx, "Pipe", ["r", "w"], [], {"duplex": False})
    assert [(n, e.type_name) for n, e in entries] == [("r", "Connection"), ("w", "Connection")]
    assert entries[0][1].obj.readable and not entries[0][1].obj.writable
    with pytest.raises(objects.BadRequest):
        objects.create(ctx, "Process", ["p"], [], {})
    (name, entry), = objects.create(ctx, "Queue", ["q"], [], {"maxsize": 3})
    assert entry.obj._maxsize == 3


def test_global_is_a_variable_of_each_process():
    g = global_variable.Global([1], key="test-global")
    assert g.get() == [1]
    g.set(2)
    data = pickle.dumps(g)
    g.set(3)
    # Unpickled where the variable exists (a forked child, or the same process): keeps its value.
    assert pickle.loads(data).get() == 3
    # Unpickled where it does not (a spawned child): starts with the value as of pickling.
    del global_variable._global_values["test-global"]
    assert pickle.loads(data).get() == 2


def test_global_set_in_a_child_is_not_seen_by_the_parent():
    for method in ("fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        g = global_variable.Global("parent", key="test-global-" + method)
        a, b = ctx.Pipe()
        p = ctx.Process(target=_report_and_set, args=(g, a))
        p.start()
        assert b.recv() == "parent", method
        p.join(30)
        assert p.exitcode == 0
        assert g.get() == "parent"


def _report_and_set(g, conn):
    conn.send(g.get())
    g.set("child")


def test_every_family_module_is_listed_and_gives_its_types():
    from mpconform_adapter import families
    here = os.path.dirname(families.__file__)
    modules = sorted(f[:-3] for f in os.listdir(here) if f.endswith(".py") and f not in ("__init__.py", "base.py"))
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in families.FAMILIES) == modules
    for family in families.FAMILIES:
        assert family.DECLARED and family.TYPES, family.__name__
        for name in family.DECLARED:
            assert name in objects.TYPES


def test_a_raw_value_lacks_get_lock_when_the_call_is_made_not_before():
    entry = objects.Entry("RawValue", multiprocessing.RawValue("i", 1))
    call = objects.operation(entry, "get_lock", [], {})  # preparing the call does not raise
    with pytest.raises(AttributeError, match="'c_int' object has no attribute 'get_lock'"):
        call()


def test_array_syntax_operations_are_pythons():
    entry = objects.Entry("Array", multiprocessing.get_context("fork").Array("i", range(5)))
    objects.operation(entry, "setslice", [1, 3, [7, 8]], {})()
    objects.operation(entry, "setitem", [-1, 9], {})()
    assert objects.operation(entry, "getslice", [], {})() == [0, 7, 8, 3, 9]
    assert objects.operation(entry, "getitem", [2], {})() == 8
    assert objects.operation(entry, "len", [], {})() == 5


def test_increment_many_adds_count():
    entry = objects.Entry("Value", multiprocessing.get_context("fork").Value("i", 3))
    objects.operation(entry, "increment_many", [5], {})()
    objects.operation(entry, "increment_many", [2], {"locked": False})()
    assert entry.obj.value == 10


def test_a_process_target_given_as_a_connection_sends_the_childs_pid():
    made = []
    r, w = multiprocessing.Pipe(duplex=False)
    make = process_family.construction(multiprocessing.get_context("fork").Process, made, [], {"target": w})
    p = make()
    assert made == [p]
    p.start()
    p.join(10)
    assert p.exitcode == 0
    assert r.poll(5) and r.recv() == p.pid
    p.close()
    r.close()
    w.close()


def test_a_local_function_target_is_passed_as_it_is():
    target = lambda: None  # noqa: E731 (a closure, as {$local_function: null})
    make = process_family.construction(multiprocessing.Process, [], [], {"target": target})
    assert make()._target is target


def test_a_target_or_exit_handler_of_another_kind_is_a_bad_request():
    with pytest.raises(objects.BadRequest):
        process_family.construction(multiprocessing.Process, [], [], {"target": 5})
    with pytest.raises(objects.BadRequest):
        process_family.exit_handler_registration(lambda f: f, [5], {})
    with pytest.raises(objects.BadRequest):
        process_family.exit_handler_registration(lambda f: f, [], {})


def test_an_exit_handler_sends_this_processs_pid():
    registered = []
    r, w = multiprocessing.Pipe(duplex=False)
    process_family.exit_handler_registration(registered.append, [w], {})()
    assert len(registered) == 1
    registered[0]()
    assert r.recv() == os.getpid()
    r.close()
    w.close()
