"""The runner's isolation of a case's adapter: processes that escape its group are found, killed
and named; files it leaves in /dev/shm and /tmp are found exactly and charged to the case; other
programs and concurrent runs do not disturb a run; cleanup names are never used unchecked.

Run as root (as in CI), the runner must isolate with a mount namespace; as another user the tests
that need isolation are skipped when the runner says it has none. MPCONFORM_ISOLATION=none
exercises the fallback (a /dev/shm snapshot per case).
"""
import ctypes
import json
import mmap
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from scripted_cases import case_tree, sleep_case

from results_file import read_results

HERE = os.path.dirname(os.path.abspath(__file__))
ADAPTER = os.path.join(HERE, "escaping_adapter.py")

CASE = sleep_case("isolation.sleep", timeout=10)

ISOLATED = "isolation: private /dev/shm and /tmp per case"
NOT_ISOLATED = {"MPCONFORM_ISOLATION": "none"}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return case_tree(tmp_path_factory.mktemp("cases"), "isolation.sleep", CASE)


@pytest.fixture
def token():
    name = "mpconform-isotest-" + uuid.uuid4().hex[:12]
    yield name
    for path in ("/dev/shm/" + name, "/tmp/" + name):  # what a failing run may have left
        if os.path.lexists(path):
            os.unlink(path)


def command(mpconform, cases, report, mode, arg, prefix=()):
    return list(prefix) + [mpconform, "--cases", str(cases), "--jobs", "1", "--report", str(report),
                           "--impl", "cmd:iso=%s %s %s %s" % (sys.executable, ADAPTER, mode, arg)]


def run(mpconform, cases, tmp_path, mode, arg, env=None, name="report.json", prefix=()):
    report = tmp_path / name
    proc = subprocess.run(command(mpconform, cases, report, mode, arg, prefix), capture_output=True, text=True, timeout=90,
                          env=dict(os.environ, **(env or {})))
    return proc, read_results(report)


def processes_with(marker):
    """Pids of live processes that have marker as one argument: the adapter and what it forks, never
    the runner (its --impl argument holds marker inside a longer one)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
            with open("/proc/%s/stat" % entry) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline.split(b"\0") and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def require_isolation(stdout):
    if ISOLATED in stdout:
        return
    if os.geteuid() == 0:
        pytest.fail("as root the runner must isolate with a mount namespace; it said:\n" + stdout[:2000])
    pytest.skip("the runner has no isolation here: " + stdout.splitlines()[0])


def test_the_output_says_which_isolation_is_in_force(mpconform, cases, tmp_path, token):
    proc, records = run(mpconform, cases, tmp_path, "good", token)
    assert [r["verdict"] for r in records] == ["passed"], proc.stdout
    assert proc.stdout.startswith("mpconform: isolation: "), proc.stdout
    require_isolation(proc.stdout)
    proc, records = run(mpconform, cases, tmp_path, "good", token, env=NOT_ISOLATED)
    assert proc.stdout.startswith("mpconform: isolation: none (MPCONFORM_ISOLATION=none): /dev/shm snapshot per case"), proc.stdout
    assert [r["verdict"] for r in records] == ["passed"], proc.stdout
    proc, _ = run(mpconform, cases, tmp_path, "good", token, env={"MPCONFORM_ISOLATION": "bogus"})
    assert proc.stdout.startswith("mpconform: isolation: none (MPCONFORM_ISOLATION=bogus is neither auto nor none)"), proc.stdout


@pytest.mark.parametrize("env", [None, NOT_ISOLATED], ids=["isolated", "not_isolated"])
def test_a_grandchild_that_leaves_the_group_is_named_and_killed(mpconform, cases, tmp_path, token, env):
    started = time.monotonic()
    proc, records = run(mpconform, cases, tmp_path, "escape", token, env=env)
    took = time.monotonic() - started
    assert [r["verdict"] for r in records] == ["leaked"], proc.stdout
    reason = records[0]["reason"]
    assert "escaping_adapter.py escape %s" % token in reason, reason
    assert "pid " in reason and "after its main process exited" in reason, reason
    assert proc.returncode != 0
    assert processes_with(token) == [], "the escaped grandchild (it ignores SIGTERM) runs on"
    assert took < 30, "the runner took %.1f s" % took


def test_files_left_in_dev_shm_and_tmp_are_charged_to_the_case_and_never_reach_the_machine(mpconform, cases, tmp_path, token):
    proc, records = run(mpconform, cases, tmp_path, "files", token)
    require_isolation(proc.stdout)
    assert [(r["case"], r["verdict"]) for r in records] == [("isolation.sleep", "leaked")], proc.stdout
    assert records[0]["reason"] == "left behind by the case: /dev/shm/%s, /tmp/%s" % (token, token)
    assert proc.returncode != 0
    assert not os.path.lexists("/dev/shm/" + token), "the adapter's /dev/shm was the machine's"
    assert not os.path.lexists("/tmp/" + token), "the adapter's /tmp was the machine's"


def test_without_isolation_a_dev_shm_leftover_is_charged_to_the_case_and_said_to_be_inexact(mpconform, cases, tmp_path, token):
    proc, records = run(mpconform, cases, tmp_path, "files", token, env=NOT_ISOLATED)
    assert [(r["case"], r["verdict"]) for r in records] == [("isolation.sleep", "leaked")], proc.stdout
    reason = records[0]["reason"]
    assert reason.startswith("left behind by the case: /dev/shm/%s (" % token), reason
    assert "held by no process" in reason and "another program may have made it" in reason, reason
    assert os.path.exists("/dev/shm/" + token)  # the fallback only looks: the fixture removes it


def test_another_program_writing_in_the_machines_dev_shm_does_not_fail_the_run(mpconform, cases, tmp_path, token):
    outsider = "/dev/shm/%s-outsider" % token
    report = tmp_path / "report.json"
    proc = subprocess.Popen(command(mpconform, cases, report, "slow", token), stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: processes_with(token), 20), "the adapter never started"
        with open(outsider, "w"):
            pass
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if os.path.exists(outsider):
            os.unlink(outsider)
        proc.kill()
    require_isolation(stdout)
    assert [r["verdict"] for r in read_results(report)] == ["passed"], stdout
    assert proc.returncode == 0, stdout


def map_shared(fd, size):
    """Maps fd with libc's mmap (Python's mmap module keeps a descriptor of its own); returns the unmap."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
    return lambda: libc.munmap(addr, size)


