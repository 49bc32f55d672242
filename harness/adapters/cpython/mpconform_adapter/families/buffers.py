"""bytearray: a plain buffer, for recv_bytes_into."""

from .base import Entry, TypeInfo

# The value is a copy, so that a later recv_bytes_into does not change a reported value.
TYPES = (TypeInfo("bytearray", ("value",), attributes={"value": lambda obj: bytearray(obj)}, checked=False),)

# The names of the spec's Types table this module gives.
DECLARED = ("bytearray",)


def create(ctx, type_name, names, args, kwargs):
    return [(names[0], Entry("bytearray", bytearray(*args, **kwargs)))]


def classes(module, ctx):
    return {}
