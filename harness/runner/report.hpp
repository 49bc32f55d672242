// Collects verdicts, prints the summary and the comparison of implementations, writes the JSON report.
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace mpconform {

struct Record {
  std::string impl;   // label
  std::string case_id;
  std::string level;
  Verdict verdict;
  std::string reason;
  double seconds = 0;
  json implementation;
  std::string details;  // the formatted result, for failures
};

json record_to_json(const Record& r);
Record record_from_json(const json& j);

struct Tally {
  int passed = 0, failed = 0, skipped = 0, differs = 0;
};
Tally tally(const std::vector<Record>& records);

// "N passed, N failed, N skipped" and, when some differ, a note, then the wall time.
std::string summary_line(const Tally& t, double wall_seconds);

// With two or more implementations: a table of the cases whose verdicts differ between them.
std::string comparison(const std::vector<Record>& records);

}  // namespace mpconform
