// Turns --impl specifications into adapter command lines and labels.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "session.hpp"
#include "versions.hpp"

namespace mpconform {

struct AdapterPaths {
  std::string cpython_adapter;  // harness/adapters/cpython/adapter.py
  std::string cpp_adapter;      // the built C++ adapter executable
};

// The Python versions the spec describes (spec/README.md): an older interpreter is refused
// unless its spec says older=run, and is then judged against the oldest's expectations.
inline constexpr Version kSpecOldest{3, 8};
inline constexpr Version kSpecNewest{3, 13};

// What an interpreter says it is, asked by running it once.
struct Interpreter {
  std::string name;  // platform.python_implementation(): "CPython", "PyPy"
  int major = 0, minor = 0, micro = 0;
  std::string releaselevel;  // "final", "candidate", …
  int serial = 0;
  std::string executable;       // realpath(sys.executable): the same however it was spelled
  std::string version() const;  // "3.11.2", "3.13.0rc1"
};

// Runs `python` (a path, or a name looked up in PATH) once, within `timeout_seconds`; any
// Python from 2.x on answers. Throws std::invalid_argument saying why when it does not start,
// fails, hangs or answers something else.
// What `python -c code` printed (stdout and stderr, at most 64 KiB) and its wait status, bounded by
// timeout_seconds (then killed, timed_out). Throws std::runtime_error when it cannot be started.
struct PythonRun {
  std::string output;
  bool timed_out = false;
  int status = 0;
};
PythonRun run_python(const std::string& python, const std::string& code, double timeout_seconds);

// The last non-empty line of a command's output (at most 300 bytes), for error messages.
std::string last_line(const std::string& text);

Interpreter query_interpreter(const std::string& python, double timeout_seconds = 30);
using InterpreterQuery = std::function<Interpreter(const std::string& python)>;

// Forms (options after commas, in any order):
//   cpython[:PYTHON][,module=M][,start=fork|spawn|forkserver][,older=run][,label=L][,known=FILE]
//   cpp[:ADAPTER][,label=L][,known=FILE]
//   cmd:LABEL=COMMAND WORDS…   (any other adapter, split on spaces)
// A cpython label is the interpreter's own name and full version (cpython_3_11_2, pypy_3_9_16),
// then the module (its last dotted name) and start method where given; the bare `cpython` (the
// default interpreter) is labelled `cpython`. known=FILE names the implementation's
// known-divergence file (spec/known-divergences.md). Throws std::invalid_argument with a message that says what is
// wrong, among others for an interpreter older than kSpecOldest without older=run, or a Python 2. `note`, if not empty
// afterwards, is a sentence the user must see (e.g. how an older interpreter is judged).
Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths, const InterpreterQuery& query,
                                    std::string* note = nullptr);
Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths);

// Every --impl, parsed; two that would share a label, or that are the same implementation
// (the same interpreter, module and start method however spelled), are an error naming both
// specs. Notes for the user are appended to `notes`.
std::vector<Implementation> parse_implementations(const std::vector<std::string>& specs, const AdapterPaths& paths,
                                                  const InterpreterQuery& query, std::vector<std::string>& notes);

}  // namespace mpconform
