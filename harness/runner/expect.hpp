// Checking one observed outcome against one expectation (spec/case-format.md#expectations).
#pragma once

#include <string>
#include <vector>

#include "case.hpp"

namespace mpconform {

// What an actor reported for a finished call.
struct Outcome {
  enum class Kind { Returned, Raised };
  Kind kind = Kind::Returned;
  json value;  // Returned
  std::string exc_type;
  std::vector<std::string> exc_bases;
  std::string exc_message;
  json exc_args = json::array();
  double elapsed = 0;
  std::string describe() const;
};

// Reads the outcome from a `result` message with status returned/raised. Throws ValueError if malformed.
Outcome outcome_from_result(const json& result);

// "" when `pattern` (spec/case-format.md#match-patterns) is found in `text`, else why not: it does
// not match, or the search would pass the bound on steps. `what` names the text ("message").
std::string search_message(const std::string& pattern, const std::string& text, const std::string& what);

// "" when the outcome meets the expectation (nullptr: completes without raising), else the reason.
std::string check_outcome(const Expectation* expectation, const Outcome& outcome);

}  // namespace mpconform
