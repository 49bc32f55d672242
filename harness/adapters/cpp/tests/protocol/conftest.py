import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_RUNNER_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "..", "tests", "python"))
if FAKE_RUNNER_DIR not in sys.path:
    sys.path.insert(0, FAKE_RUNNER_DIR)
