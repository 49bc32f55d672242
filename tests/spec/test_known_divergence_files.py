"""The shipped known-divergence files and the matrix file (spec/known-divergences.md) say what
exists: every listed case is a case, every spec anchor a section, every reason says something,
and every known file the matrix names is shipped. The runner checks a file when it runs it; this
checks all of them, also those of implementations this machine lacks."""
import os

import yaml

from test_spec_consistency import ROOT, load_cases, load_pages, anchor

KNOWN = os.path.join(ROOT, "harness", "known-divergences")
MATRIX = os.path.join(ROOT, "harness", "matrix.yaml")
ENTRY_KEYS = {"case", "reason", "spec", "start_methods", "versions"}


def known_files():
    return sorted(os.path.join(KNOWN, f) for f in os.listdir(KNOWN) if f.endswith(".yaml"))


def all_sections():
    """Every page's section anchors, format pages included (a divergence may break any sentence)."""
    sections = dict((page, set(s)) for page, s in load_pages().items())
    spec = os.path.join(ROOT, "spec")
    for page in os.listdir(spec):
        if page.endswith(".md") and page not in sections:
            with open(os.path.join(spec, page)) as f:
                sections[page] = set(anchor(line.lstrip("#")) for line in f if line.startswith("#"))
    return sections


def test_every_listed_case_exists_once_with_a_reason_and_an_existing_anchor():
    cases = load_cases()
    sections = all_sections()
    assert known_files()
    for path in known_files():
        with open(path) as f:
            doc = yaml.safe_load(f)
        name = os.path.basename(path)
        assert set(doc) == {"implementation", "divergences"}, name
        assert isinstance(doc["implementation"], str) and doc["implementation"].strip(), name
        seen = set()
        for entry in doc["divergences"]:
            assert set(entry) <= ENTRY_KEYS and {"case", "reason", "spec"} <= set(entry), (name, entry)
            assert entry["case"] in cases, "%s lists %s, which is no case" % (name, entry["case"])
            # Once, or once per start method.
            for method in entry.get("start_methods", [None]):
                assert (entry["case"], method) not in seen and (entry["case"], None) not in seen, (
                    "%s lists %s twice" % (name, entry["case"]))
                seen.add((entry["case"], method))
            # A reason says what was observed, not only that it failed.
            assert len(entry["reason"].split()) >= 6, "%s: the reason for %s says too little" % (name, entry["case"])
            page, _, section = entry["spec"].partition("#")
            assert section in sections.get(page, ()), "%s: %s has no section %s" % (name, entry["case"], entry["spec"])


def test_every_known_file_the_matrix_names_is_shipped_and_every_shipped_one_is_used():
    with open(MATRIX) as f:
        matrix = yaml.safe_load(f)
    named = set()
    for entry in matrix["implementations"]:
        if "known" in entry:
            path = os.path.normpath(os.path.join(os.path.dirname(MATRIX), entry["known"]))
            assert os.path.isfile(path), "%s names %s, which is not shipped" % (entry["name"], entry["known"])
            named.add(path)
    assert named == set(known_files())
