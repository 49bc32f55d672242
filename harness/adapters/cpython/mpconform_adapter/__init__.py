"""mpconform adapter for CPython's multiprocessing and drop-in modules (spec/adapter-protocol.md).

All code lives here rather than in adapter.py so that process targets pickle by reference, as
mpconform_adapter.actor.process_main, under every start method.
"""
