"""Entry point of the CPython adapter:

    python adapter.py [--module multiprocessing] [--start-method fork|spawn|forkserver] --endpoint E

Spawned and forkserver children import this file as __mp_main__, so it does nothing on import
but make the package importable.
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

if __name__ == "__main__":
    from mpconform_adapter.controller import main
    sys.exit(main())
