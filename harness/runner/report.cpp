#include "report.hpp"

#include <sys/utsname.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "protocol.hpp"

#ifndef MPC_RUNNER_VERSION
#define MPC_RUNNER_VERSION "unknown"
#endif

namespace mpconform {

namespace {

const Verdict kVerdicts[] = {
    Verdict::Pass,        Verdict::Fail,      Verdict::Differs,         Verdict::Skipped,
    Verdict::Crashed,     Verdict::TimedOut,  Verdict::ProtocolError,   Verdict::AdapterError,
    Verdict::Leaked,      Verdict::CaseError, Verdict::RecommendedFail, Verdict::ExpectedDivergence,
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
  return {{"max_case_bytes", l.case_file_bytes},     {"max_generated_items", l.generated_items},
          {"max_payload_bytes", l.payload_bytes},    {"max_case_nesting", l.case_nesting},
          {"max_case_timeout", l.case_timeout},      {"max_frame_bytes", l.frame_bytes},
          {"max_message_nesting", l.message_nesting}};
}

// "cases/x.yaml:3:5: what" -> {"file", "line", "error"}; a message of another shape keeps file "".
json malformed_json(const std::string& error) {
  static const std::regex where(R"(^(.*?):(\d+):(\d+): )");
  std::smatch m;
  if (std::regex_search(error, m, where))
    return {{"file", m[1].str()}, {"line", std::stoi(m[2].str())}, {"error", error}};
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
  json j = {{"implementation", r.impl}, {"case", r.case_id},    {"file", r.file},
            {"line", r.line},           {"title", r.title},     {"level", r.level},
            {"tags", r.tags},           {"spec", r.spec},       {"verdict", verdict_name(r.verdict)},
            {"reason", r.reason},       {"seconds", r.seconds}, {"rerun", r.rerun},
            {"trace", r.trace},         {"details", r.details}};
  if (!r.known.is_null()) j["known_divergence"] = r.known;
  return j;
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
  if (j.contains("known_divergence")) r.known = j["known_divergence"];
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
  return {{"format", kResultsFormat},
          {"run", run_json},
          {"implementations", implementations},
          {"results", results},
          {"malformed", bad}};
}

json read_results_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(path + ": not JSON");
  if (doc.is_array())
    throw std::runtime_error(path + ": a bare array is the report of mpconform before " + std::string(kResultsFormat) +
                             "; run the cases again");
  if (!doc.is_object() || doc.value("format", std::string()) != kResultsFormat)
    throw std::runtime_error(path + ": not an mpconform results file (\"format\" is not \"" +
                             std::string(kResultsFormat) + "\")");
  if (!doc.contains("results") || !doc["results"].is_array() || !doc.contains("implementations") ||
      !doc["implementations"].is_array())
    throw std::runtime_error(path + ": a results file needs the arrays \"implementations\" and \"results\"");
  return doc;
}

bool fails_run(Verdict v, bool strict) {
  switch (v) {
    case Verdict::Pass:
    case Verdict::Skipped:
    case Verdict::Differs:
    case Verdict::ExpectedDivergence: return false;
    case Verdict::RecommendedFail:
    case Verdict::NewlyPassing: return strict;
    default: return true;
  }
}

Tally tally(const std::vector<Record>& records) {
  Tally t;
  for (const auto& r : records) ++t.count[r.verdict];
  return t;
}

namespace {

// "1 protocol error", "2 protocol errors": each class as the summary names it.
std::string count_phrase(Verdict v, int n) {
  const bool one = n == 1;
  std::string what;
  switch (v) {
    case Verdict::Differs: what = one ? "differs (cpython-specific)" : "differ (cpython-specific)"; break;
    case Verdict::ProtocolError: what = one ? "protocol error" : "protocol errors"; break;
    case Verdict::AdapterError: what = one ? "adapter error" : "adapter errors"; break;
    case Verdict::CaseError: what = one ? "malformed case" : "malformed cases"; break;
    case Verdict::ExpectedDivergence: what = one ? "expected divergence" : "expected divergences"; break;
    default: what = verdict_name(v); break;
  }
  return std::to_string(n) + " " + what;
}

}  // namespace

std::string summary_line(const Tally& t, double wall_seconds) {
  // Passed and failed always; then each class some case was given, on its own (a crash is not a
  // failed expectation, and a case that differs on a cpython-specific quirk was not skipped);
  // skipped always, last.
  std::string out =
      count_phrase(Verdict::Pass, t.of(Verdict::Pass)) + ", " + count_phrase(Verdict::Fail, t.of(Verdict::Fail));
  for (Verdict v :
       {Verdict::RecommendedFail, Verdict::Crashed, Verdict::TimedOut, Verdict::ProtocolError, Verdict::AdapterError,
        Verdict::Leaked, Verdict::CaseError, Verdict::Differs, Verdict::ExpectedDivergence, Verdict::NewlyPassing})
    if (t.of(v) > 0) out += ", " + count_phrase(v, t.of(v));
  out += ", " + count_phrase(Verdict::Skipped, t.of(Verdict::Skipped));
  char wall[32];
  std::snprintf(wall, sizeof wall, "%.1f", wall_seconds);
  return out + " in " + wall + " s";
}

namespace {

// Text for one line: newlines and tabs as spaces, at most `max` bytes.
std::string one_line(const std::string& text, std::size_t max = 300) {
  std::string out = text;
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return excerpt(out, max);
}

std::string field(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

std::string failure_line(const Record& r, const std::string& cases_dir) {
  namespace fs = std::filesystem;
  std::string file = r.file.empty() ? "?" : r.file;
  if (!cases_dir.empty() && !r.file.empty()) {
    std::error_code ec;
    const fs::path full = fs::absolute(fs::path(cases_dir) / r.file, ec).lexically_normal();
    const fs::path here = fs::relative(full, fs::current_path(ec), ec);
    file = !ec && !here.empty() && !here.string().starts_with("..") ? here.string() : full.string();
  }
  std::string out = std::string(verdict_name(r.verdict)) + ": " + r.impl + "." + r.case_id + " (" + file + ":" +
                    std::to_string(r.line) + "): ";
  // The step that failed its expectation; else, for the runner's own verdicts, the step that was
  // running (it has no outcome yet).
  const json* step = nullptr;
  for (const auto& s : r.trace)
    if (!field(s, "problem").empty()) step = &s;
  if (!step && !r.trace.empty() && field(r.trace.back(), "observed").empty()) step = &r.trace.back();
  if (step) {
    out += "step " + std::to_string(step->value("step", 0)) + " " + one_line(field(*step, "call"), 120) + " expected " +
           one_line(field(*step, "expected"), 200) + "; ";
    const std::string observed = field(*step, "observed"), problem = field(*step, "problem");
    if (!observed.empty())
      out += "got " + one_line(observed, 200);
    else
      out += "got no outcome";
    if (!problem.empty()) out += " (" + one_line(problem, 200) + ")";
    if (!r.reason.empty()) out += ": " + one_line(r.reason);
  } else {
    out += r.reason.empty() ? std::string("no step failed") : one_line(r.reason);
  }
  if (!r.rerun.empty()) out += "; rerun: " + r.rerun;
  return out;
}

namespace {

constexpr const char* kOutputPrefix = "    | ";  // how format_result indents the adapter's output
constexpr const char* kTracebackHead = "Traceback (most recent call last):";

// Where each traceback is in a record's details: [first line, last line] of the split text.
struct TracebackAt {
  std::size_t first, last;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string output_content(const std::string& line) {
  return line.starts_with(kOutputPrefix) ? line.substr(std::string(kOutputPrefix).size()) : std::string();
}

// A Python traceback in the adapter's output: its head line, the indented frames, and the line
// that names the exception.
std::vector<TracebackAt> find_tracebacks(const std::vector<std::string>& lines) {
  std::vector<TracebackAt> found;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with(kOutputPrefix) || !output_content(lines[i]).ends_with(kTracebackHead)) continue;
    std::size_t j = i + 1;
    while (j < lines.size() && lines[j].starts_with(kOutputPrefix) && output_content(lines[j]).starts_with(" ")) ++j;
    if (j < lines.size() && lines[j].starts_with(kOutputPrefix) &&
        !output_content(lines[j]).ends_with(kTracebackHead)) {
      found.push_back({i, j});
      i = j;
    } else {
      found.push_back({i, j - 1});
      i = j - 1;
    }
  }
  return found;
}

// The key two tracebacks share when they are the same: their text without object addresses.
std::string traceback_key(const std::vector<std::string>& lines, const TracebackAt& at) {
  static const std::regex address(R"(\bat 0x[0-9a-fA-F]+)");
  std::string key;
  for (std::size_t i = at.first; i <= at.last; ++i) {
    std::string content = output_content(lines[i]);
    if (i == at.first) content = kTracebackHead;  // what the adapter wrote before it (its pid) is not the traceback
    key += std::regex_replace(content, address, "at 0x…") + "\n";
  }
  return key;
}

}  // namespace

std::string full_traces(const std::vector<Record>& records) {
  struct Shared {
    int number = 0;  // 1-based, once it is shared
    std::vector<std::string> tests;
    std::vector<std::string> text;  // the first one's lines, with the output prefix
    std::string exception;          // its last line
  };
  std::map<std::string, Shared> by_key;
  std::vector<const Record*> shown;
  for (const auto& r : records)
    if (!r.details.empty()) shown.push_back(&r);
  // First pass: which tracebacks more than one case printed.
  for (const Record* r : shown) {
    const auto lines = split_lines(r->details);
    std::set<std::string> seen;
    for (const auto& at : find_tracebacks(lines)) {
      const std::string key = traceback_key(lines, at);
      if (!seen.insert(key).second) continue;
      Shared& s = by_key[key];
      s.tests.push_back(r->impl + "." + r->case_id);
      if (s.text.empty()) {
        for (std::size_t i = at.first; i <= at.last; ++i) s.text.push_back(lines[i]);
        s.text.front() = kOutputPrefix + std::string(kTracebackHead);
        s.exception = output_content(lines[at.last]);
      }
    }
  }
  int shared = 0;
  std::vector<const Shared*> in_order;
  for (const Record* r : shown) {  // numbered in the order they first appear
    const auto lines = split_lines(r->details);
    for (const auto& at : find_tracebacks(lines)) {
      Shared& s = by_key[traceback_key(lines, at)];
      if (s.tests.size() > 1 && s.number == 0) {
        s.number = ++shared;
        in_order.push_back(&s);
      }
    }
  }
  if (shown.empty()) return "";
  std::ostringstream out;
  out << "Full traces (" << shown.size() << "):\n";
  for (const Record* r : shown) {
    const auto lines = split_lines(r->details);
    const auto tracebacks = find_tracebacks(lines);
    out << "\n[" << verdict_name(r->verdict) << "] " << r->impl << ".";
    std::size_t next = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (next < tracebacks.size() && i == tracebacks[next].first) {
        const Shared& s = by_key[traceback_key(lines, tracebacks[next])];
        if (s.number > 0) {
          // The line before the traceback's head may hold what the adapter said first (its pid).
          std::string head = output_content(lines[i]);
          head = head.substr(0, head.size() - std::string(kTracebackHead).size());
          if (!head.empty()) out << kOutputPrefix << head << "\n";
          out << kOutputPrefix << "[traceback #" << s.number << " (" << one_line(s.exception, 160) << "), printed by "
              << s.tests.size() << " cases: shown once below]\n";
          i = tracebacks[next].last;
          ++next;
          continue;
        }
        ++next;
      }
      out << lines[i] << "\n";
    }
  }
  for (const Shared* s : in_order) {
    out << "\nTraceback #" << s->number << ", printed by " << s->tests.size() << " cases:";
    for (std::size_t i = 0; i < s->tests.size() && i < 10; ++i) out << " " << s->tests[i];
    if (s->tests.size() > 10) out << " and " << s->tests.size() - 10 << " more";
    out << "\n";
    for (const auto& l : s->text) out << l << "\n";
  }
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
    if (cell.empty())
      cell = v;
    else if (cell.find(v) == std::string::npos)
      cell += "/" + v;  // repeated runs that disagree
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
