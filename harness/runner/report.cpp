#include "report.hpp"

#include <sys/utsname.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#ifndef MPC_RUNNER_VERSION
#define MPC_RUNNER_VERSION "unknown"
#endif

namespace mpconform {

namespace {

const Verdict kVerdicts[] = {Verdict::Pass,          Verdict::Fail,           Verdict::Differs,
                             Verdict::Skipped,       Verdict::Crashed,        Verdict::TimedOut,
                             Verdict::ProtocolError, Verdict::AdapterError,   Verdict::Leaked,
                             Verdict::CaseError,     Verdict::RecommendedFail, Verdict::ExpectedDivergence,
                             Verdict::NewlyPassing};

// The output of a short command (git), or nullopt when it fails.
std::optional<std::string> command_output(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The case tree's commit and whether its files differ from it; null when it is no git checkout.
json case_tree_git(const std::string& dir) {
  const std::string git = "git -C " + shell_quote(dir) + " ";
  auto head = command_output(git + "rev-parse HEAD 2>/dev/null");
  if (!head || head->size() < 40) return nullptr;
  auto status = command_output(git + "status --porcelain -- . 2>/dev/null");
  return {{"commit", head->substr(0, 40)}, {"dirty", status ? json(!status->empty()) : json(nullptr)}};
}

json host_json() {
  struct utsname u {};
  if (uname(&u) != 0) return json::object();
  return {{"name", u.nodename}, {"system", u.sysname}, {"release", u.release}, {"machine", u.machine}};
}

json limits_json(const Limits& l) {
  return {{"max_case_bytes", l.case_file_bytes},     {"max_generated_items", l.generated_items}, {"max_payload_bytes", l.payload_bytes},
          {"max_case_nesting", l.case_nesting},      {"max_case_timeout", l.case_timeout},       {"max_frame_bytes", l.frame_bytes},
          {"max_message_nesting", l.message_nesting}};
}

// "cases/x.yaml:3:5: what" -> {"file", "line", "error"}; a message of another shape keeps file "".
json malformed_json(const std::string& error) {
  static const std::regex where(R"(^(.*?):(\d+):(\d+): )");
  std::smatch m;
  if (std::regex_search(error, m, where)) return {{"file", m[1].str()}, {"line", std::stoi(m[2].str())}, {"error", error}};
  auto colon = error.find(':');
  return {{"file", error.substr(0, colon)}, {"line", 0}, {"error", error}};
}

}  // namespace

Verdict verdict_from_name(const std::string& name) {
  for (Verdict v : kVerdicts)
    if (name == verdict_name(v)) return v;
  throw std::invalid_argument("unknown verdict '" + name + "'");
}

json trace_to_json(const std::vector<StepRecord>& trace) {
  json steps = json::array();
  for (const auto& s : trace)
    steps.push_back({{"step", s.index},
                     {"line", s.line},
                     {"actor", s.actor},
                     {"call", s.call},
                     {"expected", s.expected},
                     {"observed", s.observed},
                     {"outcome", s.outcome},
                     {"elapsed", s.elapsed ? json(*s.elapsed) : json(nullptr)},
                     {"problem", s.problem}});
  return steps;
}

json record_to_json(const Record& r) {
  return {{"implementation", r.impl}, {"case", r.case_id},   {"file", r.file},       {"line", r.line},       {"title", r.title},
          {"level", r.level},         {"tags", r.tags},      {"spec", r.spec},       {"verdict", verdict_name(r.verdict)},
          {"reason", r.reason},       {"seconds", r.seconds}, {"rerun", r.rerun},    {"trace", r.trace},     {"details", r.details}};
}

Record record_from_json(const json& j) {
  Record r;
  r.impl = j.value("implementation", std::string());
  r.case_id = j.value("case", std::string());
  r.level = j.value("level", std::string());
  r.verdict = verdict_from_name(j.value("verdict", std::string("passed")));
  r.reason = j.value("reason", std::string());
  r.seconds = j.value("seconds", 0.0);
  r.details = j.value("details", std::string());
  r.file = j.value("file", std::string());
  r.line = j.value("line", 1);
  r.title = j.value("title", std::string());
  r.spec = j.value("spec", std::string());
  r.tags = j.value("tags", std::vector<std::string>());
  r.rerun = j.value("rerun", std::string());
  r.trace = j.value("trace", json::array());
  return r;
}

std::string utc_iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json results_document(const RunInfo& run, const std::vector<ImplInfo>& impls, const std::vector<Record>& records,
                      const std::vector<std::string>& malformed) {
  json implementations = json::array();
  for (const auto& impl : impls) {
    json hello = nullptr;  // no case reached the adapter's hello (every one crashed before it, or none ran)
    for (const auto& r : records)
      if (r.impl == impl.label && r.implementation.is_object() && !r.implementation.empty()) {
        hello = r.implementation;
        break;
      }
    implementations.push_back({{"label", impl.label}, {"spec", impl.spec}, {"implementation", hello}});
  }
  json results = json::array();
  for (const auto& r : records) results.push_back(record_to_json(r));
  json bad = json::array();
  for (const auto& e : malformed) bad.push_back(malformed_json(e));
  json run_json = {{"command", run.command},
                   {"started", run.started},
                   {"wall_seconds", run.wall_seconds},
                   {"cases", {{"dir", run.cases_dir}, {"git", case_tree_git(run.cases_dir)}}},
                   {"runner_version", MPC_RUNNER_VERSION},
                   {"jobs", run.jobs},
                   {"isolation", run.isolation},
                   {"limits", limits_json(run.limits)},
                   {"host", host_json()}};
  return {{"format", kResultsFormat}, {"run", run_json}, {"implementations", implementations}, {"results", results}, {"malformed", bad}};
}

json read_results_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(path + ": not JSON");
  if (doc.is_array())
    throw std::runtime_error(path + ": a bare array is the report of mpconform before " + std::string(kResultsFormat) + "; run the cases again");
  if (!doc.is_object() || doc.value("format", std::string()) != kResultsFormat)
    throw std::runtime_error(path + ": not an mpconform results file (\"format\" is not \"" + std::string(kResultsFormat) + "\")");
  if (!doc.contains("results") || !doc["results"].is_array() || !doc.contains("implementations") || !doc["implementations"].is_array())
    throw std::runtime_error(path + ": a results file needs the arrays \"implementations\" and \"results\"");
  return doc;
}

Tally tally(const std::vector<Record>& records) {
  Tally t;
  for (const auto& r : records) {
    switch (r.verdict) {
      case Verdict::Pass: ++t.passed; break;
      case Verdict::Skipped: ++t.skipped; break;
      case Verdict::Differs: ++t.differs; break;
      default: ++t.failed; break;
    }
  }
  return t;
}

std::string summary_line(const Tally& t, double wall_seconds) {
  std::ostringstream out;
  // Cases where a non-CPython implementation differs on a cpython-specific quirk are not failures,
  // and not hidden: they are counted with the skipped and named apart.
  out << t.passed << " passed, " << t.failed << " failed, " << (t.skipped + t.differs) << " skipped";
  if (t.differs) out << " (" << t.differs << " of them differ on cpython-specific cases)";
  char wall[32];
  std::snprintf(wall, sizeof wall, "%.1f", wall_seconds);
  out << " in " << wall << " s";
  return out.str();
}

std::string comparison(const std::vector<Record>& records) {
  std::set<std::string> impls;
  std::map<std::string, std::map<std::string, std::string>> by_case;  // case -> impl -> verdict
  for (const auto& r : records) {
    if (r.verdict == Verdict::CaseError && r.impl == "malformed") continue;  // not an implementation
    impls.insert(r.impl);
    auto& cell = by_case[r.case_id][r.impl];
    std::string v = verdict_name(r.verdict);
    if (cell.empty()) cell = v;
    else if (cell.find(v) == std::string::npos) cell += "/" + v;  // repeated runs that disagree
  }
  if (impls.size() < 2) return "";
  std::ostringstream out;
  int rows = 0;
  for (const auto& [id, cells] : by_case) {
    std::set<std::string> distinct;
    for (const auto& impl : impls) distinct.insert(cells.contains(impl) ? cells.at(impl) : "not run");
    if (distinct.size() < 2) continue;
    if (rows++ == 0) {
      out << "Cases where the implementations differ:\n";
      out << "  case";
      for (const auto& impl : impls) out << " | " << impl;
      out << "\n";
    }
    out << "  " << id;
    for (const auto& impl : impls) out << " | " << (cells.contains(impl) ? cells.at(impl) : "not run");
    out << "\n";
  }
  if (rows == 0) out << "All " << impls.size() << " implementations gave the same verdict on every case.\n";
  return out.str();
}

}  // namespace mpconform
