"""Implementation labels and interpreters older than the spec, through the built runner.

A label comes from the interpreter (its resolved executable and full version), not from how the
user spelled it; a collision is an error naming both specs; an interpreter older than the spec
is refused with a sentence unless older=run asks for it, and a Python 2 is never run.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

SYSTEM = "/usr/bin/python3"
PYENV = os.path.join(os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")), "versions")


@pytest.fixture
def runner(request):
    path = request.config.getoption("--mpconform")
    assert path, "give --mpconform PATH"
    return path


def run(runner, *args):
    return subprocess.run([runner, *args], capture_output=True, text=True, timeout=300)


def suites(runner, *impls):
    """The GoogleTest suites (implementation labels) a run with these --impl would have."""
    args = []
    for spec in impls:
        args += ["--impl", spec]
    r = run(runner, *args, "--gtest_list_tests", "--gtest_filter=*.queue.fifo_single_producer")
    assert r.returncode == 0, r.stdout + r.stderr
    return [line[:-1] for line in r.stdout.splitlines() if line.endswith(".") and not line.startswith(" ")]


def version_of(python):
    out = subprocess.run([python, "-c", "import sys; print('%d_%d_%d' % sys.version_info[:3])"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def pyenv_python(prefix):
    if not os.path.isdir(PYENV):
        return None
    for v in sorted(os.listdir(PYENV)):
        if v.startswith(prefix) and os.access(os.path.join(PYENV, v, "bin", "python"), os.X_OK):
            return os.path.join(PYENV, v, "bin", "python")
    return None


@pytest.fixture
def fake_python():
    """A stand-in interpreter: answers the runner's question with the version given, and runs
    the adapter with Debian's python3 (so that older=run can be seen running cases). Not in /tmp:
    the adapter gets a private /tmp of its own."""
    where = tempfile.mkdtemp(prefix="mpconform-fake-python-", dir="/var/tmp")

    def make(answer):
        path = pathlib.Path(where) / "python-fake"
        path.write_text('#!/bin/sh\nif [ "$1" = -c ]; then echo "mpconform-interpreter %s"; exit 0; fi\n'
                        'exec %s "$@"\n' % (answer, SYSTEM))
        path.chmod(0o755)
        return str(path)
    yield make
    shutil.rmtree(where)


def test_spellings_of_one_interpreter_share_one_label(runner, tmp_path):
    label = "cpython_" + version_of(SYSTEM)
    link = tmp_path / "py"
    link.symlink_to(SYSTEM)
    # python3 as a name is looked up in PATH, which here holds Debian's python3 first.
    os.environ["PATH"] = os.path.dirname(SYSTEM) + os.pathsep + os.environ.get("PATH", "")
    for spelling in [SYSTEM, os.path.realpath(SYSTEM), str(link), os.path.basename(SYSTEM)]:
        assert suites(runner, "cpython:" + spelling) == [label], spelling


def test_two_interpreters_of_one_minor_version_get_two_labels(runner):
    system = version_of(SYSTEM)
    other = pyenv_python(system.rsplit("_", 1)[0].replace("_", ".") + ".")
    if not other or version_of(other) == system:
        pytest.skip("no pyenv CPython of %s's minor version with another patch level" % SYSTEM)
    got = suites(runner, "cpython:" + SYSTEM, "cpython:" + other)
    assert got == ["cpython_" + system, "cpython_" + version_of(other)]


def test_the_same_interpreter_twice_is_an_error_naming_both(runner, tmp_path):
    link = tmp_path / "py"
    link.symlink_to(SYSTEM)
    r = run(runner, "--impl", "cpython:" + SYSTEM, "--impl", "cpython:%s,label=again" % link, "--gtest_list_tests")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--impl cpython:%s and --impl cpython:%s,label=again are the same implementation" % (SYSTEM, link) in r.stderr


def test_a_colliding_label_is_an_error_naming_both(runner):
    r = run(runner, "--impl", "cpython:%s,label=x" % SYSTEM, "--impl", "cpp,label=x", "--gtest_list_tests")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--impl cpython:%s,label=x and --impl cpp,label=x would both be labelled 'x'" % SYSTEM in r.stderr


def test_an_older_interpreter_is_refused_with_a_sentence(runner, fake_python):
    python = fake_python("CPython 3 7 17 final 0 /opt/python3.7/bin/python3.7")
    r = run(runner, "--jobs", "1", "--impl", "cpython:" + python)
    assert r.returncode == 2, r.stdout + r.stderr
    assert ("CPython 3.7.17 at /opt/python3.7/bin/python3.7 predates the spec (3.8–3.13): not run; "
            "add ,older=run to run it anyway, judged against 3.8 expectations") in r.stderr
    assert " passed, " not in r.stdout  # no case ran, so no summary


def test_older_run_judges_against_3_8_and_says_so(runner, fake_python):
    python = fake_python("CPython 3 6 15 final 0 /opt/python3.6/bin/python3.6")
    r = run(runner, "--jobs", "1", "--impl", "cpython:%s,older=run" % python,
            "--gtest_filter=*.queue.fifo_single_producer")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("mpconform: cpython_3_6_15_as_3_8: CPython 3.6.15 at /opt/python3.6/bin/python3.6 predates the spec "
            "(3.8–3.13): judged against 3.8 expectations (older=run)") in r.stdout
    assert "mpconform: 1 passed, 0 failed, 0 skipped in " in r.stdout, r.stdout


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.7"])
def test_pyenv_old_interpreters(runner, version):
    python = pyenv_python(version + ".")
    if not python:
        pytest.skip("pyenv has no %s" % version)
    r = run(runner, "--jobs", "1", "--impl", "cpython:" + python, "--gtest_filter=*.queue.fifo_single_producer")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "crashed" not in r.stdout + r.stderr
    if version == "2.7":
        assert "is Python 2: the spec covers Python 3.8–3.13 and the CPython adapter needs Python 3; not run" in r.stderr
        r = run(runner, "--impl", "cpython:%s,older=run" % python, "--gtest_list_tests")
        assert r.returncode == 2 and "is Python 2" in r.stderr
    else:
        assert "predates the spec (3.8–3.13): not run" in r.stderr


def test_an_interpreter_that_does_not_start_is_a_clear_error(runner, tmp_path):
    broken = tmp_path / "python-broken"
    broken.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    broken.chmod(0o755)
    r = run(runner, "--impl", "cpython:%s" % broken, "--gtest_list_tests")
    assert r.returncode == 2, r.stdout + r.stderr
    assert ("the interpreter %s does not start as a Python: asked its version, it exited with status 1: "
            "Fatal Python error: init_fs_encoding" % broken) in r.stderr
