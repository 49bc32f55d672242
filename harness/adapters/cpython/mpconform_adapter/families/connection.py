"""Pipe and its two ends, Connection."""

import importlib

from .base import Entry, TypeInfo, collect, read_attribute, repeat

TYPES = (
    TypeInfo("Connection",
             ("send", "recv", "send_bytes", "recv_bytes", "recv_bytes_into", "poll", "close", "fileno",
              "closed", "readable", "writable", "send_many", "recv_many", "send_bytes_many",
              "recv_bytes_many"),
             attributes=dict((name, read_attribute(name)) for name in ("closed", "readable", "writable")),
             sequences={"send_many": (repeat("send"), "send"), "recv_many": (collect("recv"), "recv"),
                        "send_bytes_many": (repeat("send_bytes"), "send_bytes"),
                        "recv_bytes_many": (collect("recv_bytes"), "recv_bytes")},
             context_manager=True),
)
# The spec's Types table names Pipe, which makes two Connections.
DECLARED = ("Pipe",)


def create(ctx, type_name, names, args, kwargs):
    first, second = ctx.Pipe(*args, **kwargs)
    return [(names[0], Entry("Connection", first)), (names[1], Entry("Connection", second))]


def classes(module, ctx):
    try:
        connection = importlib.import_module(module.__name__ + ".connection")
    except Exception:
        return {}
    return {"Connection": getattr(connection, "Connection", None)}
