"""The types of spec/adapter-protocol.md#types, assembled from one module per family (families/):
constructors, allowed operations, and what the module under test offers."""

from .families import FAMILIES
from .families.base import BadRequest, Entry, UnknownOperation  # noqa: F401 (the adapter's names)

# Type name -> TypeInfo, and type name -> the family module that makes or holds it.
TYPE_INFO = {}
_FAMILY_OF = {}
for _family in FAMILIES:
    for _info in _family.TYPES:
        TYPE_INFO[_info.name] = _info
        _FAMILY_OF[_info.name] = _family
    for _name in _family.DECLARED:
        _FAMILY_OF[_name] = _family

# hello's capabilities.types: the types of the spec's Types table (Pipe, not Connection).
TYPES = tuple(name for family in FAMILIES for name in family.DECLARED)

# Exactly the spec's Operations table.
OPERATIONS = dict((name, info.all_operations()) for name, info in TYPE_INFO.items())


def create(ctx, type_name, names, args, kwargs):
    """The entries (name, Entry) for one object of the setup message."""
    family = _FAMILY_OF.get(type_name)
    if family is None:
        raise BadRequest("objects of type %r cannot be created by setup" % (type_name,))
    return family.create(ctx, type_name, names, args, kwargs)


def operation(entry, method, args, kwargs):
    """A function of no arguments that makes the call `method(*args, **kwargs)` on the entry."""
    type_name, obj = entry
    info = TYPE_INFO.get(type_name)
    if info is None or method not in info.all_operations():
        raise UnknownOperation("%s has no operation %r" % (type_name, method))
    if method == "__exit__":
        if args or kwargs:
            raise BadRequest("%s.__exit__ is called without arguments" % (type_name,))
        return lambda: obj.__exit__(None, None, None)
    if not info.offered(obj, method):
        # Not offered in hello either (supported_operations), e.g. billiard's Process.kill.
        raise UnknownOperation("%s of this module has no %r" % (type_name, info.needed(method)))
    if method in info.attributes:
        if args or kwargs:
            raise BadRequest("%s.%s is an attribute, called without arguments" % (type_name, method))
        read = info.attributes[method]
        return lambda: read(obj)
    if method in info.calls:
        function = info.calls[method]
        return lambda: function(obj, *args, **kwargs)
    if method in info.sequences:
        loop = info.sequences[method][0]
        return lambda: loop(obj, *args, **kwargs)
    # Looked up in the call, so that a method this Python lacks raises its AttributeError there.
    return lambda: getattr(obj, method)(*args, **kwargs)


def set_attribute(entry, attribute, value):
    """A function of no arguments that assigns a settable attribute (call form "set")."""
    type_name, obj = entry
    info = TYPE_INFO.get(type_name)
    if info is None or attribute not in info.settable:
        raise UnknownOperation("%s has no settable attribute %r" % (type_name, attribute))
    return lambda: setattr(obj, attribute, value)


def supported_operations(module, ctx):
    """`Type.method` for every operation the module's classes have (hello's capabilities.ops)."""
    classes = {}
    for family in FAMILIES:
        classes.update(family.classes(module, ctx))
    ops = []
    for type_name, info in TYPE_INFO.items():
        cls = classes.get(type_name)
        for method in info.all_operations():
            # A class we could not find is assumed complete; a missing method (billiard's Process
            # has no kill) is not offered, unless this Python predates it (TypeInfo.added).
            if cls is None or info.offered(cls, method):
                ops.append("%s.%s" % (type_name, method))
    return ops