def test_without_isolation_an_entry_another_program_holds_is_not_charged_to_the_case(mpconform, cases, tmp_path, token):
    # Made during the case and still in use when it ends, so not the case's leftovers: one held
    # open, one mapped under a temporary name, then linked to its own (as glibc's sem_open does).
    opened, mapped = "/dev/shm/%s-open" % token, "/dev/shm/%s-mapped" % token
    report = tmp_path / "report.json"
    proc = subprocess.Popen(command(mpconform, cases, report, "slow", token), stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, **NOT_ISOLATED))
    held, mapping = None, None
    try:
        assert wait_for(lambda: processes_with(token), 20), "the adapter never started"
        held = open(opened, "w")
        with open(mapped + ".tmp", "w+b") as f:  # mapped, and closed: no descriptor shows it
            f.truncate(4096)
            mapping = map_shared(f.fileno(), 4096)
        os.link(mapped + ".tmp", mapped)
        os.unlink(mapped + ".tmp")
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if held:
            held.close()
        if mapping:
            mapping()
        for path in (opened, mapped, mapped + ".tmp"):
            if os.path.exists(path):
                os.unlink(path)
        proc.kill()
    assert "isolation: none" in stdout
    assert [r["verdict"] for r in read_results(report)] == ["passed"], stdout
    assert proc.returncode == 0, stdout


def run_concurrently(mpconform, cases, tmp_path, runs, env=None):
    """Starts the runs (mode, arg) together; their (stdout, records), in order."""
    procs = []
    for k, (mode, arg) in enumerate(runs):
        report = tmp_path / ("report%d.json" % k)
        procs.append((subprocess.Popen(command(mpconform, cases, report, mode, arg), stdout=subprocess.PIPE, text=True,
                                       env=dict(os.environ, **(env or {}))), report))
    out = []
    for proc, report in procs:
        stdout, _ = proc.communicate(timeout=90)
        out.append((stdout, read_results(report)))
    return out


def test_concurrent_runs_do_not_see_each_others_files(mpconform, cases, tmp_path, token):
    # Both hold /dev/shm/NAME and /tmp/NAME, created with O_EXCL, for 1.5 s at the same time.
    results = run_concurrently(mpconform, cases, tmp_path, [("exclusive", token), ("exclusive", token)])
    for stdout, records in results:
        require_isolation(stdout)
        assert [r["verdict"] for r in records] == ["passed"], stdout
    # The same two runs without isolation collide: the test can tell.
    results = run_concurrently(mpconform, cases, tmp_path, [("exclusive", token), ("exclusive", token)], env=NOT_ISOLATED)
    assert "crashed" in [r["verdict"] for _, records in results for r in records], results


