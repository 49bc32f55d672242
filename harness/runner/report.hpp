// Collects verdicts, prints the summary and the comparison of implementations, writes the results
// file (spec/results.md, spec/results.schema.json).
#pragma once

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "limits.hpp"
#include "session.hpp"

namespace mpconform {

inline constexpr const char* kResultsFormat = "mpconform-results/1";

struct Record {
  std::string impl;  // label
  std::string case_id;
  std::string level;
  Verdict verdict;
  std::string reason;
  double seconds = 0;
  json implementation;  // the adapter's hello.implementation (not in a results entry: see results_document)
  std::string details;  // the formatted result, for failures
  std::string file;     // the case file, relative to the case tree
  int line = 1;         // where the case (or, when a step failed, that step) is in the file
  std::string title, spec;
  std::vector<std::string> tags;
  std::string rerun;           // one shell command that reruns only this case for this implementation
  json trace = json::array();  // the observed trace (trace_to_json)
  json known = nullptr;        // expected divergence, newly passing: the entry of the known-divergence file
};

// The trace of a result as the results file has it: one object per step run.
json trace_to_json(const std::vector<StepRecord>& trace);

// One entry of a results file's `results`, and back (the shard journal carries them too).
json record_to_json(const Record& r);
Record record_from_json(const json& j);
Verdict verdict_from_name(const std::string& name);  // throws std::invalid_argument

// What a results file says about the run itself.
struct RunInfo {
  std::vector<std::string> command;
  std::string started;  // UTC, ISO 8601
  double wall_seconds = 0;
  std::string cases_dir;
  unsigned jobs = 1;
  std::string isolation;
  Limits limits;
};
struct ImplInfo {
  std::string label, spec;
};

// "2026-12-01T22:51:21Z" for a time.
std::string utc_iso8601(std::time_t t);

// The whole results file. Each implementation's hello is the first one its records carry;
// `malformed` are the loader's errors ("file:line:column: what").
json results_document(const RunInfo& run, const std::vector<ImplInfo>& impls, const std::vector<Record>& records,
                      const std::vector<std::string>& malformed);

// A results file read back; throws std::runtime_error naming the file and what is wrong.
json read_results_file(const std::string& path);

// Whether a verdict fails the run: every one but passed, skipped, differs and expected
// divergence; failed (recommended) and newly passing only with --strict.
bool fails_run(Verdict v, bool strict);

// How many records have each verdict.
struct Tally {
  std::map<Verdict, int> count;
  int of(Verdict v) const { return count.contains(v) ? count.at(v) : 0; }
};
Tally tally(const std::vector<Record>& records);

// Each verdict class on its own: "N passed, N failed", then each other class given to some case
// ("1 crashed, 2 differ (cpython-specific)"), "N skipped" and the wall time.
std::string summary_line(const Tally& t, double wall_seconds);

// One line for a case that did not pass: its verdict, test name, file:line, what the step that
// failed expected and what happened (or the runner's reason), and the command that reruns it.
// The file is shown below `cases_dir` (the case tree), relative to the working directory when it
// is inside it, so that an editor can open it from the line.
std::string failure_line(const Record& r, const std::string& cases_dir = "");

// The full report of every record with details, after the summary. A Python traceback that more
// than one case printed is shown once, at the end, with the count and the cases; each case's
// output keeps one line pointing at it.
std::string full_traces(const std::vector<Record>& records);

// With two or more implementations: a table of the cases whose verdicts differ between them.
std::string comparison(const std::vector<Record>& records);

}  // namespace mpconform
