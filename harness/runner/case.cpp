#include "case.hpp"

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
  return "";
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
  return out;
}

const Expectation* Case::expectation_for(const Step& step, Version v) const {
  if (step.expects.empty()) return nullptr;
  for (const auto& e : step.expects)
    if (!e.versions || e.versions->matches(v)) return &e;
  throw CaseError(step.pos, "no expectation of this step applies to semantics version " + v.str());
}

}  // namespace mpconform
