"""`mpconform page` (spec/results.md#compatibility-page): the HTML page, rendered in Debian's headless
Chromium and read back through chromedriver's WebDriver HTTP interface (no Python package needed),
and its Markdown form. The rows, columns, cells, links and anchors are checked as the browser
built them, on a laptop-sized window and on a 375 px phone; text from adapters and case files is
escaped, never markup."""
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
import pytest

from results_file import read_document
from scripted_cases import case_tree, sleep_case

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_adapter.py")
SCHEMA = json.load(open(os.path.join(ROOT, "spec", "results.schema.json")))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

SCRIPT = "<script>window.pwned = 1</script>"
IMG = '<img src=x onerror="window.pwned = 2">'

VERDICTS = ["passed", "failed", "differs (cpython-specific)", "skipped", "crashed", "timed out", "protocol error",
            "adapter error", "leaked", "malformed case", "failed (recommended)", "expected divergence", "newly passing"]


# ---- a hand-made results file: every verdict, every level, and hostile text ----

def step(n, call, observed, problem="", elapsed=0.001):
    return {"step": n, "line": 7 + n, "actor": "main", "call": call, "expected": "returns None", "observed": observed,
            "outcome": {"kind": "returned", "value": {"t": "none"}}, "elapsed": elapsed, "problem": problem}


# A case id with no place to break a line: it must not widen the page on a phone.
ADVICE = "queue.advice_that_every_implementation_of_a_queue_is_given_in_one_long_word"

# case id -> (file, title, level, tags, {implementation: verdict})
CASES = {
    "queue.fifo": ("queue/fifo.yaml", "items come out in order", "required", ["fifo", "state"],
                   {"cpython": "passed", "cpp": "failed", "evil": "crashed"}),
    "queue.get_timeout": ("queue/get_timeout.yaml", "get(timeout=T) waits T", "required", ["timeout", "blocking"],
                          {"cpython": "passed", "cpp": "timed out", "evil": "protocol error"}),
    "queue.quirk": ("queue/quirk.yaml", "a CPython quirk", "cpython-specific", ["state"],
                    {"cpython": "passed", "cpp": "differs (cpython-specific)", "evil": "skipped"}),
    ADVICE: ("queue/advice.yaml", "what an implementation should do", "recommended", ["timeout"],
                     {"cpython": "passed", "cpp": "failed (recommended)", "evil": "leaked"}),
    "pipe.duplex": ("pipe/duplex.yaml", "both ends send and receive", "required", ["duplex"],
                    {"cpython": "passed", "cpp": "adapter error", "evil": "expected divergence"}),
    "pipe.order": ("pipe/order.yaml", "messages in order", "required", ["a|b"],
                   {"cpython": "newly passing", "cpp": "malformed case"}),  # evil: not run
    "pipe.odd_name": ("pipe/odd name#1.yaml", 'a <b>bold</b> & "quoted" | title', "required", [],
                      {"cpython": "passed", "cpp": "passed", "evil": "passed"}),
}


