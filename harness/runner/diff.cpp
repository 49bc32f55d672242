#include "diff.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "options.hpp"
#include "protocol.hpp"
#include "report.hpp"
#include "values.hpp"

namespace mpconform {
namespace {

const char* kDiffUsage = R"(usage: mpconform diff [--time-threshold S] [--time-factor F] A B
       mpconform diff [--time-threshold S] [--time-factor F] --impl X --impl Y [runner options]

Prints every case whose verdict or observed trace differs between two implementations: the
verdicts, then each differing step with A's observation above B's. A trace differs where the
expectations may tolerate it too: another exception type or message, other returned values,
other expectations (another semantics version), elapsed times further apart than the threshold.

  A, B               results files (--report FILE), each FILE or FILE:LABEL when the file holds
                     more than one implementation (FILE:LABEL for both sides of one file works)
  --impl X --impl Y  runs the cases for both first (other options go to the runner: --cases,
                     --jobs, --gtest_filter=…), then compares them
  --time-threshold S elapsed times differ when more than S seconds apart (default 0.1) ...
  --time-factor F    ... and more than F times the longer one apart (default 0.25)

Exit status: 0 when nothing differs, 1 when something does, 2 when the inputs cannot be compared.
)";

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// An object's address in an exception message ("<… Queue object at 0x7f36237c6950>") differs from
// run to run of the same implementation: it is left out of the comparison.
std::string without_addresses(const std::string& text) {
  static const std::regex address(R"(\bat 0x[0-9a-fA-F]+)");
  return std::regex_replace(text, address, "at 0x…");
}

// "CPython 3.8.18, semantics 3.8" from an implementations entry.
std::string describe_impl(const json& entry) {
  const json& hello = entry.contains("implementation") ? entry["implementation"] : json();
  if (!hello.is_object()) return "no hello seen";
  std::string out = str(hello, "name");
  if (!str(hello, "version").empty()) out += " " + str(hello, "version");
  out += ", semantics " + (str(hello, "semantics").empty() ? std::string("?") : str(hello, "semantics"));
  return out;
}

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// Equal as Python values (spec/values.md: a set's items in any order, nan equal to nan), or as JSON
// where one is no value (a `truncated` marker).
bool same_value(const json& a, const json& b) {
  if (a.contains("truncated") || b.contains("truncated")) return a == b;  // same size and CRC-32
  // An object (a Connection received, a Queue made by a call) is no Python value; two are the
  // same result when they are of one type under one name, whatever address their repr shows.
  if (str(a, "t") == "object" && str(b, "t") == "object")
    return str(a, "type") == str(b, "type") && str(a, "name") == str(b, "name");
  try {
    return values_equal(a, b);
  } catch (const std::exception&) {
    return a == b;
  }
}

bool same_args(const json& a, const json& b) {
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return a == b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (same_value(a[i], b[i])) continue;
    const bool both_str = str(a[i], "t") == "str" && str(b[i], "t") == "str";
    if (!both_str || without_addresses(str(a[i], "v")) != without_addresses(str(b[i], "v"))) return false;
  }
  return true;
}

// An expectation that more than one value meets (its text, as Expectation::describe writes it).
bool accepts_several_values(const std::string& expected) {
  return expected.starts_with("returns one of ") || expected.starts_with("returns an interleaving of ") ||
         expected.starts_with("returns something of length ");
}

