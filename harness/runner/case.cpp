#include "case.hpp"

#include <algorithm>
#include <functional>

namespace mpconform {
namespace {

std::string describe_value_list(const json& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + to_python_repr(v, 8);
  return out;
}

}  // namespace

std::string SourcePos::str() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Expectation::describe() const {
  std::string out;
  switch (outcome) {
    case Outcome::Ok: out = "completes without raising"; break;
    case Outcome::Returns: out = "returns " + to_python_repr(value); break;
    case Outcome::ReturnsAny: out = "returns one of " + describe_value_list(value); break;
    case Outcome::ReturnsInterleaving: out = "returns an interleaving of " + std::to_string(value.size()) + " sequences"; break;
    case Outcome::ReturnsLength: out = "returns something of length " + std::to_string(length); break;
    case Outcome::Raises:
      out = "raises " + exc_type;
      if (!exc_match.empty()) out += " matching /" + exc_match + "/";
      if (exc_args) out += " with args (" + describe_value_list(*exc_args) + ")";
      break;
    case Outcome::Blocks: out = "blocks for " + format_float(blocks) + " s"; break;
  }
  if (min_elapsed || max_elapsed) {
    out += ", elapsed in [" + (min_elapsed ? format_float(*min_elapsed) : std::string("0")) + ", " +
           (max_elapsed ? format_float(*max_elapsed) : std::string("inf")) + "] s";
  }
  if (versions) out += " (for " + versions->text() + ")";
  return out;
}

std::string Step::describe_call() const {
  if (kind == Kind::Await) return "await " + label;
  if (set_form) return target + "." + method + " = " + to_python_repr(value, 4);
  if (method == "start" && target.empty() && args.size() == 1) return "start " + args[0].value("v", std::string());
  if (method == "__enter__") return "with " + target + ": (enter)";
  if (method == "__exit__") return "with " + target + ": (exit)";
  std::string out = target.empty() ? method : target + "." + method;
  out += "(";
  bool first = true;
  for (const auto& a : args) {
    out += (first ? "" : ", ") + to_python_repr(a, 4);
    first = false;
  }
  for (const auto& [k, v] : kwargs.items()) {
    out += (first ? "" : ", ") + k + "=" + to_python_repr(v, 4);
    first = false;
  }
  return out + ")";
}

std::string Case::type_of(const std::string& name) const {
  for (const auto& o : objects)
    for (std::size_t i = 0; i < o.names.size(); ++i)
      if (o.names[i] == name) {
        if (i < o.name_types.size()) return o.name_types[i];
        return o.type == "Pipe" ? "Connection" : o.type;  // a declaration not made by the loader
      }
  for (const auto& a : actors)
    if (a.name == name && a.kind == "process") return "Process";
  if (auto it = bound_types.find(name); it != bound_types.end()) return it->second;
  return "";
}

const ActorDecl* Case::actor(const std::string& name) const {
  for (const auto& a : actors)
    if (a.name == name) return &a;
  return nullptr;
}

std::set<std::string> Case::required_features() const {
  std::set<std::string> out;
  for (const auto& a : actors)
    if (a.start == "step" || (a.kind == "process" && !a.in.empty() && a.in != "main")) out.insert("step_start");
  std::function<bool(const json&)> has_ref = [&](const json& v) {
    if (v.is_object() && v.value("t", std::string()) == "ref") return true;
    if (v.is_object() && v.contains("v") && v["v"].is_array())
      for (const auto& item : v["v"])
        if (item.is_array() ? std::any_of(item.begin(), item.end(), has_ref) : has_ref(item)) return true;
    return false;
  };
  for (const auto& s : steps) {
    if (!s.bind.empty()) out.insert("bind");
    if (s.set_form) out.insert("set");
    if (s.method == "return" || s.method == "raise") out.insert("process_end");
    if (s.method == "exit" && !s.args.empty() && s.args[0].value("t", std::string()) != "int") out.insert("process_end");
    for (const auto& e : s.expects)
      if ((e.outcome == Expectation::Outcome::Returns && has_ref(e.value)) ||
          (e.outcome == Expectation::Outcome::ReturnsAny && std::any_of(e.value.begin(), e.value.end(), has_ref)))
        out.insert("object_names");
  }
  return out;
}

std::set<std::string> Case::required_contexts() const {
  std::set<std::string> out;
  for (const auto& o : objects)
    if (!o.context.empty()) out.insert(o.context);
  for (const auto& a : actors)
    if (!a.start_method.empty()) out.insert(a.start_method);
  return out;
}

std::set<std::string> Case::required_types() const {
  std::set<std::string> out;
  for (const auto& o : objects) out.insert(o.type);
  for (const auto& a : actors)
    if (a.kind == "process") out.insert("Process");
  return out;
}

std::set<std::string> Case::required_ops() const {
  std::set<std::string> out;
  for (const auto& s : steps)
    if (s.kind == Step::Kind::Call && !s.target.empty()) out.insert(type_of(s.target) + "." + s.method);
    else if (s.kind == Step::Kind::Call && is_function_call(s.method)) out.insert(s.method);
  return out;
}

const Expectation* Case::expectation_for(const Step& step, Version v) const {
  if (step.expects.empty()) return nullptr;
  for (const auto& e : step.expects)
    if (!e.versions || e.versions->matches(v)) return &e;
  throw CaseError(step.pos, "no expectation of this step applies to semantics version " + v.str());
}

}  // namespace mpconform
