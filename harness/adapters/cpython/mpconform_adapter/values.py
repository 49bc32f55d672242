"""The control channel's value codec (spec/values.md), the payload generator, the sentinel, local
functions and classes named by cases."""

import builtins
import ctypes
import importlib
import re
import zlib

DIGEST_THRESHOLD = 1024
PAYLOAD_BLOCK = 65521
_LCG_MULTIPLIER = 6364136223846793005
_LCG_INCREMENT = 1442695040888963407
_MASK64 = (1 << 64) - 1

UNPICKLABLE_MESSAGE = "cannot pickle 'Unpicklable' object (mpconform unpicklable sentinel)"


class Unpicklable(object):
    """A value that refuses to be pickled, as {"t": "unpicklable"} asks."""

    def __reduce_ex__(self, protocol):
        raise TypeError(UNPICKLABLE_MESSAGE)

    def __reduce__(self):
        raise TypeError(UNPICKLABLE_MESSAGE)

    def __eq__(self, other):
        return isinstance(other, Unpicklable)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(Unpicklable)

    def __repr__(self):
        return "Unpicklable()"


class ValueFormatError(ValueError):
    """A value on the control channel that does not follow spec/values.md."""


def local_function():
    """A real closure, as {"t": "local_function"} asks: pickle finds no module-level name for it."""
    return lambda: None


# The module under test, in place of `multiprocessing` in a {"t": "class"} name; set by the
# controller and by every process actor once they have imported it.
module_under_test = None


def class_named(name):
    """The class a {"t": "class"} value names: a builtin, ctypes.NAME or multiprocessing.MODULE.NAME."""
    parts = name.split(".")
    if len(parts) == 1:
        owner = builtins
    elif parts[0] == "ctypes" and len(parts) == 2:
        owner = ctypes
    elif parts[0] == "multiprocessing" and len(parts) == 3 and module_under_test is not None:
        try:
            owner = importlib.import_module(module_under_test.__name__ + "." + parts[1])
        except ImportError:
            owner = None
    else:
        owner = None
    found = getattr(owner, parts[-1], None) if owner is not None else None
    if not isinstance(found, type):
        raise ValueFormatError("class value %r names no class the adapter can give" % (name,))
    return found


# Decimal text of big ints is converted in pieces: int()/str() refuse more than 4300 digits on
# every interpreter we run (CVE-2020-10735 limit), and changing that limit would change the
# process under test.
_CHUNK_DIGITS = 2000
_INT_TEXT = re.compile(r"[+-]?[0-9]+\Z")


def int_from_decimal(text):
    if not isinstance(text, str) or not _INT_TEXT.match(text):
        raise ValueFormatError("int value must be decimal text, got %r" % (text,))
    negative = text.startswith("-")
    digits = text.lstrip("+-")
    magnitude = _digits_to_int(digits)
    return -magnitude if negative else magnitude


def _digits_to_int(digits):
    if len(digits) <= _CHUNK_DIGITS:
        return int(digits)
    low_len = len(digits) // 2
    high = _digits_to_int(digits[:-low_len])
    low = _digits_to_int(digits[-low_len:])
    return high * 10 ** low_len + low


def int_to_decimal(value):
    if value < 0:
        return "-" + _int_to_digits(-value)
    return _int_to_digits(value)


