import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ADAPTER_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "harness", "adapters", "cpython"))
for path in (HERE, ADAPTER_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)
