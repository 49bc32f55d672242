"""The value codec of spec/values.md, both ways, the payload generator and the sentinel."""

import math
import multiprocessing.reduction
import pickle
import zlib

import pytest

from mpconform_adapter import values
from mpconform_adapter.values import ValueFormatError, decode, encode


def same(a, b):
    """Equal with the same types all the way down (True is not 1, a tuple is not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


ROUND_TRIP = [
    None, True, False, 0, -1, 255, 2 ** 64, -(2 ** 200) - 1,
    0.1, -0.0, 0.0, float("nan"), float("inf"), float("-inf"), 1e300, 5e-324,
    "", "text", "caf\u00e9 \U0001F600", "\x00",
    b"", b"\x00\xff\x10", bytearray(b"ab"), bytearray(),
    [], [1, [2, "x"]], (), (1,), ((1, 2), [3]),
    {1, 2}, set(), frozenset({"a"}), frozenset(),
    {"a": 1}, {1: "one", (2,): "two", None: [b"x"]}, {},
    [True, 1, 1.0, "1", b"1"],
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=[repr(v)[:30] for v in ROUND_TRIP])
def test_decode_of_encode_gives_back_the_same_value_and_type(value):
    assert same(decode(encode(value)), value)


def test_ints_of_any_size_are_decimal_text_both_ways():
    big = 7 * 10 ** 12000 + 3  # far past the 4300-digit limit of int() and str()
    node = encode(big)
    assert node["t"] == "int"
    assert node["v"] == "7" + "0" * 11999 + "3"
    assert decode({"t": "int", "v": "-" + node["v"]}) == -big
    assert encode(-(10 ** 4400))["v"] == "-1" + "0" * 4400
    assert decode(encode(-(2 ** 30000))) == -(2 ** 30000)
    assert encode(123456789012345678901234567890) == {"t": "int", "v": "123456789012345678901234567890"}


@pytest.mark.parametrize("text", ["1.5", "", "0x1f", " 1", "1_000", "--1", "\u0661"])
def test_int_text_that_is_not_decimal_is_refused(text):
    with pytest.raises(ValueFormatError):
        decode({"t": "int", "v": text})


def test_floats_are_written_as_python_repr():
    assert encode(0.1) == {"t": "float", "v": "0.1"}
    assert encode(-0.0) == {"t": "float", "v": "-0.0"}
    assert encode(float("nan")) == {"t": "float", "v": "nan"}
    assert encode(float("inf")) == {"t": "float", "v": "inf"}
    assert encode(float("-inf")) == {"t": "float", "v": "-inf"}
    assert encode(1e300) == {"t": "float", "v": "1e+300"}
    negative_zero = decode({"t": "float", "v": "-0.0"})
    assert negative_zero == 0.0 and math.copysign(1, negative_zero) == -1
    assert math.isnan(decode({"t": "float", "v": "nan"}))
    assert decode({"t": "float", "v": "-inf"}) == float("-inf")


def test_bool_is_not_int_and_int_is_not_float():
    assert encode(True) == {"t": "bool", "v": True}
    assert encode(1) == {"t": "int", "v": "1"}
    assert encode(1.0) == {"t": "float", "v": "1.0"}
    with pytest.raises(ValueFormatError):
        decode({"t": "bool", "v": 1})


def test_bytes_and_bytearray_are_lower_case_hex_and_keep_their_kind():
    assert encode(b"\x00\xffAb") == {"t": "bytes", "v": "00ff4162"}
    assert encode(bytearray(b"\xab")) == {"t": "bytearray", "v": "ab"}
    assert decode({"t": "bytes", "v": "00FF"}) == b"\x00\xff"
    assert type(decode({"t": "bytearray", "v": "00"})) is bytearray
    with pytest.raises(ValueFormatError):
        decode({"t": "bytes", "v": "0g"})


def test_containers_have_their_own_tags():
    assert encode((1, "a")) == {"t": "tuple", "v": [{"t": "int", "v": "1"}, {"t": "str", "v": "a"}]}
    assert encode([None]) == {"t": "list", "v": [{"t": "none"}]}
    assert encode({5}) == {"t": "set", "v": [{"t": "int", "v": "5"}]}
    assert encode(frozenset([5])) == {"t": "frozenset", "v": [{"t": "int", "v": "5"}]}
    assert encode({(1,): b"x"}) == {"t": "dict", "v": [[{"t": "tuple", "v": [{"t": "int", "v": "1"}]},
                                                         {"t": "bytes", "v": "78"}]]}
    assert decode({"t": "dict", "v": [[{"t": "int", "v": "2"}, {"t": "str", "v": "two"}]]}) == {2: "two"}


def test_byte_strings_longer_than_1024_bytes_are_reported_as_digests():
    assert encode(b"x" * 1024) == {"t": "bytes", "v": "78" * 1024}
    data = b"123456789" * 114  # 1026 bytes
    assert encode(data) == {"t": "digest", "of": "bytes", "len": 1026, "crc32": zlib.crc32(data)}
    assert encode(bytearray(2000)) == {"t": "digest", "of": "bytearray", "len": 2000,
                                       "crc32": zlib.crc32(bytes(2000))}
    # zlib.crc32 is the ISO-HDLC CRC-32 the spec names: its check value.
    assert zlib.crc32(b"123456789") == 0xCBF43926
    # Inside containers and exception args too.
    assert encode([b"y" * 1025])["v"][0]["t"] == "digest"


def test_payload_generator_makes_the_spec_bytes():
    # Seed 0: x1 = 1442695040888963407, whose top byte is 0x14.
    assert values.payload(16, 0) == bytes.fromhex("141a9a66628f145b7b72a25d0c18e932")
    assert values.payload(16, 1) == bytes.fromhex("6c82a562cb808d10d632be89c8513ebf")
    assert values.payload(0, 5) == b""
    assert values.payload(3, 0) == bytes.fromhex("141a9a")


def test_payload_is_one_prime_block_repeated_and_cut():
    size = 2 * 65521 + 10
    data = values.payload(size, 42)
    assert len(data) == size
    assert data[65521:2 * 65521] == data[:65521]
    assert data[2 * 65521:] == data[:10]
    assert data[:65521] != data[1:65522]  # not a shorter period by accident


def test_payload_matches_an_independent_lcg():
    x = 99
    expected = bytearray()
    for _ in range(65521):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
        expected.append(x // 2 ** 56)
    assert values.payload(65521, 99) == bytes(expected)
    node = {"t": "payload", "size": 70000, "seed": 99}
    assert decode(node) == (bytes(expected) * 2)[:70000]


def test_payload_with_a_negative_size_is_refused():
    with pytest.raises(ValueFormatError):
        decode({"t": "payload", "size": -1, "seed": 0})


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_unpicklable_sentinel_refuses_every_pickle_protocol(protocol):
    with pytest.raises(TypeError, match="unpicklable"):
        pickle.dumps(values.Unpicklable(), protocol)


def test_unpicklable_sentinel_refuses_multiprocessing_pickler_and_round_trips_as_a_tag():
    with pytest.raises(TypeError) as info:
        multiprocessing.reduction.ForkingPickler.dumps([1, values.Unpicklable()])
    assert str(info.value) == "cannot pickle 'Unpicklable' object (mpconform unpicklable sentinel)"
    assert encode(values.Unpicklable()) == {"t": "unpicklable"}
    assert isinstance(decode({"t": "unpicklable"}), values.Unpicklable)


def test_local_function_is_a_real_closure_that_pickle_refuses():
    function = decode({"t": "local_function"})
    assert function.__qualname__ == "local_function.<locals>.<lambda>"
    with pytest.raises((AttributeError, pickle.PicklingError)):
        multiprocessing.reduction.ForkingPickler.dumps(function)


def test_classes_are_named_from_builtins_ctypes_and_the_module_under_test(monkeypatch):
    import ctypes
    import multiprocessing.queues
    monkeypatch.setattr(values, "module_under_test", multiprocessing)
    assert decode({"t": "class", "v": "int"}) is int
    assert decode({"t": "class", "v": "ctypes.c_double"}) is ctypes.c_double
    assert decode({"t": "class", "v": "multiprocessing.queues.SimpleQueue"}) is multiprocessing.queues.SimpleQueue
    for name in ("os.system", "ctypes.sizeof", "multiprocessing.queues.nope", "len"):
        with pytest.raises(ValueFormatError):
            decode({"t": "class", "v": name})


def test_refs_are_resolved_by_the_caller_and_refused_without_a_resolver():
    marker = object()
    assert decode({"t": "list", "v": [{"t": "ref", "name": "q"}]}, {"q": marker}.__getitem__) == [marker]
    with pytest.raises(ValueFormatError):
        decode({"t": "ref", "name": "q"})


@pytest.mark.parametrize("node", [
    5, "x", None, {}, {"t": "nosuch"}, {"t": "str"}, {"t": "list", "v": "ab"},
    {"t": "set", "v": [{"t": "bytearray", "v": "00"}]},
    {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]},
    {"t": "dict", "v": [[{"t": "none"}]]},
    {"t": "digest", "of": "bytes", "len": 1, "crc32": 0},
    {"t": "object", "type": "X", "repr": "X()"},
    {"t": "float", "v": "fast"},
])
def test_malformed_value_nodes_are_refused(node):
    with pytest.raises(ValueFormatError):
        decode(node)


def test_other_values_are_objects_with_their_type_name():
    class Thing(object):
        def __repr__(self):
            return "Thing!"
    assert encode(Thing()) == {"t": "object", "type": "Thing", "repr": "Thing!"}
    assert encode(memoryview(b"ab"))["t"] == "object"
    huge = encode(type("Huge", (object,), {"__repr__": lambda self: "h" * 10000})())
    assert huge["type"] == "Huge" and 200 <= len(huge["repr"]) < 300


def test_a_container_holding_itself_is_cut_instead_of_recursing():
    loop = [1]
    loop.append(loop)
    node = encode(loop)
    assert node["t"] == "list"
    assert node["v"][1]["t"] == "object"
