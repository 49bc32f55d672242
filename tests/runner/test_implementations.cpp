#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "implementations.hpp"

using namespace mpconform;

namespace {
const AdapterPaths kPaths{"/src/harness/adapters/cpython/adapter.py", "/build/cpp-adapter"};

// Interpreters by spelling, as a machine would answer: python3 and /usr/bin/python3 are the same
// 3.11.2, pyenv has a 3.11.7 and a 3.7.16, and a Python 2.
Interpreter fake(const std::string& python) {
  static const std::map<std::string, Interpreter> known = {
      {"/usr/bin/python3", {"CPython", 3, 11, 2, "final", 0, "/usr/bin/python3.11"}},
      {"python3", {"CPython", 3, 11, 2, "final", 0, "/usr/bin/python3.11"}},
      {"/usr/bin/python3.11", {"CPython", 3, 11, 2, "final", 0, "/usr/bin/python3.11"}},
      {"/root/.pyenv/versions/3.11.7/bin/python",
       {"CPython", 3, 11, 7, "final", 0, "/root/.pyenv/versions/3.11.7/bin/python3.11"}},
      {"/root/.pyenv/versions/3.8.18/bin/python",
       {"CPython", 3, 8, 18, "final", 0, "/root/.pyenv/versions/3.8.18/bin/python3.8"}},
      {"/root/.pyenv/versions/3.7.16/bin/python",
       {"CPython", 3, 7, 16, "final", 0, "/root/.pyenv/versions/3.7.16/bin/python3.7"}},
      {"/opt/py3.14/bin/python", {"CPython", 3, 14, 0, "candidate", 2, "/opt/py3.14/bin/python3.14"}},
      {"/usr/bin/pypy3", {"PyPy", 3, 9, 16, "final", 0, "/usr/bin/pypy3"}},
      {"/usr/bin/python2", {"CPython", 2, 7, 18, "final", 0, "/usr/bin/python2.7"}},
  };
  auto it = known.find(python);
  if (it == known.end()) throw std::invalid_argument("the interpreter " + python + " does not start as a Python");
  return it->second;
}

Implementation parse(const std::string& spec, std::string* note = nullptr) {
  return parse_implementation(spec, kPaths, fake, note);
}

std::vector<std::string> labels(const std::vector<std::string>& specs) {
  std::vector<std::string> notes, out;
  for (const auto& i : parse_implementations(specs, kPaths, fake, notes)) out.push_back(i.label);
  return out;
}

std::string error_of(const std::vector<std::string>& specs) {
  std::vector<std::string> notes;
  try {
    parse_implementations(specs, kPaths, fake, notes);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// A shell script standing in for an interpreter; removed at the end of the test.
struct Script {
  std::filesystem::path path;
  explicit Script(const std::string& body) {
    path = std::filesystem::temp_directory_path() /
           ("mpconform-fake-python-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
  }
  ~Script() { std::filesystem::remove(path); }
  static inline int counter = 0;
};
}  // namespace

TEST(Implementations, CpythonDefaultsToTheSystemInterpreter) {
  Implementation i = parse("cpython");
  EXPECT_EQ(i.label, "cpython");
  ASSERT_EQ(i.command.size(), 2u);
  EXPECT_EQ(i.command[1], kPaths.cpython_adapter);
}

TEST(Implementations, CpythonTakesInterpreterModuleAndStartMethod) {
  Implementation i = parse("cpython:/root/.pyenv/versions/3.8.18/bin/python,module=billiard,start=spawn");
  EXPECT_EQ(i.label, "cpython_3_8_18_billiard_spawn");
  EXPECT_EQ(i.command, (std::vector<std::string>{"/root/.pyenv/versions/3.8.18/bin/python", kPaths.cpython_adapter,
                                                 "--module", "billiard", "--start-method", "spawn"}));
}

TEST(Implementations, LabelsCanBeChosen) {
  EXPECT_EQ(parse("cpython:/usr/bin/pypy3,label=PyPy").label, "pypy");
  EXPECT_EQ(parse("cpython:/usr/bin/pypy3").label, "pypy_3_9_16");
}

// Reproducer: /usr/bin/python3.11 and pyenv's 3.11.7 were both cpython_3_11; python3 and
// /usr/bin/python3 (one interpreter) were cpython_python3 and cpython_3.
TEST(Implementations, LabelsComeFromTheInterpreterNotItsSpelling) {
  EXPECT_EQ(parse("cpython:python3").label, "cpython_3_11_2");
  EXPECT_EQ(parse("cpython:/usr/bin/python3").label, "cpython_3_11_2");
  EXPECT_EQ(parse("cpython:/usr/bin/python3.11").label, "cpython_3_11_2");
  EXPECT_EQ(labels({"cpython:/usr/bin/python3.11", "cpython:/root/.pyenv/versions/3.11.7/bin/python"}),
            (std::vector<std::string>{"cpython_3_11_2", "cpython_3_11_7"}));
  EXPECT_EQ(parse("cpython:/opt/py3.14/bin/python").label, "cpython_3_14_0rc2");
  // One interpreter with two modules or start methods is two implementations.
  EXPECT_EQ(labels({"cpython:python3", "cpython:python3,start=spawn", "cpython:python3,module=billiard"}),
            (std::vector<std::string>{"cpython_3_11_2", "cpython_3_11_2_spawn", "cpython_3_11_2_billiard"}));
}

TEST(Implementations, TheSameImplementationTwiceIsAnError) {
  std::string e = error_of({"cpython:python3", "cpython:/usr/bin/python3.11"});
  EXPECT_NE(e.find("--impl cpython:python3 and --impl cpython:/usr/bin/python3.11 are the same implementation"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("/usr/bin/python3.11"), std::string::npos) << e;
  // The bare default is the same interpreter as /usr/bin/python3, whatever its short label.
  EXPECT_NE(error_of({"cpython", "cpython:/usr/bin/python3"}).find("same implementation"), std::string::npos);
}

TEST(Implementations, ACollidingLabelIsAnErrorNamingBothSpecs) {
  std::string e = error_of({"cpython:/root/.pyenv/versions/3.11.7/bin/python,label=mine", "cpp,label=mine"});
  EXPECT_NE(e.find("--impl cpython:/root/.pyenv/versions/3.11.7/bin/python,label=mine and --impl cpp,label=mine"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("'mine'"), std::string::npos) << e;
  e = error_of({"cpython:/usr/bin/pypy3", "cpython:/usr/bin/python3,label=pypy_3_9_16"});
  EXPECT_NE(e.find("would both be labelled 'pypy_3_9_16'"), std::string::npos) << e;
  EXPECT_NE(error_of({"cpp", "cpp:/other/adapter"}).find("label=NAME"), std::string::npos);
  EXPECT_EQ(error_of({"cpp", "cpp:/other/adapter,label=other"}), "");
}

TEST(Implementations, InterpretersOlderThanTheSpecAreRefused) {
  try {
    parse("cpython:/root/.pyenv/versions/3.7.16/bin/python");
    FAIL() << "3.7 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "CPython 3.7.16 at /root/.pyenv/versions/3.7.16/bin/python3.7 predates the spec (3.8–3.13): not run"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("older=run"), std::string::npos) << e.what();
  }
}

TEST(Implementations, OlderRunIsJudgedAgainstTheOldestExpectationsAndSaysSo) {
  std::string note;
  Implementation i = parse("cpython:/root/.pyenv/versions/3.7.16/bin/python,older=run", &note);
  EXPECT_EQ(i.label, "cpython_3_7_16_as_3_8");
  EXPECT_EQ(i.command, (std::vector<std::string>{"/root/.pyenv/versions/3.7.16/bin/python", kPaths.cpython_adapter,
                                                 "--semantics", "3.8"}));
  EXPECT_NE(note.find("cpython_3_7_16_as_3_8: CPython 3.7.16"), std::string::npos) << note;
  EXPECT_NE(note.find("judged against 3.8 expectations"), std::string::npos) << note;
  // On an interpreter the spec covers, older=run changes nothing.
  EXPECT_EQ(parse("cpython:/usr/bin/python3,older=run", &note).label, "cpython_3_11_2");
  EXPECT_EQ(note, "");
  EXPECT_THROW(parse("cpython:/root/.pyenv/versions/3.7.16/bin/python,older=yes"), std::invalid_argument);
}

TEST(Implementations, Python2IsNeverRun) {
  for (const char* spec : {"cpython:/usr/bin/python2", "cpython:/usr/bin/python2,older=run"}) {
    try {
      parse(spec);
      FAIL() << spec << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("CPython 2.7.18 at /usr/bin/python2.7 is Python 2"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Implementations, CppAndCommandAdapters) {
  EXPECT_EQ(parse("cpp").command, (std::vector<std::string>{"/build/cpp-adapter"}));
  Implementation c = parse("cmd:mine=/opt/adapter --fast");
  EXPECT_EQ(c.label, "mine");
  EXPECT_EQ(c.command, (std::vector<std::string>{"/opt/adapter", "--fast"}));
}

TEST(Implementations, MistakesAreExplained) {
  EXPECT_THROW(parse("jython"), std::invalid_argument);
  EXPECT_THROW(parse("cpython,start=vfork"), std::invalid_argument);
  EXPECT_THROW(parse("cpython,colour=red"), std::invalid_argument);
  EXPECT_THROW(parse("cmd:/no/label"), std::invalid_argument);
  EXPECT_THROW(parse("cpp,older=run"), std::invalid_argument);
}

// query_interpreter itself, against the real Debian python3 and against scripts.
TEST(QueryInterpreter, AsksARealPython) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  Interpreter a = query_interpreter("/usr/bin/python3");
  EXPECT_EQ(a.name, "CPython");
  EXPECT_EQ(a.major, 3);
  EXPECT_EQ(a.executable, std::filesystem::canonical("/usr/bin/python3").string());
  Script link("exec /usr/bin/python3 \"$@\"");  // a wrapper: the same interpreter underneath
  Interpreter b = query_interpreter(link.path.string());
  EXPECT_EQ(b.executable, a.executable);
  EXPECT_EQ(b.version(), a.version());
}

TEST(QueryInterpreter, AFakeOldInterpreterIsTakenAtItsWord) {
  Script old("echo 'mpconform-interpreter CPython 3 7 17 final 0 /opt/python 3.7/bin/python3.7'");
  Interpreter it = query_interpreter(old.path.string());
  EXPECT_EQ(it.version(), "3.7.17");
  EXPECT_EQ(it.executable, "/opt/python 3.7/bin/python3.7");
}

TEST(QueryInterpreter, OneThatDoesNotStartIsAClearError) {
  Script broken("echo 'ImportError: No module named site' >&2; exit 1");
  try {
    query_interpreter(broken.path.string());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("does not start as a Python: asked its version, it exited with status 1: "
                                         "ImportError: No module named site"),
              std::string::npos)
        << e.what();
  }
  try {
    query_interpreter("/nonexistent/python3");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run it: No such file or directory"), std::string::npos) << e.what();
  }
  Script silent("exit 0");
  EXPECT_THROW(query_interpreter(silent.path.string()), std::invalid_argument);
}

TEST(QueryInterpreter, OneThatHangsIsKilledWithinTheBound) {
  Script hangs("exec sleep 30");
  auto t0 = std::chrono::steady_clock::now();
  try {
    query_interpreter(hangs.path.string(), 0.5);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("did not answer within"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}
