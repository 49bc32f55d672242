// `mpconform diff`: what differs between two implementations' results (spec/results.md#diff).
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace mpconform {

struct DiffOptions {
  // Two elapsed times differ when they are more than `time_threshold` seconds AND more than
  // `time_factor` of the longer one apart: scheduling noise on a loaded machine is tens of
  // milliseconds, and a blocking call of seconds varies by more than 0.1 s without meaning anything.
  double time_threshold = 0.1;
  double time_factor = 0.25;
};

// One side of a diff: the results of one implementation in one results file.
struct DiffSide {
  std::string name;                      // FILE:LABEL, for the header
  json implementation = json::object();  // its entry of `implementations`
  std::vector<json> results;             // its entries of `results`
};

// Picks the side LABEL of a results document (read_results_file); with an empty label the file
// must hold exactly one implementation. Throws std::runtime_error saying which labels there are.
DiffSide diff_side(const json& doc, const std::string& file, const std::string& label);

struct DiffReport {
  std::string text;
  int differing = 0;     // cases listed that differ
  int allowed_only = 0;  // cases listed whose steps differ only as the case allows (not in `differing`)
};

// Every case whose verdict or observed trace differs, A's line above B's for each differing step;
// two values that both met an expectation accepting several are shown as `allowed`, not counted.
DiffReport diff_results(const DiffSide& a, const DiffSide& b, const DiffOptions& o);

// `mpconform diff ARGS…` (args after "diff"); `self` runs the runner for the --impl form.
// Exit code: 0 nothing differs, 1 something differs, 2 the inputs could not be compared.
int diff_main(const std::vector<std::string>& args, const std::string& self);

}  // namespace mpconform
