#include "implementations.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

namespace mpconform {
namespace {

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s)
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_');
  return out;
}

// Valid Python 2 and 3 alike, so that a Python 2 is told apart instead of failing to start.
const char* kQueryScript =
    "import os, platform, sys\n"
    "v = sys.version_info\n"
    "sys.stdout.write('mpconform-interpreter %s %d %d %d %s %d %s\\n' % (platform.python_implementation(),"
    " v[0], v[1], v[2], v[3], v[4], os.path.realpath(sys.executable)))\n";

// The interpreter's identity: what makes two specs the same implementation.
struct Parsed {
  Implementation impl;
  std::string identity;
  std::string note;
};

std::string version_suffix(const Interpreter& in) {
  std::string s = std::to_string(in.major) + "_" + std::to_string(in.minor) + "_" + std::to_string(in.micro);
  if (in.releaselevel == "alpha")
    s += "a" + std::to_string(in.serial);
  else if (in.releaselevel == "beta")
    s += "b" + std::to_string(in.serial);
  else if (in.releaselevel == "candidate")
    s += "rc" + std::to_string(in.serial);
  return s;
}

Parsed parse_one(const std::string& spec, const AdapterPaths& paths, const InterpreterQuery& query) {
  Parsed out;
  Implementation& impl = out.impl;
  impl.spec = spec;
  if (spec.starts_with("cmd:")) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 4)
      throw std::invalid_argument("--impl cmd:LABEL=COMMAND: missing LABEL= in '" + spec + "'");
    impl.label = sanitize(spec.substr(4, eq - 4));
    std::istringstream words(spec.substr(eq + 1));
    for (std::string w; words >> w;) impl.command.push_back(w);
    if (impl.command.empty()) throw std::invalid_argument("--impl " + spec + ": empty command");
    out.identity = "cmd:" + spec.substr(eq + 1);
    return out;
  }
  std::vector<std::string> parts;
  std::istringstream in(spec);
  for (std::string p; std::getline(in, p, ',');) parts.push_back(p);
  if (parts.empty()) throw std::invalid_argument("empty --impl");
  std::string kind = parts[0], path;
  if (auto colon = kind.find(':'); colon != std::string::npos) {
    path = kind.substr(colon + 1);
    kind = kind.substr(0, colon);
  }
  std::string module, start, label, older;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq), value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (value.empty()) throw std::invalid_argument("--impl " + spec + ": option '" + parts[i] + "' is not key=value");
    if (key == "module" && kind == "cpython")
      module = value;
    else if (key == "start" && kind == "cpython")
      start = value;
    else if (key == "older" && kind == "cpython")
      older = value;
    else if (key == "label")
      label = sanitize(value);
    else if (key == "known" && kind != "cmd")
      impl.known_divergences = value;
    else
      throw std::invalid_argument("--impl " + spec + ": unknown option '" + key + "' for " + kind);
  }
  if (kind == "cpython") {
    if (!start.empty() && start != "fork" && start != "spawn" && start != "forkserver")
      throw std::invalid_argument("--impl " + spec + ": start must be fork, spawn or forkserver");
    if (!older.empty() && older != "run") throw std::invalid_argument("--impl " + spec + ": older takes only 'run'");
    std::string python = path;
    if (python.empty()) python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    Interpreter it = query(python);
    const std::string what = it.name + " " + it.version() + " at " + it.executable;
    const std::string range = kSpecOldest.str() + "–" + kSpecNewest.str();
    if (it.major < 3)
      throw std::invalid_argument("--impl " + spec + ": " + what + " is Python " + std::to_string(it.major) +
                                  ": the spec covers Python " + range +
                                  " and the CPython adapter needs Python 3; not run");
    impl.command = {python, paths.cpython_adapter};
    if (!module.empty()) impl.command.insert(impl.command.end(), {"--module", module});
    if (!start.empty()) impl.command.insert(impl.command.end(), {"--start-method", start});
    // A bare `cpython` keeps its short label (the README's and CI's filters use it); an
    // interpreter named explicitly is labelled by what it is, not how it was spelled.
    impl.label = path.empty() ? "cpython" : sanitize(it.name) + "_" + version_suffix(it);
    // A dotted module is labelled by its last name: joblib.externals.loky is loky.
    if (!module.empty() && module != "multiprocessing")
      impl.label += "_" + sanitize(module.substr(module.rfind('.') + 1));
    if (!start.empty()) impl.label += "_" + start;
    if (Version{it.major, it.minor} < kSpecOldest) {
      if (older.empty())
        throw std::invalid_argument("--impl " + spec + ": " + what + " predates the spec (" + range +
                                    "): not run; add ,older=run to run it anyway, judged against " + kSpecOldest.str() +
                                    " expectations");
      // Its hello then says it follows the oldest semantics the spec has, and every test name says so.
      impl.command.insert(impl.command.end(), {"--semantics", kSpecOldest.str()});
      impl.label += "_as_" + sanitize(kSpecOldest.str());
      out.note = "%LABEL%: " + what + " predates the spec (" + range + "): judged against " + kSpecOldest.str() +
                 " expectations (older=run)";
    }
    out.identity = "cpython:" + it.executable + "|" + (module.empty() ? "multiprocessing" : module) + "|" + start;
  } else if (kind == "cpp") {
    impl.command = {path.empty() ? paths.cpp_adapter : path};
    impl.label = "cpp";
    std::error_code ec;
    auto real = std::filesystem::weakly_canonical(impl.command[0], ec);
    out.identity = "cpp:" + (ec ? impl.command[0] : real.string());
  } else {
    throw std::invalid_argument("--impl " + spec + ": unknown implementation '" + kind +
                                "' (cpython, cpp or cmd:LABEL=COMMAND)");
  }
  if (!label.empty()) impl.label = label;
  if (auto p = out.note.find("%LABEL%"); p != std::string::npos) out.note.replace(p, 7, impl.label);
  return out;
}

}  // namespace

