"""The spec, the cases and the code say the same thing.

Every case names an existing spec anchor and is named by a sentence of the section that anchor
points to, a sentence of the strength its level says; every case id a spec page names exists;
every normative sentence (a bullet or paragraph with MUST, SHOULD or MAY, or one that states a
CPython-specific behaviour) names at least one case, so that a sentence cannot lose its last case
and a new one cannot arrive without one.
"""
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "spec")
CASES = os.path.join(ROOT, "cases")
# Pages that state behaviours (the others define the format and the protocol).
BEHAVIOUR_PAGES = sorted(p for p in os.listdir(SPEC) if p.endswith(".md") and p not in (
    "case-format.md", "values.md", "adapter-protocol.md", "known-divergences.md", "README.md"))


def anchor(heading):
    # GitHub-style: lower case, punctuation dropped, spaces to dashes.
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def load_cases():
    cases = {}
    for dirpath, _, files in os.walk(CASES):
        for name in files:
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name)) as f:
                    doc = yaml.safe_load(f)
                cases[doc["id"]] = doc
    return cases


def load_pages():
    pages = {}
    for page in BEHAVIOUR_PAGES:
        with open(os.path.join(SPEC, page)) as f:
            text = f.read()
        sections = {}
        current = None
        for line in text.splitlines():
            m = re.match(r"^#{2,4} (.+)$", line)
            if m:
                current = anchor(m.group(1))
                sections[current] = ""
            elif current:
                sections[current] += line + "\n"
        pages[page] = sections
    return pages


CASE_REF = re.compile(r"`([a-z0-9_]+(?:\.[a-z0-9_]+)+)`")


def named_ids(text):
    return set(CASE_REF.findall(text))


def test_there_are_behaviour_pages_and_cases():
    assert BEHAVIOUR_PAGES
    assert len(load_cases()) >= 40


def test_every_case_points_to_an_existing_anchor():
    pages = load_pages()
    for case_id, doc in load_cases().items():
        page, _, section = doc["spec"].partition("#")
        assert page in pages, "%s: spec page %s does not exist" % (case_id, page)
        assert section in pages[page], "%s: %s has no section #%s" % (case_id, page, section)


def test_every_case_is_named_by_its_page():
    pages = load_pages()
    for case_id, doc in load_cases().items():
        page = doc["spec"].partition("#")[0]
        text = "".join(pages[page].values())
        assert case_id in named_ids(text), "%s is named by no sentence of %s" % (case_id, page)


def test_every_case_a_page_names_exists():
    cases = load_cases()
    for page, sections in load_pages().items():
        for section, text in sections.items():
            for case_id in named_ids(text):
                if case_id.split(".")[0] in ("queue", "pipe", "process", "lock", "shm", "manager", "listener", "value"):
                    assert case_id in cases, "%s#%s names %s, which does not exist" % (page, section, case_id)


def test_every_section_with_sentences_names_a_case():
    for page, sections in load_pages().items():
        for section, text in sections.items():
            if re.search(r"\b(MUST|SHOULD|MAY)\b", text):
                assert named_ids(text), "%s#%s states behaviour but names no case" % (page, section)


def statements(text):
    """The bullets and paragraphs of a section's text, each as one string."""
    items, current = [], []
    for line in text.splitlines():
        starts_item = line.startswith("- ") or line.startswith("| ")
        if not line.strip() or starts_item:
            if current:
                items.append(" ".join(current))
            current = [line.strip()] if line.strip() else []
        else:
            current.append(line.strip())
    if current:
        items.append(" ".join(current))
    return items


NORMATIVE = re.compile(r"\b(MUST|SHOULD|MAY)\b|CPython-specific")


def normative_statements():
    for page, sections in load_pages().items():
        for section, text in sections.items():
            for item in statements(text):
                if item.startswith("|") or item.startswith("Not normative"):
                    continue  # tables summarise; "Not normative" paragraphs state nothing
                if NORMATIVE.search(item):
                    yield page, section, item


def test_statement_parser_splits_bullets_and_paragraphs():
    text = "Intro MUST x\n(cases: `a.b`).\n\n- one MUST\n  go on (cases: `c.d`).\n- two SHOULD\n| t | x |\n"
    assert statements(text) == ["Intro MUST x (cases: `a.b`).", "- one MUST go on (cases: `c.d`).",
                                "- two SHOULD", "| t | x |"]


def test_every_normative_sentence_names_a_case():
    missing = ["%s#%s: %s" % (page, section, item[:100])
               for page, section, item in normative_statements() if not named_ids(item)]
    assert not missing, "normative sentences that name no case:\n" + "\n".join(missing)


LEVEL_WORDS = {
    "required": re.compile(r"\bMUST\b"),
    "recommended": re.compile(r"\bSHOULD\b"),
    "cpython-specific": re.compile(r"CPython-specific"),
}


def test_every_case_is_named_by_a_sentence_of_its_section_and_level():
    pages = load_pages()
    problems = []
    for case_id, doc in sorted(load_cases().items()):
        page, _, section = doc["spec"].partition("#")
        naming = [item for item in statements(pages[page][section]) if case_id in named_ids(item)]
        if not naming:
            problems.append("%s is named by no sentence of %s" % (case_id, doc["spec"]))
        elif not any(LEVEL_WORDS[doc["level"]].search(item) for item in naming):
            problems.append("%s is %s, but no sentence of %s that names it says %s" % (
                case_id, doc["level"], doc["spec"], LEVEL_WORDS[doc["level"]].pattern))
    assert not problems, "\n".join(problems)


# Each coverage page and the rows of cpython-behaviours.md it maps, in order.
COVERAGE_PAGES = {
    "coverage-queue-pipe.md": (["Q%02d" % i for i in range(1, 47)] + ["C%02d" % i for i in range(1, 44)] +
                               ["X%02d" % i for i in range(1, 8)]),
    "coverage-shared.md": (["V%02d" % i for i in range(1, 10)] + ["A%02d" % i for i in range(1, 7)] +
                           ["S%02d" % i for i in range(1, 8)]),
    "coverage-sync.md": ["K%02d" % i for i in range(1, 52)],
    "coverage-process.md": ["P%02d" % i for i in range(1, 45)],
}


def coverage_rows(page):
    with open(os.path.join(SPEC, page)) as f:
        text = f.read()
    prefixes = "".join(sorted({row[0] for row in COVERAGE_PAGES[page]}))
    rows = re.findall(r"^\| ([%s]\d\d) \| .*? \| (.*) \|$" % prefixes, text, re.M)
    return text, rows


@pytest.mark.parametrize("page", sorted(COVERAGE_PAGES))
def test_coverage_table_has_every_row_once_with_cases_or_a_reason(page):
    text, rows = coverage_rows(page)
    assert [r for r, _ in rows] == COVERAGE_PAGES[page]
    cases = load_cases()
    for row, cell in rows:
        if cell.startswith("needs: ") or cell.startswith("not applicable: "):
            continue
        ids = named_ids(cell)
        assert ids, "%s names no case" % row
        assert all(i in cases for i in ids), "%s names a case that does not exist: %s" % (row, cell)
    covered = sum(1 for _, cell in rows if not cell.startswith("needs: "))
    claimed = re.search(r"^Covered: (\d+) of (\d+) rows", text, re.M)
    assert claimed and (int(claimed.group(1)), int(claimed.group(2))) == (covered, len(rows))

