"""Exceptions are reported by portable names (spec/adapter-protocol.md#exceptions)."""

import multiprocessing
import pickle
import queue
import threading

import pytest

from mpconform_adapter.exception_names import ExceptionNames

NAMES = ExceptionNames(multiprocessing)


def raised_by(call):
    try:
        call()
    except BaseException as e:
        return e
    raise AssertionError("nothing raised")


@pytest.mark.parametrize("cls, name, bases", [
    (queue.Empty, "queue.Empty", ["Exception"]),
    (queue.Full, "queue.Full", ["Exception"]),
    (ValueError, "ValueError", ["Exception"]),
    (EOFError, "EOFError", ["Exception"]),
    (BrokenPipeError, "BrokenPipeError", ["ConnectionError", "OSError", "Exception"]),
    (TimeoutError, "TimeoutError", ["OSError", "Exception"]),
    (multiprocessing.TimeoutError, "multiprocessing.TimeoutError", ["multiprocessing.ProcessError", "Exception"]),
    (multiprocessing.BufferTooShort, "multiprocessing.BufferTooShort", ["multiprocessing.ProcessError", "Exception"]),
    (multiprocessing.AuthenticationError, "multiprocessing.AuthenticationError",
     ["multiprocessing.ProcessError", "Exception"]),
    (multiprocessing.ProcessError, "multiprocessing.ProcessError", ["Exception"]),
    (threading.BrokenBarrierError, "threading.BrokenBarrierError", ["RuntimeError", "Exception"]),
    # PickleError is not portable: left out of the bases.
    (pickle.PicklingError, "pickle.PicklingError", ["Exception"]),
    (KeyboardInterrupt, "KeyboardInterrupt", ["BaseException"]),
    (SystemExit, "SystemExit", ["BaseException"]),
])
def test_portable_classes_have_their_spec_names_and_bases(cls, name, bases):
    assert NAMES.type_name(cls) == name
    assert NAMES.base_names(cls) == bases


class LocalError(KeyError):
    pass


def test_other_classes_have_their_qualified_name_and_builtin_bases():
    assert NAMES.type_name(LocalError) == "test_exception_names.LocalError"
    assert NAMES.base_names(LocalError) == ["KeyError", "LookupError", "Exception"]


def test_describe_reports_message_and_encoded_args():
    described = NAMES.describe(BrokenPipeError(32, "Broken pipe"))
    assert described == {"type": "BrokenPipeError", "bases": ["ConnectionError", "OSError", "Exception"],
                         "message": "[Errno 32] Broken pipe",
                         "args": [{"t": "int", "v": "32"}, {"t": "str", "v": "Broken pipe"}]}
    odd = NAMES.describe(ValueError(object, b"z" * 2000))
    assert odd["args"][0]["t"] == "object"
    assert odd["args"][1]["t"] == "digest"


def test_a_real_empty_queue_get_is_queue_empty():
    q = multiprocessing.get_context("fork").Queue()
    described = NAMES.describe(raised_by(lambda: q.get(timeout=0.01)))
    assert (described["type"], described["bases"], described["args"]) == ("queue.Empty", ["Exception"], [])


def test_a_real_buffer_too_short_carries_the_whole_message():
    reader, writer = multiprocessing.Pipe()
    writer.send_bytes(b"0123456789")
    described = NAMES.describe(raised_by(lambda: reader.recv_bytes_into(bytearray(4))))
    assert described["type"] == "multiprocessing.BufferTooShort"
    assert described["args"] == [{"t": "bytes", "v": b"0123456789".hex()}]


def test_billiard_exceptions_map_to_the_portable_names():
    billiard = pytest.importorskip("billiard")
    import billiard.queues
    names = ExceptionNames(billiard)
    q = billiard.get_context("fork").Queue()
    empty = raised_by(lambda: q.get(timeout=0.01))
    assert names.type_name(type(empty)) == "queue.Empty"
    assert names.type_name(type(raised_by(q.get_nowait))) == "queue.Empty"
    full = billiard.get_context("fork").Queue(1)
    full.put(1)
    assert names.type_name(type(raised_by(lambda: full.put(2, timeout=0.01)))) == "queue.Full"
    for attribute in ("BufferTooShort", "AuthenticationError", "TimeoutError", "ProcessError"):
        assert names.type_name(getattr(billiard, attribute)) == "multiprocessing." + attribute


def test_multiprocess_exceptions_map_to_the_portable_names():
    multiprocess = pytest.importorskip("multiprocess")
    names = ExceptionNames(multiprocess)
    assert multiprocess.BufferTooShort is not multiprocessing.BufferTooShort
    assert names.type_name(multiprocess.BufferTooShort) == "multiprocessing.BufferTooShort"
    assert names.base_names(multiprocess.BufferTooShort) == ["multiprocessing.ProcessError", "Exception"]
    assert names.type_name(multiprocess.TimeoutError) == "multiprocessing.TimeoutError"
