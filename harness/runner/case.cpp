#include "case.hpp"

#include <signal.h>

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
    case Outcome::ReturnsInterleaving:
      out = "returns an interleaving of " + std::to_string(value.size()) + " sequences";
      break;
    case Outcome::ReturnsLength: out = "returns something of length " + std::to_string(length); break;
    case Outcome::Raises:
      out = "raises " + exc_type;
      if (!exc_match.empty()) out += " matching /" + exc_match + "/";
      if (exc_args) out += " with args (" + describe_value_list(*exc_args) + ")";
      break;
    case Outcome::Blocks: out = "blocks for " + format_float(blocks) + " s"; break;
    case Outcome::Killed: out = "is in flight when its process is killed by the case's signal"; break;
    case Outcome::Dies: out = "never completes: its process dies first (no signal of the case)"; break;
    case Outcome::ReturnsMatching:
      out = std::string("returns ") + (match_type == "int" || match_type == "object" ? "an " : "a ") + match_type;
      if (match_min) out += " >= " + to_python_repr(*match_min);
      if (match_max) out += std::string(match_min ? " and" : "") + " <= " + to_python_repr(*match_max);
      if (!value_match.empty()) out += " matching /" + value_match + "/";
      break;
  }
  if (!after.empty()) out += ", completing after '" + after + "' started";
  if (min_elapsed || max_elapsed) {
    out += ", elapsed in [" + (min_elapsed ? format_float(*min_elapsed) : std::string("0")) + ", " +
           (max_elapsed ? format_float(*max_elapsed) : std::string("inf")) + "] s";
  }
  if (Keys k = keys(); !k.empty()) out += " (for " + k.describe() + ")";
  return out;
}

bool Keys::matches(const Target& t) const {
  if (versions && !versions->matches(t.semantics)) return false;
  auto in = [](const std::vector<std::string>& list, const std::string& x) {
    return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
  };
  return in(start_methods, t.start_method) && in(platforms, t.platform);
}

std::string Keys::describe() const {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  auto list = [](const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : "|") + i;
    return s;
  };
  if (versions) add(versions->text());
  if (!start_methods.empty()) add("start method " + list(start_methods));
  if (!platforms.empty()) add("platform " + list(platforms));
  return out;
}

int signal_number(const std::string& name) {
  static const std::pair<const char*, int> known[] = {
      {"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},   {"SIGILL", SIGILL},
      {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT}, {"SIGBUS", SIGBUS},     {"SIGFPE", SIGFPE},
      {"SIGKILL", SIGKILL},     {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},   {"SIGUSR2", SIGUSR2},
      {"SIGPIPE", SIGPIPE},     {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},   {"SIGCHLD", SIGCHLD},
      {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},   {"SIGTTIN", SIGTTIN},
      {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},   {"SIGXCPU", SIGXCPU},   {"SIGXFSZ", SIGXFSZ},
      {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},
      {"SIGSYS", SIGSYS}};
  for (const auto& [n, v] : known)
    if (name == n) return v;
  return 0;
}

std::string Step::describe_call() const {
  if (kind == Kind::Await && group.size() > 1) {
    std::string out = "await";
    for (const auto& l : group) out += (out == "await" ? " " : ", ") + l;
    return out;
  }
  if (kind == Kind::Await) return "await " + label;
  if (set_form) return target + "." + method + " = " + to_python_repr(value, 4);
  if (method == "start" && target.empty() && args.size() == 1) return "start " + args[0].value("v", std::string());
  if (method == "__enter__") return "with " + target + ": (enter)";
  if (method == "__exit__") return "with " + target + ": (exit)";
  if (kind == Kind::Signal) return "signal " + signal_name + " to " + actor;
  if (kind == Kind::InFlight) return "in_flight " + label;
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
  if (calls_before_start) out.insert("process_before_start");
  if (!warnings.empty()) out.insert("warnings");
  std::function<bool(const json&)> has_ref = [&](const json& v) {
    if (v.is_object() && v.value("t", std::string()) == "ref") return true;
    if (v.is_object() && v.contains("v") && v["v"].is_array())
      for (const auto& item : v["v"])
        if (item.is_array() ? std::any_of(item.begin(), item.end(), has_ref) : has_ref(item)) return true;
    return false;
  };
  // Value forms an adapter may not be able to make: the feature of the same name.
  std::function<void(const json&)> forms = [&](const json& v) {
    if (v.is_array() || (v.is_object() && !v.contains("t"))) {  // args, kwargs, a dict's pairs
      for (const auto& item : v) forms(item);
      return;
    }
    if (!v.is_object()) return;
    const std::string t = v.value("t", std::string());
    if (t == "local_function" || t == "class") out.insert(t);
    if (v.contains("v") && v["v"].is_array()) forms(v["v"]);
  };
  for (const auto& o : objects) forms(o.args), forms(o.kwargs);
  for (const auto& s : steps) {
    forms(s.args), forms(s.kwargs), forms(s.value);
    if (!s.bind.empty()) out.insert("bind");
    if (s.set_form) out.insert("set");
    if (s.method == "return" || s.method == "raise") out.insert("process_end");
    if (s.method == "exit" && !s.args.empty() && s.args[0].value("t", std::string()) != "int")
      out.insert("process_end");
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
    if (s.kind == Step::Kind::Call && !s.target.empty())
      out.insert(type_of(s.target) + "." + s.method);
    else if (s.kind == Step::Kind::Call && is_function_call(s.method))
      out.insert(s.method);
  return out;
}

const Expectation* Case::expectation_for(const Step& step, Version v) const {
  return expectation_for_target(step, Target{v, "", ""});
}

const Expectation* Case::expectation_for_target(const Step& step, const Target& t) const {
  return expectation_in(step.expects, step, t);
}

const Expectation* Case::expectation_in(const std::vector<Expectation>& expects, const Step& step,
                                        const Target& t) const {
  if (expects.empty()) return nullptr;
  for (const auto& e : expects)
    if (e.keys().matches(t)) return &e;
  std::string what = "semantics version " + t.semantics.str();
  if (t.semantics.micro != 0) what += " (" + t.semantics.full_str() + ")";
  if (std::any_of(expects.begin(), expects.end(), [](const Expectation& e) { return !e.start_methods.empty(); }))
    what += ", start method " + (t.start_method.empty() ? std::string("(not reported)") : t.start_method);
  if (std::any_of(expects.begin(), expects.end(), [](const Expectation& e) { return !e.platforms.empty(); }))
    what += ", platform " + (t.platform.empty() ? std::string("(not reported)") : t.platform);
  throw CaseError(step.pos, "no expectation of this step applies to " + what);
}

}  // namespace mpconform