std::string Interpreter::version() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
  if (releaselevel == "alpha")
    s += "a" + std::to_string(serial);
  else if (releaselevel == "beta")
    s += "b" + std::to_string(serial);
  else if (releaselevel == "candidate")
    s += "rc" + std::to_string(serial);
  return s;
}

PythonRun run_python(const std::string& python, const std::string& code, double timeout_seconds) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execlp(python.c_str(), python.c_str(), "-c", code.c_str(), static_cast<char*>(nullptr));
    std::string msg = "cannot run it: " + std::string(std::strerror(errno)) + "\n";
    ssize_t ignored = write(1, msg.data(), msg.size());
    (void)ignored;
    _exit(127);
  }
  close(fds[1]);
  // Bounded: an interpreter that hangs (a wrapper waiting for input, a broken site) is killed.
  PythonRun run;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      run.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (run.output.size() < 65536) run.output.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (run.timed_out) kill(pid, SIGKILL);
  while (waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
  }
  return run;
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  if (last.size() > 300) last = last.substr(0, 300) + "…";
  return last;
}

Interpreter query_interpreter(const std::string& python, double timeout_seconds) {
  const std::string who = "the interpreter " + python;
  PythonRun run;
  try {
    run = run_python(python, kQueryScript, timeout_seconds);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(who + " cannot be asked its version: " + e.what());
  }
  const std::string& output = run.output;
  const int status = run.status;
  if (run.timed_out) {
    std::ostringstream bound;
    bound << timeout_seconds;
    throw std::invalid_argument(who + " did not answer within " + bound.str() + " s when asked its version (killed)");
  }
  Interpreter it;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string tag;
    if (!(words >> tag) || tag != "mpconform-interpreter") continue;
    if (words >> it.name >> it.major >> it.minor >> it.micro >> it.releaselevel >> it.serial) {
      std::getline(words >> std::ws, it.executable);
      if (!it.executable.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) return it;
    }
  }
  std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  std::string said = last_line(output);
  throw std::invalid_argument(who + " does not start as a Python: asked its version, it " + why +
                              (said.empty() ? std::string(" and printed nothing") : ": " + said));
}

Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths, const InterpreterQuery& query,
                                    std::string* note) {
  Parsed p = parse_one(spec, paths, query);
  if (note) *note = p.note;
  return p.impl;
}

Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths) {
  return parse_implementation(spec, paths, [](const std::string& python) { return query_interpreter(python); });
}

std::vector<Implementation> parse_implementations(const std::vector<std::string>& specs, const AdapterPaths& paths,
                                                  const InterpreterQuery& query, std::vector<std::string>& notes) {
  std::vector<Implementation> impls;
  std::map<std::string, std::string> spec_by_label, spec_by_identity;
  for (const auto& spec : specs) {
    Parsed p = parse_one(spec, paths, query);
    if (auto [it, fresh] = spec_by_identity.emplace(p.identity, spec); !fresh)
      throw std::invalid_argument("--impl " + it->second + " and --impl " + spec + " are the same implementation (" +
                                  p.identity.substr(p.identity.find(':') + 1) + "): give it once");
    if (auto [it, fresh] = spec_by_label.emplace(p.impl.label, spec); !fresh)
      throw std::invalid_argument("--impl " + it->second + " and --impl " + spec + " would both be labelled '" +
                                  p.impl.label + "' (test names must be unique): give one of them label=NAME");
    if (!p.note.empty()) notes.push_back(p.note);
    impls.push_back(std::move(p.impl));
  }
  return impls;
}

}  // namespace mpconform