def test_a_concurrent_run_that_leaks_is_not_charged_to_another(mpconform, cases, tmp_path, token):
    (leaker_out, leaker), (good_out, good) = run_concurrently(
        mpconform, cases, tmp_path, [("files", token), ("slow", token + "-good")])
    require_isolation(leaker_out)
    assert [r["verdict"] for r in leaker] == ["leaked"], leaker_out
    assert leaker[0]["reason"] == "left behind by the case: /dev/shm/%s, /tmp/%s" % (token, token)
    assert [r["verdict"] for r in good] == ["passed"], good_out


@pytest.mark.parametrize("items,complaint", [
    ([{"kind": "shm", "name": "../../etc/hostname"}], "goodbye.cleanup[0].name '../../etc/hostname' has a '/' after its first character"),
    ([{"kind": "shm", "name": "/.."}], "goodbye.cleanup[0].name '/..' is '..'"),
    ([{"kind": "shm", "name": "/"}], "goodbye.cleanup[0].name '/' is empty"),
    ([{"kind": "shm", "name": "/psm_ok"}, {"kind": "shm", "name": "/a/b"}], "goodbye.cleanup[1].name '/a/b' has a '/'"),
    ([{"kind": "file", "path": "etc/hostname"}], "goodbye.cleanup[0].path 'etc/hostname' is not absolute"),
    ([{"kind": "file", "path": "/tmp/../etc/hostname"}], "goodbye.cleanup[0].path '/tmp/../etc/hostname' is not normal (a '..' component)"),
    ([{"kind": "file", "path": "/etc/./hostname"}], "is not normal (a '.' component)"),
    ([{"kind": "file", "path": "/etc//hostname"}], "is not normal (an empty component"),
    ([{"kind": "file", "path": "/etc/hostname/"}], "is not normal (an empty component"),
    ([{"kind": "file", "path": "/etc/host\u0000name"}], "holds a NUL byte"),
])
def test_a_cleanup_name_that_is_not_one_entry_is_a_protocol_error(mpconform, cases, tmp_path, items, complaint):
    proc, records = run(mpconform, cases, tmp_path, "cleanup", json.dumps(items, separators=(",", ":")))
    assert [r["verdict"] for r in records] == ["protocol error"], proc.stdout
    assert complaint in records[0]["reason"], records[0]["reason"]


# Items of the wrong shape: the message decoder may reject them before the names are looked at, in
# its own words; either way a protocol error that points at the cleanup list.
@pytest.mark.parametrize("items", [
    [{"kind": "file", "path": 5}],
    [{"kind": "file"}],
    [{"kind": "pipe", "name": "x"}],
    ["/dev/shm/x"],
    {"kind": "file", "path": "/etc/hostname"},
])
def test_a_cleanup_item_of_the_wrong_shape_is_a_protocol_error(mpconform, cases, tmp_path, items):
    proc, records = run(mpconform, cases, tmp_path, "cleanup", json.dumps(items, separators=(",", ":")))
    assert [r["verdict"] for r in records] == ["protocol error"], proc.stdout
    assert "cleanup" in records[0]["reason"], records[0]["reason"]


@pytest.mark.parametrize("items,verdict", [
    ([{"kind": "shm", "name": "/psm_gone"}, {"kind": "shm", "name": "psm_gone_too"}], "passed"),
    ([{"kind": "file", "path": "/nonexistent/mpconform/file"}], "passed"),
    ([{"kind": "file", "path": "/etc/hostname"}], "leaked"),  # outside /dev/shm and /tmp: the machine's file
])
def test_a_good_cleanup_name_is_checked(mpconform, cases, tmp_path, items, verdict):
    proc, records = run(mpconform, cases, tmp_path, "cleanup", json.dumps(items, separators=(",", ":")))
    assert [r["verdict"] for r in records] == [verdict], proc.stdout


def test_cleanup_paths_in_tmp_are_looked_up_in_the_adapters_tmp(mpconform, cases, tmp_path, token):
    proc, records = run(mpconform, cases, tmp_path, "tmp_listed", token)
    require_isolation(proc.stdout)
    assert [r["verdict"] for r in records] == ["leaked"], proc.stdout
    assert records[0]["reason"].startswith("still there after the adapter exited: /tmp/%s" % token), records[0]["reason"]
    # The machine's /tmp/NAME is another program's: the adapter removed its own.
    with open("/tmp/" + token, "w"):
        pass
    proc, records = run(mpconform, cases, tmp_path, "tmp_removed", token)
    assert [r["verdict"] for r in records] == ["passed"], proc.stdout


