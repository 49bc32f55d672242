"""Every message the runner really sends is valid under spec/protocol/to-adapter.schema.json.

The suite's cases are run through the CPython adapter behind recording_adapter.py, which writes each
frame the runner sends; each must validate, and together they must use every message and call form
the cases use (so that a schema too strict for one is caught, and the test is not vacuous).
"""
import glob
import json
import os
import subprocess

import jsonschema
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMA = os.path.join(ROOT, "spec", "protocol", "to-adapter.schema.json")
CPYTHON = os.path.join(ROOT, "harness", "adapters", "cpython", "adapter.py")


def validator():
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def sent(mpconform, tmp_path_factory):
    out = tmp_path_factory.mktemp("sent")
    impl = "cmd:rec=/usr/bin/python3 %s %s /usr/bin/python3 %s" % (os.path.join(HERE, "recording_adapter.py"), out, CPYTHON)
    run = subprocess.run([mpconform, "--jobs", "2", "--impl", impl], capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    messages = []
    for path in glob.glob(os.path.join(str(out), "sent-*.jsonl")):
        with open(path, "rb") as f:
            messages += [json.loads(line) for line in f if line.strip()]
    return messages


def values_in(node):
    if isinstance(node, dict):
        if "t" in node:
            yield node
        for v in node.values():
            yield from values_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from values_in(v)


def test_every_message_the_runner_sends_is_valid(sent):
    v = validator()
    bad = []
    for m in sent:
        errors = list(v.iter_errors(m))
        if errors:
            best = jsonschema.exceptions.best_match(errors)
            bad.append("%s at /%s: %s" % (json.dumps(m)[:200], "/".join(map(str, best.absolute_path)), best.message))
    assert not bad, "%d of %d messages are not valid:\n%s" % (len(bad), len(sent), "\n".join(bad[:10]))


def test_the_recording_covers_every_message_and_form_the_cases_use(sent):
    types = {m["type"] for m in sent}
    assert types == {"setup", "call", "teardown"}
    calls = [m for m in sent if m["type"] == "call"]
    assert any(m["target"] is None and m["method"] == "exit" for m in calls)
    assert any(m["target"] is not None and m["kwargs"] for m in calls)
    # The case language v2 forms (spec/adapter-protocol.md#call-fields-of-the-case-language-v2).
    assert any(m.get("bind") for m in calls)
    assert any(m.get("form") == "set" and "value" in m for m in calls)
    assert any(m["target"] is None and m["method"].startswith("multiprocessing.") for m in calls)
    assert any(m["method"] in ("__enter__", "__exit__") for m in calls)
    assert any(m["target"] is None and m["method"] == "start" for m in calls)
    setups = [m for m in sent if m["type"] == "setup"]
    assert any(a.get("start") == "step" for s in setups for a in s["actors"])
    assert any(o.get("names") for s in setups for o in s["objects"])  # Pipe ends
    assert any(a["kind"] == "thread" for s in setups for a in s["actors"])
    assert any(a["kind"] == "process" for s in setups for a in s["actors"])
    kinds = {value["t"] for value in values_in([m.get("args") for m in sent] + [m.get("kwargs") for m in sent])}
    assert {"int", "str", "bytes", "list", "payload", "ref", "none", "local_function", "class"} <= kinds, kinds
    assert len(setups) > 50


def test_the_schema_refuses_what_an_adapter_could_not_read():
    v = validator()
    good = {"protocol": 1, "type": "call", "seq": 3, "target": "q", "method": "put",
            "args": [{"t": "int", "v": "1"}], "kwargs": {"timeout": {"t": "float", "v": "0.5"}}}
    assert v.is_valid(good)
    assert v.is_valid(dict(good, bind=["a"], bind_types=["Connection"]))
    assert v.is_valid(dict(good, target=None, method="multiprocessing.connection.wait"))
    assert v.is_valid(dict(good, form="set", value={"t": "str", "v": "x"}))
    for broken in (dict(good, seq=0), dict(good, method=None), {k: x for k, x in good.items() if k != "kwargs"},
                   dict(good, args=[{"t": "int", "v": "1.5"}]), dict(good, form="set"), dict(good, form="get", value={"t": "none"}),
                   dict(good, type="cal"), dict(good, protocol=2)):
        assert not v.is_valid(broken), broken
    setup = {"protocol": 1, "type": "setup", "seq": 1, "case": "x.y",
             "objects": [{"names": ["a", "b"], "type": "Pipe", "args": [], "kwargs": {}}],
             "actors": [{"name": "p", "kind": "process", "in": "main", "start": "step", "start_method": "spawn"}]}
    assert v.is_valid(setup)
    assert not v.is_valid(dict(setup, actors=[{"name": "p", "kind": "fiber"}]))
    assert not v.is_valid(dict(setup, objects=[{"type": "Queue", "args": [], "kwargs": {}}]))  # no name
    assert v.is_valid({"protocol": 1, "type": "teardown", "seq": 9})