// Why two steps differ, one phrase each (`why`), and what differs only as the case allows
// (`allowed`: two returned values that both met one returns_any, returns_interleaving or
// returns_length, such as producers' items interleaved another way); both empty when they agree.
struct StepDifferences {
  std::vector<std::string> why, allowed;
};
StepDifferences step_differences(const json& a, const json& b, const DiffOptions& o) {
  StepDifferences d;
  std::vector<std::string>& why = d.why;
  if (str(a, "call") != str(b, "call")) why.push_back("call");
  if (str(a, "expected") != str(b, "expected")) why.push_back("expectation");
  const json oa = a.value("outcome", json()), ob = b.value("outcome", json());
  const std::string ka = str(oa, "kind"), kb = str(ob, "kind");
  if (ka != kb) {
    why.push_back("outcome");
  } else if (ka == "returned") {
    if (!same_value(oa.value("value", json()), ob.value("value", json()))) {
      const std::string expected = str(a, "expected");
      const bool both_met = str(a, "problem").empty() && str(b, "problem").empty() && expected == str(b, "expected");
      if (both_met && accepts_several_values(expected))
        d.allowed.push_back("returned value (both meet \"" + expected + "\")");
      else
        why.push_back("returned value");
    }
  } else if (ka == "raised") {
    if (str(oa, "type") != str(ob, "type")) why.push_back("exception type");
    if (without_addresses(str(oa, "message")) != without_addresses(str(ob, "message")))
      why.push_back("exception message");
    // Args are compared apart only when the messages agree: the message is usually str(args[0]).
    else if (!same_args(oa.value("args", json()), ob.value("args", json())))
      why.push_back("exception args");
  } else if (oa.is_null() && str(a, "observed") != str(b, "observed")) {
    why.push_back("observed");  // no typed outcome on either side (a malformed result): compare the text
  }
  const json ea = a.value("elapsed", json()), eb = b.value("elapsed", json());
  if (ea.is_number() && eb.is_number()) {
    const double x = ea.get<double>(), y = eb.get<double>(), apart = std::fabs(x - y);
    if (apart > o.time_threshold && apart > o.time_factor * std::max(x, y))
      why.push_back("elapsed (" + format_seconds(apart) + " s apart)");
  }
  if (str(a, "problem") != str(b, "problem")) why.push_back("mismatch");
  return d;
}

std::string step_line(const json& s) {
  std::string out = str(s, "observed").empty() ? "(no outcome)" : str(s, "observed");
  if (!str(s, "problem").empty()) out += "  MISMATCH: " + str(s, "problem");
  return out;
}

std::string verdict_text(const json& r) {
  std::string out = str(r, "verdict");
  if (!str(r, "reason").empty() && str(r, "verdict") != "passed") out += " (" + excerpt(str(r, "reason"), 160) + ")";
  return out;
}

// FILE or FILE:LABEL (a name that exists as a file is a file, whatever its colons).
std::pair<std::string, std::string> split_side(const std::string& arg) {
  if (std::filesystem::exists(arg)) return {arg, ""};
  auto colon = arg.rfind(':');
  if (colon == std::string::npos) return {arg, ""};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

double seconds_option(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || !(v >= 0) || !std::isfinite(v))
    throw std::invalid_argument(name + " takes a number ≥ 0, not '" + text + "'");
  return v;
}

// Runs the runner (`self` ARGS --report FILE) with its output on stderr; false if it wrote no file.
bool run_runner(const std::string& self, std::vector<std::string> args, const std::string& file) {
  args.insert(args.begin(), self);
  args.push_back("--report");
  args.push_back(file);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(2, 1);  // stdout is the diff's
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(self.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return false;
  return std::filesystem::exists(file);
}

}  // namespace

DiffSide diff_side(const json& doc, const std::string& file, const std::string& label) {
  std::vector<std::string> labels;
  for (const auto& i : doc["implementations"]) labels.push_back(str(i, "label"));
  std::string chosen = label;
  if (chosen.empty()) {
    if (labels.size() != 1) {
      std::string list;
      for (const auto& l : labels) list += " " + l;
      throw std::runtime_error(file + " holds " + std::to_string(labels.size()) + " implementations (" +
                               (list.empty() ? " none" : list) + " ): name one as " + file + ":LABEL");
    }
    chosen = labels[0];
  }
  DiffSide side;
  side.name = file + ":" + chosen;
  bool found = false;
  for (const auto& i : doc["implementations"])
    if (str(i, "label") == chosen) {
      side.implementation = i;
      found = true;
    }
  if (!found) {
    std::string list;
    for (const auto& l : labels) list += " " + l;
    throw std::runtime_error(file + " has no implementation '" + chosen + "' (it has:" + list + ")");
  }
  for (const auto& r : doc["results"])
    if (str(r, "implementation") == chosen) side.results.push_back(r);
  return side;
}

