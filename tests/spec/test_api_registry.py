"""spec/api.yaml, the API registry, says what adapter-protocol.md's tables say.

The runner reads the registry (spec/case-format.md#api-registry); its own tests check the cases and
both adapters' hello against it. This checks the registry's form and that the protocol page's
Types and Operations tables name the same types and operations, so that the two cannot drift.
"""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "spec")

TYPE_KEYS = {"constructor", "makes", "made_by", "extends", "methods", "attributes"}


def registry():
    with open(os.path.join(SPEC, "api.yaml")) as f:
        return yaml.safe_load(f)


def operations(api, name):
    t = api["types"][name]
    ops = set(t.get("methods", {})) | set(t.get("attributes", {}))
    if "extends" in t:
        ops |= operations(api, t["extends"])
    return ops


def protocol_table(heading):
    """The rows of the first table after `## heading` in adapter-protocol.md: {type: cell text}."""
    with open(os.path.join(SPEC, "adapter-protocol.md")) as f:
        text = f.read()
    section = text.split("\n## " + heading + "\n", 1)[1]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([A-Za-z]+)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
        elif rows and not line.startswith("|"):
            break
    return rows


def test_every_type_has_known_keys_and_a_way_to_be_made():
    api = registry()
    assert api["version"] == 1
    for name, t in api["types"].items():
        assert set(t) <= TYPE_KEYS, "%s: unknown keys %s" % (name, set(t) - TYPE_KEYS)
        assert "constructor" in t or "made_by" in t, name
        for made in t.get("makes", []):
            assert made in api["types"], "%s makes %s, not a type" % (name, made)
        for op, spec in t.get("methods", {}).items():
            assert set(spec) <= {"params", "raises", "loop"}, "%s.%s" % (name, op)
            assert isinstance(spec.get("raises"), list), "%s.%s lists no raises" % (name, op)
            if "loop" in spec:
                assert spec["loop"] in operations(api, name), "%s.%s loops over a missing method" % (name, op)


def test_the_protocol_pages_types_are_the_registrys():
    api = registry()
    assert set(protocol_table("Types")) == set(api["types"]) - {"Connection"}


def test_the_protocol_pages_operations_are_the_registrys():
    api = registry()
    rows = protocol_table("Operations")
    assert rows, "no Operations table found in adapter-protocol.md"
    for name, cell in rows.items():
        cell = re.sub(r"` \([^)]*\)", "`", cell)  # prose in parentheses after an item
        listed = {re.match(r"[a-z_]+", item).group(0) for item in re.findall(r"`([a-z_]+[^`]*)`", cell)}
        base = re.match(r"those of `([A-Za-z]+)`", cell)
        if base:
            listed |= operations(api, base.group(1))
        assert listed == operations(api, name), "%s: the page lists %s, spec/api.yaml %s" % (
            name, sorted(listed), sorted(operations(api, name)))
