"""scripts/matrix_table.py: the README's matrix tables from a results file.

One row per implementation with its counts, one row per listed reason (however many cases it
explains), and every failure no known-divergence file lists.
"""
import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "matrix_table.py"


def result(impl, case, verdict, known=None):
    family, name = case.split(".", 1)
    r = {"implementation": impl, "case": case, "verdict": verdict, "reason": "why " + case,
         "file": "%s/%s.yaml" % (family, name)}
    if known:
        r["known_divergence"] = known
    return r


def known(line, reason, spec="queue.md#close"):
    return {"file": "/x/harness/known-divergences/lookalike.yaml", "line": line, "reason": reason, "spec": spec,
            "verdict": "adapter error"}


def run(tmp_path, results):
    doc = {"format": "mpconform-results/1", "run": {"wall_seconds": 12.0, "jobs": 2},
           "implementations": [{"label": "ref", "implementation": {"name": "cpython", "version": "3.12.1",
                                                                  "start_method": "fork", "semantics": "3.12"}},
                               {"label": "lookalike", "implementation": {"name": "cpython", "version": "3.11.2",
                                                                        "module": "lookalike", "semantics": "3.11"}}],
           "results": results}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60)


def test_one_row_per_reason_and_unlisted_failures(tmp_path):
    spawn = "setup fails: cannot start a process"
    out = run(tmp_path, [
        result("ref", "queue.a", "passed"), result("ref", "queue.b", "passed"), result("ref", "pipe.c", "passed"),
        result("lookalike", "queue.a", "expected divergence", known(3, spawn)),
        result("lookalike", "pipe.c", "expected divergence", known(4, spawn, "pipe.md#delivery")),
        result("lookalike", "queue.b", "failed"),
    ])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "| `ref` | cpython 3.12.1, fork, semantics 3.12 | 3 | 0 | 0 | 0 | 0 | 0 |" in lines
    assert "| `lookalike` | cpython 3.11.2, lookalike, semantics 3.11 | 0 | 2 | 0 | 0 | 0 | 1 |" in lines
    rows = [line for line in lines if line.startswith("| " + spawn)]
    assert len(rows) == 1, out.stdout  # one cause, one row, both cases in it
    assert "[`pipe.c`](cases/pipe/c.yaml) (adapter error)" in rows[0]
    assert "[`queue.a`](cases/queue/a.yaml) (adapter error)" in rows[0]
    assert "[queue.md#close](spec/queue.md#close), [pipe.md#delivery](spec/pipe.md#delivery)" in rows[0]
    assert "`lookalike.yaml` (1 reason, 2 cases):" in lines
    assert "- `lookalike.queue.b`: failed: why queue.b" in lines


def test_refuses_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "something-else"}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "not an mpconform-results/1 file" in out.stderr