DiffReport diff_results(const DiffSide& a, const DiffSide& b, const DiffOptions& o) {
  // By case id; a case run several times (--gtest_repeat) is compared by its first run.
  std::map<std::string, const json*> in_a, in_b;
  for (const auto& r : a.results) in_a.emplace(str(r, "case"), &r);
  for (const auto& r : b.results) in_b.emplace(str(r, "case"), &r);
  std::set<std::string> ids;
  for (const auto& [id, _] : in_a) ids.insert(id);
  for (const auto& [id, _] : in_b) ids.insert(id);

  std::ostringstream out;
  out << "--- A: " << a.name << " (" << describe_impl(a.implementation) << ")\n";
  out << "+++ B: " << b.name << " (" << describe_impl(b.implementation) << ")\n";
  DiffReport report;
  int by_verdict = 0, compared = 0, only_a = 0, only_b = 0, allowed_only = 0;
  for (const auto& id : ids) {
    const json* ra = in_a.contains(id) ? in_a[id] : nullptr;
    const json* rb = in_b.contains(id) ? in_b[id] : nullptr;
    const json& any = ra ? *ra : *rb;
    const std::string where = id + " (" + str(any, "file") + ":" + std::to_string(any.value("line", 1)) + ")";
    if (!ra || !rb) {
      out << where << "\n  only in " << (ra ? "A" : "B") << ": " << verdict_text(any) << "\n";
      ++(ra ? only_a : only_b);
      ++report.differing;
      continue;
    }
    ++compared;
    const bool verdict_differs = str(*ra, "verdict") != str(*rb, "verdict");
    std::ostringstream steps;
    const json ta = ra->value("trace", json::array()), tb = rb->value("trace", json::array());
    // A side that ran no step (skipped, or its shard died) is told by its verdict alone.
    const std::size_t steps_to_compare = ta.empty() || tb.empty() ? 0 : std::max(ta.size(), tb.size());
    bool trace_differs = false;
    for (std::size_t i = 0; i < steps_to_compare; ++i) {
      const json* sa = i < ta.size() ? &ta[i] : nullptr;
      const json* sb = i < tb.size() ? &tb[i] : nullptr;
      StepDifferences d;
      if (sa && sb)
        d = step_differences(*sa, *sb, o);
      else
        d.why.push_back("step run by " + std::string(sa ? "A" : "B") + " only");
      const std::vector<std::string>& why = d.why;
      if (why.empty() && d.allowed.empty()) continue;
      trace_differs = trace_differs || !why.empty();
      const json& s = sa ? *sa : *sb;
      steps << "  step " << s.value("step", 0) << " [" << str(s, "actor") << "] " << str(s, "call") << "\n";
      if (sa && sb && str(*sa, "expected") != str(*sb, "expected")) {
        steps << "    A expects: " << str(*sa, "expected") << "\n";
        steps << "    B expects: " << str(*sb, "expected") << "\n";
      }
      steps << "    A: " << (sa ? step_line(*sa) : "(not run)") << "\n";
      steps << "    B: " << (sb ? step_line(*sb) : "(not run)") << "\n";
      auto joined = [](const std::vector<std::string>& phrases) {
        std::string out;
        for (const auto& w : phrases) out += (out.empty() ? "" : ", ") + w;
        return out;
      };
      if (!why.empty()) steps << "    differs: " << joined(why) << "\n";
      if (!d.allowed.empty()) steps << "    allowed: " << joined(d.allowed) << "\n";
    }
    if (!verdict_differs && steps.str().empty()) continue;
    if (!verdict_differs && !trace_differs) {  // shown, but no difference: the case allows both
      ++allowed_only;
      out << where << "\n  verdict: A " << verdict_text(*ra) << " | B " << verdict_text(*rb) << "\n" << steps.str();
      continue;
    }
    ++report.differing;
    if (verdict_differs) ++by_verdict;
    out << where << "\n  verdict: A " << verdict_text(*ra) << " | B " << verdict_text(*rb) << "\n" << steps.str();
  }
  out << report.differing << " of " << ids.size() << " cases differ: " << by_verdict << " in verdict, "
      << (report.differing - by_verdict - only_a - only_b) << " in the trace only, " << only_a << " only in A, "
      << only_b << " only in B";
  if (allowed_only)
    out << "; " << allowed_only << " more differ" << (allowed_only == 1 ? "s" : "") << " only as "
        << (allowed_only == 1 ? "its case allows" : "their cases allow");
  out << "\n";
  report.allowed_only = allowed_only;
  report.text = out.str();
  return report;
}