def test_an_adapter_does_not_outlive_a_runner_that_is_killed(mpconform, cases, tmp_path, token):
    proc = subprocess.Popen(command(mpconform, cases, tmp_path / "report.json", "hang", token),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: processes_with(token), 20), "the adapter never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not processes_with(token), 5), "the adapter runs on after its runner was killed"
    finally:
        proc.kill()
        for pid in processes_with(token):
            os.kill(pid, signal.SIGKILL)


# ---- as an unprivileged user: isolation through a user namespace ----

AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture(scope="module")
def nobody_dir():
    """A directory the user nobody can read and write, with the case in it."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to become nobody) and setpriv")
    if subprocess.run(AS_NOBODY + ["unshare", "-Urm", "true"], capture_output=True).returncode != 0:
        pytest.skip("unprivileged user namespaces are not allowed here")
    root = pathlib.Path(tempfile.mkdtemp(prefix="mpconform-isotest-nobody-"))
    (root / "cases" / "isolation").mkdir(parents=True)
    (root / "cases" / "isolation" / "sleep.yaml").write_text(CASE)
    for path in (root, root / "cases", root / "cases" / "isolation"):
        os.chmod(path, 0o777)
    os.chmod(root / "cases" / "isolation" / "sleep.yaml", 0o644)
    yield root
    shutil.rmtree(root)


def test_as_an_unprivileged_user_files_are_isolated_by_a_user_namespace(mpconform, nobody_dir, token):
    proc, records = run(mpconform, nobody_dir / "cases", nobody_dir, "files", token, prefix=AS_NOBODY)
    assert proc.stdout.startswith("mpconform: isolation: private /dev/shm and /tmp per case (user and mount namespaces)"), proc.stdout
    assert [r["verdict"] for r in records] == ["leaked"], proc.stdout
    assert records[0]["reason"] == "left behind by the case: /dev/shm/%s, /tmp/%s" % (token, token)
    assert not os.path.lexists("/dev/shm/" + token) and not os.path.lexists("/tmp/" + token)


def test_as_an_unprivileged_user_an_escaped_grandchild_is_killed(mpconform, nobody_dir, token):
    proc, records = run(mpconform, nobody_dir / "cases", nobody_dir, "escape", token, prefix=AS_NOBODY)
    assert [r["verdict"] for r in records] == ["leaked"], proc.stdout
    assert "escaping_adapter.py escape %s" % token in records[0]["reason"]
    assert processes_with(token) == []


def test_as_an_unprivileged_user_an_adapter_does_not_outlive_its_runner(mpconform, nobody_dir, token):
    # The parent-death signal survives the adapter's exec inside its user namespace.
    proc = subprocess.Popen(command(mpconform, nobody_dir / "cases", nobody_dir / "report.json", "hang", token, AS_NOBODY),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: processes_with(token), 20), "the adapter never started"
        adapter = processes_with(token)
        proc.send_signal(signal.SIGKILL)  # setpriv execs the runner: this is the runner
        proc.wait(timeout=10)
        assert wait_for(lambda: not processes_with(token), 5), "the adapter %s runs on after its runner was killed" % adapter
    finally:
        proc.kill()
        for pid in processes_with(token):
            os.kill(pid, signal.SIGKILL)


def test_an_adapter_that_lives_under_tmp_still_runs_and_its_tree_is_no_leftover(mpconform, cases, tmp_path, token):
    # A clone or build tree under /tmp holds the adapter: the private /tmp must still show it (the
    # runner binds back the top-level /tmp entries on its command line and working directory).
    tree = pathlib.Path("/tmp") / (token + "-tree")
    (tree / "adapters").mkdir(parents=True)
    try:
        shutil.copy(ADAPTER, tree / "adapters" / "escaping_adapter.py")
        report = tmp_path / "report.json"
        proc = subprocess.run(
            [os.path.abspath(mpconform), "--cases", str(cases), "--jobs", "1", "--report", str(report),
             "--impl", "cmd:iso=%s %s good %s" % (sys.executable, tree / "adapters" / "escaping_adapter.py", token)],
            capture_output=True, text=True, timeout=90, cwd=str(tree))
        require_isolation(proc.stdout)
        records = read_results(report)
        assert [r["verdict"] for r in records] == ["passed"], proc.stdout + proc.stderr
        assert "left behind" not in records[0]["reason"], records[0]["reason"]
    finally:
        shutil.rmtree(tree, ignore_errors=True)