def _int_to_digits(value):
    if value < 10 ** _CHUNK_DIGITS:
        return str(value)
    # bit_length * log10(2) estimates the digit count; split near the middle.
    low_len = max(_CHUNK_DIGITS, int(value.bit_length() * 0.30103) // 2)
    high, low = divmod(value, 10 ** low_len)
    return _int_to_digits(high) + _int_to_digits(low).rjust(low_len, "0")


_payload_blocks = {}


def payload_block(seed):
    """One 65521-byte block of the payload generator (spec/values.md#payload-generator)."""
    seed &= _MASK64
    block = _payload_blocks.get(seed)
    if block is None:
        out = bytearray(PAYLOAD_BLOCK)
        x = seed
        for i in range(PAYLOAD_BLOCK):
            x = (x * _LCG_MULTIPLIER + _LCG_INCREMENT) & _MASK64
            out[i] = x >> 56
        block = bytes(out)
        if len(_payload_blocks) >= 8:
            _payload_blocks.clear()
        _payload_blocks[seed] = block
    return block


def payload(size, seed):
    block = payload_block(seed)
    repeats = size // PAYLOAD_BLOCK + 1
    return (block * repeats)[:size]


def _json_int(node, key):
    value = node.get(key)
    if isinstance(value, bool):
        raise ValueFormatError("%s must be an integer, got %r" % (key, value))
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int_from_decimal(value)
    raise ValueFormatError("%s must be an integer, got %r" % (key, value))


def _json_str(node, tag):
    value = node.get("v")
    if not isinstance(value, str):
        raise ValueFormatError("%s value needs a string 'v', got %r" % (tag, value))
    return value


def _json_list(node, tag):
    value = node.get("v")
    if not isinstance(value, list):
        raise ValueFormatError("%s value needs a list 'v', got %r" % (tag, value))
    return value


def _hex(node, tag):
    text = _json_str(node, tag)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueFormatError("%s value is not hex text: %r" % (tag, text[:80]))


def decode(node, resolve_ref=None):
    """The Python value of a JSON value node. resolve_ref(name) gives the object for a ref."""
    if not isinstance(node, dict):
        raise ValueFormatError("a value must be a JSON object with a 't' tag, got %r" % (node,))
    tag = node.get("t")
    if tag == "none":
        return None
    if tag == "bool":
        value = node.get("v")
        if not isinstance(value, bool):
            raise ValueFormatError("bool value needs true or false, got %r" % (value,))
        return value
    if tag == "int":
        return int_from_decimal(node.get("v"))
    if tag == "float":
        text = _json_str(node, tag)
        try:
            return float(text)
        except ValueError:
            raise ValueFormatError("float value is not a number: %r" % (text,))
    if tag == "str":
        return _json_str(node, tag)
    if tag == "bytes":
        return _hex(node, tag)
    if tag == "bytearray":
        return bytearray(_hex(node, tag))
    if tag in ("list", "tuple", "set", "frozenset"):
        items = [decode(item, resolve_ref) for item in _json_list(node, tag)]
        if tag == "list":
            return items
        if tag == "tuple":
            return tuple(items)
        try:
            return set(items) if tag == "set" else frozenset(items)
        except TypeError as e:
            raise ValueFormatError("%s member is not hashable: %s" % (tag, e))
    if tag == "dict":
        result = {}
        for pair in _json_list(node, tag):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueFormatError("dict item must be a [key, value] pair, got %r" % (pair,))
            key = decode(pair[0], resolve_ref)
            value = decode(pair[1], resolve_ref)
            try:
                result[key] = value
            except TypeError as e:
                raise ValueFormatError("dict key is not hashable: %s" % e)
        return result
    if tag == "payload":
        size = _json_int(node, "size")
        if size < 0:
            raise ValueFormatError("payload size must not be negative, got %d" % size)
        return payload(size, _json_int(node, "seed"))
    if tag == "unpicklable":
        return Unpicklable()
    if tag == "local_function":
        return local_function()
    if tag == "class":
        return class_named(_json_str(node, tag))
    if tag == "ref":
        name = node.get("name")
        if not isinstance(name, str):
            raise ValueFormatError("ref value needs a string 'name', got %r" % (name,))
        if resolve_ref is None:
            raise ValueFormatError("ref %r is not allowed here" % name)
        return resolve_ref(name)
    raise ValueFormatError("unknown value tag %r" % (tag,))


_REPR_LIMIT = 200


def _object_node(value, name_of=None):
    try:
        text = repr(value)
    except Exception as e:
        text = "<repr failed: %s>" % type(e).__name__
    if len(text) > _REPR_LIMIT:
        text = text[:_REPR_LIMIT] + "..."
    node = {"t": "object", "type": type(value).__name__, "repr": text}
    named = name_of(value) if name_of is not None else None
    if named is not None:
        # One of the calling actor's named objects: its name and its spec type.
        node["name"], node["type"] = named
    return node


def encode(value, name_of=None):
    """The JSON value node of a Python value; anything the spec has no form for is an object.

    name_of(obj) gives (name, spec type) for an object the calling actor holds by name, or None.
    """
    return _encode(value, set(), name_of)


def _encode(value, open_containers, name_of=None):
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": int_to_decimal(int(value))}
    if isinstance(value, float):
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, str):
        return {"t": "str", "v": str(value)}
    if isinstance(value, (bytes, bytearray)):
        kind = "bytearray" if isinstance(value, bytearray) else "bytes"
        if len(value) > DIGEST_THRESHOLD:
            return {"t": "digest", "of": kind, "len": len(value), "crc32": zlib.crc32(value) & 0xFFFFFFFF}
        return {"t": kind, "v": bytes(value).hex()}
    if isinstance(value, Unpicklable):
        return {"t": "unpicklable"}
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        # A container that holds itself is cut at the repeat, as an object value.
        if id(value) in open_containers:
            return _object_node(value, name_of)
        open_containers.add(id(value))
        try:
            if isinstance(value, dict):
                items = [[_encode(k, open_containers, name_of), _encode(v, open_containers, name_of)]
                         for k, v in value.items()]
                return {"t": "dict", "v": items}
            if isinstance(value, list):
                tag = "list"
            elif isinstance(value, tuple):
                tag = "tuple"
            elif isinstance(value, frozenset):
                tag = "frozenset"
            else:
                tag = "set"
            return {"t": tag, "v": [_encode(item, open_containers, name_of) for item in value]}
        finally:
            open_containers.discard(id(value))
    return _object_node(value, name_of)
