#include "matrix.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "implementations.hpp"
#include "yaml_position.hpp"

namespace mpconform {
namespace fs = std::filesystem;

namespace {

std::string scalar(const std::string& file, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty()) fail(file, line_of(node), what + " must be a non-empty string");
  return node.Scalar();
}

// ${name}, ${NAME:-default} and a leading ~.
std::string expand(const std::string& file, int line, const std::string& text, const MatrixVariables& variables) {
  std::string out;
  std::size_t i = 0;
  if (text.starts_with("~/") || text == "~") {
    const char* home = std::getenv("HOME");
    if (!home) fail(file, line, "'" + text + "' starts with ~ but HOME is not set");
    out = home;
    i = 1;
  }
  while (i < text.size()) {
    if (text.compare(i, 2, "${") != 0) {
      out.push_back(text[i++]);
      continue;
    }
    std::size_t end = i + 2;  // the matching }, past any ${...} in a default
    for (int depth = 1; end < text.size(); ++end) {
      if (text.compare(end, 2, "${") == 0)
        ++depth, ++end;
      else if (text[end] == '}' && --depth == 0)
        break;
    }
    if (end >= text.size()) fail(file, line, "'" + text + "': ${ without }");
    std::string inner = text.substr(i + 2, end - i - 2), fallback;
    bool has_fallback = false;
    if (auto sep = inner.find(":-"); sep != std::string::npos) {
      fallback = expand(file, line, inner.substr(sep + 2), variables);
      inner = inner.substr(0, sep);
      has_fallback = true;
    }
    std::string value;
    bool found = false;
    if (auto v = variables.find(inner); v != variables.end()) {
      value = v->second;
      found = true;
    } else if (const char* env = std::getenv(inner.c_str()); env && *env) {
      value = env;
      found = true;
    }
    if (!found && !has_fallback)
      fail(file, line, "'" + text + "': ${" + inner + "} is not set (give ${" + inner + ":-DEFAULT})");
    out += found ? value : fallback;
    i = end + 1;
  }
  return out;
}

// Runs `python -c "import module"`, bounded; "" when it succeeded, else why not.
std::string import_fails(const std::string& python, const std::string& module, double timeout_seconds = 30) {
  PythonRun run;
  try {
    run = run_python(python, "import " + module, timeout_seconds);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  if (run.timed_out) return "importing it took over 30 s";
  if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) return "";
  std::string said = last_line(run.output);
  return said.empty() ? "the import failed" : said;
}

}  // namespace

std::vector<MatrixEntry> read_matrix(const fs::path& path, const MatrixVariables& variables) {
  const std::string file = path.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw std::invalid_argument(file + ": the matrix file cannot be read");
  } catch (const YAML::Exception& e) {
    fail(file, e.mark.is_null() ? 0 : e.mark.line + 1, "not valid YAML: " + e.msg);
  }
  if (!root.IsMap() || !root["implementations"])
    fail(file, 1, "a matrix file is a mapping with a list 'implementations'");
  for (const auto& kv : root)
    if (kv.first.Scalar() != "implementations")
      fail(file, line_of(kv.first), "unknown key '" + kv.first.Scalar() + "' (known: implementations)");
  const YAML::Node list = root["implementations"];
  if (!list.IsSequence() || list.size() == 0) fail(file, line_of(list), "implementations must be a non-empty list");
  const fs::path dir = fs::absolute(path).parent_path();
  std::vector<MatrixEntry> entries;
  std::set<std::string> names;
  for (const auto& item : list) {
    MatrixEntry e;
    e.line = line_of(item);
    if (!item.IsMap()) fail(file, e.line, "an implementation must be a mapping (name, impl, known, needs)");
    std::set<std::string> seen;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (key != "name" && key != "impl" && key != "known" && key != "needs")
        fail(file, line_of(kv.first), "unknown key '" + key + "' (known: name, impl, known, needs)");
      if (!seen.insert(key).second) fail(file, line_of(kv.first), "duplicate key '" + key + "'");
    }
    if (!item["name"] || !item["impl"]) fail(file, e.line, "an implementation needs 'name' and 'impl'");
    e.name = scalar(file, item["name"], "name");
    if (!names.insert(e.name).second) fail(file, e.line, "the name '" + e.name + "' is used twice");
    e.impl = expand(file, line_of(item["impl"]), scalar(file, item["impl"], "impl"), variables);
    if (e.impl.starts_with("cmd:") && item["known"])
      fail(file, line_of(item["known"]), "a cmd: implementation takes no known file (its command is split on spaces)");
    if (item["known"]) {
      fs::path known = expand(file, line_of(item["known"]), scalar(file, item["known"], "known"), variables);
      e.known = (known.is_absolute() ? known : dir / known).lexically_normal().string();
    }
    if (const YAML::Node needs = item["needs"]) {
      if (!needs.IsSequence()) fail(file, line_of(needs), "needs must be a list");
      for (const auto& n : needs) {
        MatrixEntry::Need need;
        need.line = line_of(n);
        if (!n.IsMap() || n.size() != 1)
          fail(file, need.line,
               "a need is one of {executable: PATH}, {file: PATH}, {python_module: {python: PATH, module: NAME}}");
        need.kind = n.begin()->first.Scalar();
        const YAML::Node value = n.begin()->second;
        if (need.kind == "executable" || need.kind == "file") {
          need.path = expand(file, need.line, scalar(file, value, need.kind), variables);
        } else if (need.kind == "python_module") {
          if (!value.IsMap() || !value["python"] || !value["module"] || value.size() != 2)
            fail(file, need.line, "python_module takes {python: PATH, module: NAME}");
          need.path = expand(file, need.line, scalar(file, value["python"], "python"), variables);
          need.module = scalar(file, value["module"], "module");
          for (char c : need.module)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
              fail(file, need.line, "module '" + need.module + "' is not a dotted Python name");
        } else {
          fail(file, need.line, "unknown need '" + need.kind + "' (executable, file, python_module)");
        }
        e.needs.push_back(std::move(need));
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string unmet(const MatrixEntry::Need& need) {
  if (need.kind == "executable") return access(need.path.c_str(), X_OK) == 0 ? "" : need.path + " is not an executable";
  if (need.kind == "file") return fs::exists(need.path) ? "" : need.path + " does not exist";
  if (need.kind == "python_module") {
    if (access(need.path.c_str(), X_OK) != 0) return need.path + " is not an executable";
    std::string why = import_fails(need.path, need.module);
    return why.empty() ? "" : need.path + " cannot import " + need.module + ": " + why;
  }
  return "unknown need " + need.kind;
}

MatrixPlan plan_matrix(const fs::path& file, const MatrixVariables& variables,
                       const std::function<std::string(const MatrixEntry::Need&)>& check) {
  MatrixPlan plan;
  for (auto& e : read_matrix(file, variables)) {
    std::string why;
    for (const auto& need : e.needs)
      if (why = check(need); !why.empty()) break;
    if (why.empty())
      plan.run.push_back(std::move(e));
    else
      plan.skipped.push_back(e.name + " (" + file.string() + ":" + std::to_string(e.line) + "): not run: " + why);
  }
  return plan;
}

std::string matrix_impl_spec(const MatrixEntry& entry) {
  return entry.known.empty() ? entry.impl : entry.impl + ",known=" + entry.known;
}

}  // namespace mpconform