def hand_made_document(cases_dir):
    results = []
    for case_id, (file, title, level, tags, verdicts) in CASES.items():
        for impl, verdict in verdicts.items():
            trace = [step(1, "sleep(0)", "returned None in 0.001 s")]
            reason = "" if verdict == "passed" else "the reason for %s" % verdict
            if verdict == "failed":
                trace.append(step(2, "q.get()", "returned 5 in 0.002 s", problem="expected None, got 5"))
                reason = "step 2: expected None, got 5"
            if verdict == "protocol error":
                reason = "'main' sent " + SCRIPT
            results.append({
                "implementation": impl, "case": case_id, "file": file, "line": 9 if verdict == "failed" else 1,
                "title": title, "level": level, "tags": tags, "spec": case_id.split(".")[0] + ".md#some-section",
                "verdict": verdict, "reason": reason, "seconds": 0.25,
                "rerun": "mpconform --jobs 1 --gtest_filter='%s.%s'" % (impl, case_id),
                "trace": [] if verdict == "skipped" else trace,
                "details": "runner output for " + SCRIPT if verdict == "failed" else ""})
    hello = lambda name, version, start: {"name": name, "version": version, "semantics": "3.11", "family": name,
                                          "start_method": start}
    return {
        "format": "mpconform-results/1",
        "run": {"command": ["mpconform", "--report", "r.json"], "started": "2026-12-02T10:00:00Z", "wall_seconds": 12.5,
                "cases": {"dir": str(cases_dir), "git": None}, "runner_version": "0.1.0", "jobs": 2,
                "isolation": "isolation: private /dev/shm and /tmp per case (mount namespace)",
                "limits": {"max_case_bytes": 1, "max_generated_items": 1, "max_payload_bytes": 1, "max_case_nesting": 1,
                           "max_case_timeout": 1, "max_frame_bytes": 1, "max_message_nesting": 1},
                "host": {"name": "host", "system": "Linux", "release": "6.1", "machine": "x86_64"}},
        "implementations": [
            {"label": "cpython", "spec": "cpython", "implementation": hello("cpython", "3.11.2", "fork")},
            {"label": "cpp", "spec": "cpp", "implementation": hello("mpc", "0.1.0", "fork")},
            {"label": "evil", "spec": "cmd:evil=./evil", "implementation": hello(IMG, SCRIPT, SCRIPT)},
        ],
        "results": results,
        "malformed": [{"file": str(cases_dir / "pipe" / "broken.yaml"), "line": 3,
                       "error": str(cases_dir / "pipe" / "broken.yaml") + ":3:1: " + SCRIPT}],
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory, mpconform):
    """The hand-made results file, its case files, and the page and tables made from it in out/."""
    root = tmp_path_factory.mktemp("page")
    cases = root / "cases"
    for file, *_ in CASES.values():
        (cases / os.path.dirname(file)).mkdir(parents=True, exist_ok=True)
        (cases / file).write_text("id: x\n")
    spec = root / "spec"
    spec.mkdir()
    for page in ("queue.md", "pipe.md"):
        (spec / page).write_text("## Some section\n")
    doc = hand_made_document(cases)
    jsonschema.validate(doc, SCHEMA)  # it is a results file the runner could have written
    (root / "r.json").write_text(json.dumps(doc))
    (root / "out").mkdir()
    proc = subprocess.run([mpconform, "page", str(root / "r.json"), "--html", str(root / "out" / "page.html"),
                           "--markdown", str(root / "out" / "table.md")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


# ---- without a browser ----

def test_the_html_escapes_what_adapters_and_cases_say(made):
    html = (made / "out" / "page.html").read_text()
    assert "<script" not in html and "<img" not in html, "markup from a results file reached the page"
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;" in html
    assert "a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; | title" in html
    assert "http:" not in html and "https:" not in html, "the page is self-contained"


def test_the_markdown_has_one_table_per_primitive(made):
    md = (made / "out" / "table.md").read_text()
    assert "<script" not in md and "<img" not in md
    tables = {}
    current = None
    for line in md.splitlines():
        if line.startswith("### "):
            current = line[4:].split(" ")[0]
            tables[current] = []
        elif current and line.startswith("|"):
            tables[current].append(line)
    assert list(tables) == ["pipe", "queue"], md
    for name, lines in tables.items():
        header, rule, *rows = lines
        assert header == "| case | level | tags | cpython | cpp | evil |", header
        assert len(rows) == sum(1 for c in CASES if c.startswith(name + ".")), lines
        for row in lines:  # escaped pipes (a tag "a|b") do not make columns
            cells = row.replace("\\|", "").split("|")
            assert len(cells) == 8, row
    fifo = [r for r in tables["queue"] if r.startswith("| [fifo]")][0]
    assert fifo == "| [fifo](../cases/queue/fifo.yaml) | required | fifo, state | ✓ | ✗ | ☠ |", fifo
    order = [r for r in tables["pipe"] if r.startswith("| [order]")][0]
    assert order == "| [order](../cases/pipe/order.yaml) | required | a\\|b | ★ | ⊘ | · |", order
    odd = [r for r in tables["pipe"] if r.startswith("| [odd")][0]
    assert "(../cases/pipe/odd%20name%231.yaml)" in odd, odd
    # The legend names every verdict with its symbol.
    legend = [l for l in md.splitlines() if l.startswith("Legend:")][0]
    for v in VERDICTS:
        assert v in legend, (v, legend)


def test_links_follow_the_cases_option_and_the_output_directory(made, mpconform, tmp_path):
    # To stdout: relative to the working directory; --cases replaces run.cases.dir.
    (tmp_path / "elsewhere").mkdir()
    proc = subprocess.run([mpconform, "page", str(made / "r.json"), "--cases", str(tmp_path / "elsewhere"), "--markdown", "-"],
                          capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "| [fifo](elsewhere/queue/fifo.yaml) |" in proc.stdout, proc.stdout
    proc = subprocess.run([mpconform, "page", str(made / "r.json"), "--html", str(tmp_path / "deep" / "er.html")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "could not write" in proc.stderr, proc.stderr  # no such directory


def test_bad_input_is_refused(mpconform, tmp_path):
    (tmp_path / "old.json").write_text("[]")
    proc = subprocess.run([mpconform, "page", str(tmp_path / "old.json"), "--html", str(tmp_path / "p.html")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bare array" in proc.stderr, proc.stderr
    proc = subprocess.run([mpconform, "page", str(tmp_path / "old.json")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--html" in proc.stderr, proc.stderr
    assert not (tmp_path / "p.html").exists()


# ---- in Chromium ----

class Browser:
    """chromedriver (Debian's chromium-driver) spoken to over its W3C WebDriver HTTP interface."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.profiles = []
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline or self.driver.poll() is not None:
                    raise RuntimeError("chromedriver did not start")
                time.sleep(0.1)

    def call(self, method, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:  # WebDriver says what went wrong (a script error) in the body
            raise AssertionError("WebDriver %s %s: %s" % (method, path, e.read().decode(errors="replace")[:2000])) from None

    def session(self, phone):
        profile = tempfile.mkdtemp(prefix="mpconform-chromium-")
        self.profiles.append(profile)
        options = {"binary": CHROMIUM,
                   "args": ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + profile]
                           + ([] if phone else ["--window-size=1280,900"])}
        if os.geteuid() == 0:
            # Chromium refuses to start as root with its sandbox on (it would need setuid helpers or
            # user namespaces for root), and CI runs the tests as root; the page it loads is our own.
            options["args"].append("--no-sandbox")
        if phone:  # a phone's viewport: 375 CSS px wide, as an iPhone's
            options["mobileEmulation"] = {"deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 2}}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        return Session(self, self.call("POST", "/session", caps)["sessionId"])

    def close(self):
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
            self.driver.wait()
        for p in self.profiles:
            shutil.rmtree(p, ignore_errors=True)


class Session:
    def __init__(self, browser, sid):
        self.browser, self.sid = browser, sid

    def open(self, path, fragment=""):
        self.browser.call("POST", "/session/%s/url" % self.sid, {"url": "file://" + urllib.parse.quote(str(path)) + fragment})

    def js(self, script, *args):
        return self.browser.call("POST", "/session/%s/execute/sync" % self.sid, {"script": script, "args": list(args)})

    def close(self):
        self.browser.call("DELETE", "/session/%s" % self.sid)


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip("%s not installed: the page is rendered in Debian's chromium and chromium-driver "
                    "(bash scripts/install-deps.sh installs them)" % " and ".join(missing))
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def laptop(browser):
    s = browser.session(phone=False)
    yield s
    s.close()


@pytest.fixture(scope="module")
def phone(browser):
    s = browser.session(phone=True)
    yield s
    s.close()


# What the browser built: each matrix table with its header and its rows' cells.
READ_MATRIX = """
return [...document.querySelectorAll('section.primitive')].map(sec => ({
  primitive: sec.dataset.primitive,
  heads: [...sec.querySelectorAll('table.matrix thead th')].map(th => th.textContent),
  rows: [...sec.querySelectorAll('table.matrix tbody tr')].map(tr => ({
    case: tr.dataset.case, level: tr.dataset.level, visible: tr.offsetParent !== null,
    src: tr.querySelector('a.src').getAttribute('href'), srcUrl: tr.querySelector('a.src').href,
    levelText: tr.querySelector('.level').textContent,
    levelMark: getComputedStyle(tr.querySelector('th.case')).boxShadow,
    tags: [...tr.querySelectorAll('.tag')].map(a => a.textContent),
    cells: [...tr.querySelectorAll('td.cell')].map(td => {
      const a = td.querySelector('a.v');
      const v = td.querySelector('.v'), cs = getComputedStyle(v);
      return {impl: td.dataset.impl, text: v.textContent, href: a ? a.getAttribute('href') : null,
              symbol: v.querySelector('.sym') ? v.querySelector('.sym').textContent : null,
              style: [cs.backgroundColor, cs.color, cs.borderTopStyle, cs.borderTopColor, cs.borderTopWidth].join(' ')};
    })}))}));
"""


def matrix(session):
    return {t["primitive"]: t for t in session.js(READ_MATRIX)}


def cell(tables, case_id, impl):
    row = [r for r in tables[case_id.split(".")[0]]["rows"] if r["case"] == case_id][0]
    return [c for c in row["cells"] if c["impl"] == impl][0]


def test_the_table_has_a_row_per_case_and_a_column_per_implementation(made, laptop):
    laptop.open(made / "out" / "page.html")
    tables = matrix(laptop)
    assert list(tables) == ["pipe", "queue"]
    for name, t in tables.items():
        assert [r["case"] for r in t["rows"]] == sorted(c for c in CASES if c.startswith(name + ".")), t["rows"]
        assert t["heads"][0] == "case" and len(t["heads"]) == 4, t["heads"]
        # Each implementation's column says what its adapter reported: name, version, start method.
        assert t["heads"][1] == "cpythoncpython 3.11.2 · semantics 3.11 · fork", t["heads"]
        assert t["heads"][2].startswith("cppmpc 0.1.0"), t["heads"]
        assert t["heads"][3] == "evil%s %s · semantics 3.11 · %s" % (IMG, SCRIPT, SCRIPT), t["heads"]  # as text
        for r in t["rows"]:
            assert [c["impl"] for c in r["cells"]] == ["cpython", "cpp", "evil"], r
    assert sum(len(t["rows"]) for t in tables.values()) == len(CASES)


def test_known_cells(made, laptop):
    laptop.open(made / "out" / "page.html")
    tables = matrix(laptop)
    fifo_cpp = cell(tables, "queue.fifo", "cpp")
    assert (fifo_cpp["text"], fifo_cpp["href"]) == ("✗ failed", "#r-cpp-queue.fifo"), fifo_cpp
    assert cell(tables, "queue.fifo", "cpython")["text"] == "✓ passed"
    assert cell(tables, "queue.quirk", "cpp")["text"] == "≠ differs (cpython-specific)"
    not_run = cell(tables, "pipe.order", "evil")
    assert (not_run["text"], not_run["href"]) == ("· not run", None), not_run
    # Each case links to its case file, relative to the page, percent-encoded where it must be.
    rows = {r["case"]: r for t in tables.values() for r in t["rows"]}
    assert rows["queue.fifo"]["src"] == "../cases/queue/fifo.yaml", rows["queue.fifo"]
    assert rows["pipe.odd_name"]["src"] == "../cases/pipe/odd%20name%231.yaml", rows["pipe.odd_name"]
    for r in rows.values():
        path = urllib.parse.unquote(urllib.parse.urlparse(r["srcUrl"]).path)
        assert os.path.isfile(path) and path.startswith(str(made / "cases")), r
    assert rows["queue.get_timeout"]["tags"] == ["timeout", "blocking"]


def test_every_verdict_has_its_own_symbol_and_style(made, laptop):
    laptop.open(made / "out" / "page.html")
    tables = matrix(laptop)
    seen = {}
    for t in tables.values():
        for r in t["rows"]:
            for c in r["cells"]:
                if c["symbol"]:
                    verdict = c["text"][len(c["symbol"]) + 1:]
                    seen.setdefault(verdict, (c["symbol"], c["style"]))
    assert sorted(seen) == sorted(VERDICTS), seen
    assert len({s for s, _ in seen.values()}) == len(VERDICTS), seen   # not colour alone
    assert len({st for _, st in seen.values()}) == len(VERDICTS), seen  # and styled apart


def test_levels_are_told_apart_on_the_row(made, laptop):
    laptop.open(made / "out" / "page.html")
    rows = {r["case"]: r for t in matrix(laptop).values() for r in t["rows"]}
    by_level = {r["level"]: r for r in rows.values()}
    assert sorted(by_level) == ["cpython-specific", "recommended", "required"]
    assert {l: r["levelText"] for l, r in by_level.items()} == {l: l for l in by_level}
    assert len({r["levelMark"] for r in by_level.values()}) == 3, by_level


def test_each_cell_links_to_its_trace(made, laptop):
    laptop.open(made / "out" / "page.html")
    missing = laptop.js("""
      return [...document.querySelectorAll('td.cell a.v')].map(a => a.getAttribute('href'))
        .filter(h => !h.startsWith('#') || !document.getElementById(h.slice(1)));""")
    assert missing == []
    laptop.open(made / "out" / "page.html", "#r-cpp-queue.fifo")
    trace = laptop.js("""
      const t = document.getElementById('r-cpp-queue.fifo');
      return {tag: t.tagName, target: t.matches(':target'), verdict: t.querySelector('h3 .v').textContent,
              reason: t.querySelector('.reason').textContent, rerun: t.querySelector('.rerun').textContent,
              file: t.querySelector('a.src').getAttribute('href'), spec: t.querySelector('a.spec').getAttribute('href'),
              steps: [...t.querySelectorAll('table.steps tbody tr')].map(tr => [tr.className,
                       ...[...tr.cells].map(td => td.textContent)]),
              top: t.getBoundingClientRect().top};""")
    assert trace["tag"] == "ARTICLE" and trace["target"] and trace["verdict"] == "✗ failed", trace
    assert trace["reason"] == "step 2: expected None, got 5", trace
    assert trace["rerun"] == "mpconform --jobs 1 --gtest_filter='cpp.queue.fifo'", trace
    assert trace["file"] == "../cases/queue/fifo.yaml#L9", trace
    assert trace["spec"] == "../spec/queue.md#some-section", trace
    assert trace["steps"] == [
        ["", "1 (line 8)", "main", "sleep(0)", "returns None", "returned None in 0.001 s", "0.001 s", ""],
        ["bad", "2 (line 9)", "main", "q.get()", "returns None", "returned 5 in 0.002 s", "0.001 s", "expected None, got 5"]]
    assert 0 <= trace["top"] < 100, "following the link scrolls to the trace"


def test_no_markup_from_the_results_file_runs(made, laptop):
    laptop.open(made / "out" / "page.html")
    found = laptop.js("""
      const t = document.getElementById('r-evil-queue.get_timeout');
      return {scripts: document.querySelectorAll('script').length, imgs: document.querySelectorAll('img').length,
              pwned: window.pwned === undefined ? null : window.pwned, reason: t.querySelector('.reason').textContent,
              title: document.getElementById('c-pipe.odd_name').querySelector('.title').innerHTML,
              malformed: document.querySelector('#malformed code').textContent};""")
    assert found == {"scripts": 0, "imgs": 0, "pwned": None, "reason": "'main' sent " + SCRIPT,
                     "title": "a &lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\" | title",
                     "malformed": str(made / "cases" / "pipe" / "broken.yaml") + ":3:1: " + SCRIPT}, found


def test_a_tag_shows_its_cases(made, laptop):
    laptop.open(made / "out" / "page.html", "#f-queue-timeout")
    tables = matrix(laptop)
    visible = [r["case"] for t in tables.values() for r in t["rows"] if r["visible"]]
    assert visible == [ADVICE, "queue.get_timeout"], visible
    summary = laptop.js("""return [...document.querySelectorAll('table.summary tr.tag-row')]
        .map(tr => [tr.querySelector('a.tag').getAttribute('href'), ...[...tr.cells].slice(1).map(td => td.textContent)]);""")
    assert ["#f-queue-timeout", "2 of 2 passed", "0 of 2 passed ⚠ 1 failed (recommended) ◔ 1 timed out",
            "0 of 2 passed ↯ 1 protocol error ◌ 1 leaked"] in summary, summary


def test_on_a_phone_the_whole_table_is_reachable(made, phone):
    phone.open(made / "out" / "page.html")
    got = phone.js("""
      const sec = document.querySelector('section.primitive[data-primitive="queue"]');
      const box = sec.querySelector('.scroll'), first = sec.querySelector('tbody tr th.case');
      const cells = sec.querySelectorAll('tbody tr:first-child td.cell'), last = cells[cells.length - 1];
      const before = {first: first.getBoundingClientRect().left, box: box.getBoundingClientRect().right};
      box.scrollLeft = box.scrollWidth;
      const r = last.getBoundingClientRect(), f = first.getBoundingClientRect();
      return {width: window.innerWidth, page: document.documentElement.scrollWidth, before,
              scrolls: box.scrollWidth > box.clientWidth, lastLeft: r.left, lastRight: r.right,
              firstLeft: f.left, firstRight: f.right, font: parseFloat(getComputedStyle(first).fontSize)};""")
    assert got["width"] == 375, got
    assert got["page"] <= 375, "the page itself does not scroll sideways: %r" % got
    assert 0 <= got["before"]["first"] < 20 and got["before"]["box"] <= 375, got
    # The implementations' columns scroll sideways inside their box; the case column stays.
    assert got["scrolls"], got
    assert 0 <= got["lastLeft"] and got["lastRight"] <= 375, got
    assert 0 <= got["firstLeft"] < 20 and got["firstRight"] <= got["lastLeft"] + 1, got
    assert got["font"] >= 12, got


# ---- end to end: the runner's own results file ----

def test_a_page_from_a_real_run(mpconform, tmp_path, laptop):
    cases = case_tree(tmp_path / "cases", "page.sleep", sleep_case("page.sleep"))
    report = tmp_path / "real.json"
    impls = []
    for mode in ("good", "wrong"):
        impls += ["--impl", "cmd:%s=%s %s %s" % (mode, sys.executable, FAKE, mode)]
    proc = subprocess.run([mpconform, "--cases", str(cases), "--jobs", "1", "--report", str(report), *impls],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert sorted(r["verdict"] for r in read_document(report)["results"]) == ["failed", "passed"]
    page = tmp_path / "site" / "index.html"
    page.parent.mkdir()
    proc = subprocess.run([mpconform, "page", str(report), "--html", str(page)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    laptop.open(page)
    tables = matrix(laptop)
    [row] = tables["page"]["rows"]
    assert row["src"] == "../cases/page/sleep.yaml", row
    assert [(c["impl"], c["text"], c["href"]) for c in row["cells"]] == [
        ("good", "✓ passed", "#r-good-page.sleep"), ("wrong", "✗ failed", "#r-wrong-page.sleep")], row
    trace = laptop.js("""const t = document.getElementById('r-wrong-page.sleep');
        return [t.querySelector('.reason').textContent, t.querySelector('tr.bad td:nth-child(3)').textContent,
                t.querySelector('.rerun').textContent];""")
    # The runner gives a failed step's problem in the trace; the page shows it as the reason.
    assert trace[0].startswith("step 1 (line 8): ") and "differs" in trace[0], trace
    assert trace[1] == "sleep(0)" and "--gtest_filter='wrong.page.sleep'" in trace[2], trace