int diff_main(const std::vector<std::string>& args, const std::string& self) {
  DiffOptions o;
  std::vector<std::string> sides, impls, runner_args;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&](const std::string& name) { return option_value(args, i, name); };
      if (a == "--help" || a == "-h") {
        std::cout << kDiffUsage;
        return 0;
      } else if (is_option(a, "--time-threshold")) {
        o.time_threshold = seconds_option("--time-threshold", value("--time-threshold"));
      } else if (is_option(a, "--time-factor")) {
        o.time_factor = seconds_option("--time-factor", value("--time-factor"));
      } else if (is_option(a, "--impl")) {
        impls.push_back(value("--impl"));
        runner_args.push_back("--impl");
        runner_args.push_back(impls.back());
      } else if (is_option(a, "--report") || is_option(a, "--results")) {
        throw std::invalid_argument(
            "diff --impl writes its own results file; run the cases with --report FILE, then diff the files");
      } else if (a.starts_with("-")) {
        runner_args.push_back(a);  // the runner's; one taking a value gets it with '=' or as the next word
        if (a.find('=') == std::string::npos && !a.starts_with("--gtest_") && i + 1 < args.size() &&
            !args[i + 1].starts_with("-"))
          runner_args.push_back(args[++i]);
      } else {
        sides.push_back(a);
      }
    }
    if (impls.empty() ? sides.size() != 2 : (impls.size() != 2 || !sides.empty()))
      throw std::invalid_argument("diff takes two results files, or --impl twice (see mpconform diff --help)");
  } catch (const std::invalid_argument& e) {
    std::cerr << "mpconform diff: " << e.what() << "\n";
    return 2;
  }
  try {
    DiffSide a, b;
    if (!impls.empty()) {
      const std::string file = "/tmp/mpconform-diff-" + std::to_string(getpid()) + ".json";
      const bool written = run_runner(self, runner_args, file);
      json doc;
      try {
        if (written) doc = read_results_file(file);
      } catch (...) {
        std::filesystem::remove(file);
        throw;
      }
      std::filesystem::remove(file);
      if (!written) throw std::runtime_error("the runner wrote no results file (its output is above)");
      if (doc["implementations"].size() != 2)
        throw std::runtime_error("the two --impl have the same label: give one ,label=L");
      a = diff_side(doc, "--impl " + impls[0], str(doc["implementations"][0], "label"));
      b = diff_side(doc, "--impl " + impls[1], str(doc["implementations"][1], "label"));
      a.name = str(a.implementation, "label");
      b.name = str(b.implementation, "label");
    } else {
      auto [fa, la] = split_side(sides[0]);
      auto [fb, lb] = split_side(sides[1]);
      a = diff_side(read_results_file(fa), fa, la);
      b = diff_side(read_results_file(fb), fb, lb);
    }
    DiffReport r = diff_results(a, b, o);
    std::cout << r.text << std::flush;
    return r.differing ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "mpconform diff: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace mpconform
