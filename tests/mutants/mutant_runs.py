"""Runs cases against mutant_mp with one fault (MPCONFORM_MUTANT) and reads the verdicts."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(mpconform, mutant, cases, start_method=None):
    """{case id: its result in the results file} and the runner's output, for `cases` run against
    mutant_mp with the fault `mutant` ("none": the control) under `start_method` (None: the
    default, fork)."""
    env = dict(os.environ, MPCONFORM_MUTANT=mutant, PYTHONPATH=HERE)
    impl = "cpython:%s,module=mutant_mp" % sys.executable
    if start_method is not None:
        impl += ",start=" + start_method
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "results.json")
        out = subprocess.run(
            [mpconform, "--cases", os.path.join(ROOT, "cases"), "--jobs", "2", "--report", report, "--impl", impl,
             "--gtest_filter=" + ":".join("*." + c for c in cases)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600).stdout
        with open(report) as f:
            results = dict((r["case"], r) for r in json.load(f)["results"])
    assert set(results) == set(cases), out
    return results, out
