#include "implementations.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace mpconform {
namespace {

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_');
  return out;
}

// A readable label from an interpreter path: /root/.pyenv/versions/3.8.18/bin/python -> 3_8,
// /usr/bin/pypy3 -> pypy3.
std::string label_from_path(const std::string& path) {
  std::smatch m;
  static const std::regex version(R"((\d+)\.(\d+)(\.\d+)?)");
  if (std::regex_search(path, m, version)) return m[1].str() + "_" + m[2].str();
  auto slash = path.rfind('/');
  return sanitize(slash == std::string::npos ? path : path.substr(slash + 1));
}

}  // namespace

Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths) {
  Implementation impl;
  impl.spec = spec;
  if (spec.starts_with("cmd:")) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 4) throw std::invalid_argument("--impl cmd:LABEL=COMMAND: missing LABEL= in '" + spec + "'");
    impl.label = sanitize(spec.substr(4, eq - 4));
    std::istringstream words(spec.substr(eq + 1));
    for (std::string w; words >> w;) impl.command.push_back(w);
    if (impl.command.empty()) throw std::invalid_argument("--impl " + spec + ": empty command");
    return impl;
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
  std::string module, start, label;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq), value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (value.empty()) throw std::invalid_argument("--impl " + spec + ": option '" + parts[i] + "' is not key=value");
    if (key == "module" && kind == "cpython") module = value;
    else if (key == "start" && kind == "cpython") start = value;
    else if (key == "label") label = sanitize(value);
    else throw std::invalid_argument("--impl " + spec + ": unknown option '" + key + "' for " + kind);
  }
  if (kind == "cpython") {
    std::string python = path;
    if (python.empty()) python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    impl.command = {python, paths.cpython_adapter};
    if (!module.empty()) impl.command.insert(impl.command.end(), {"--module", module});
    if (!start.empty()) {
      if (start != "fork" && start != "spawn" && start != "forkserver")
        throw std::invalid_argument("--impl " + spec + ": start must be fork, spawn or forkserver");
      impl.command.insert(impl.command.end(), {"--start-method", start});
    }
    impl.label = "cpython";
    if (!path.empty()) impl.label += "_" + label_from_path(path);
    if (!module.empty() && module != "multiprocessing") impl.label += "_" + sanitize(module);
    if (!start.empty()) impl.label += "_" + start;
  } else if (kind == "cpp") {
    impl.command = {path.empty() ? paths.cpp_adapter : path};
    impl.label = "cpp";
  } else {
    throw std::invalid_argument("--impl " + spec + ": unknown implementation '" + kind + "' (cpython, cpp or cmd:LABEL=COMMAND)");
  }
  if (!label.empty()) impl.label = label;
  return impl;
}

}  // namespace mpconform
