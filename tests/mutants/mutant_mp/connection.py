"""multiprocessing.connection unchanged (the adapter finds Connection and wait() here)."""

from multiprocessing.connection import *  # noqa: F401,F403
from multiprocessing.connection import Connection, wait  # noqa: F401
