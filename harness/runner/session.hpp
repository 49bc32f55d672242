// Runs one case against one implementation through its adapter, and gives the verdict.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "case.hpp"
#include "limits.hpp"

namespace mpconform {

// An implementation as the runner knows it: a label and the adapter's command line.
struct Implementation {
  std::string label;                 // names the GoogleTest suite: label.case_id
  std::vector<std::string> command;  // --endpoint E is appended
  std::string spec;                  // what the user wrote after --impl, for rerun commands
  std::string known_divergences;     // its known-divergence file (known=FILE), or empty
};

// RecommendedFail: a case of level `recommended` failed (its own class; fails the run only with --strict).
// ExpectedDivergence / NewlyPassing: a case the implementation's known-divergence file lists failed / passed.
enum class Verdict {
  Pass,
  Fail,
  Differs,
  Skipped,
  Crashed,
  TimedOut,
  ProtocolError,
  AdapterError,
  Leaked,
  CaseError,
  RecommendedFail,
  ExpectedDivergence,
  NewlyPassing
};
const char* verdict_name(Verdict v);

struct StepRecord {
  int index = 0;  // 1-based
  int line = 0;   // the step's line in the case file
  std::string actor, call, expected, observed, problem;
  // The outcome as typed JSON (spec/results.md#trace): {"kind": "returned", "value": V},
  // {"kind": "raised", "type", "bases", "message", "args"}, {"kind": "blocked", "seconds": S},
  // {"kind": "sent"} for a detached call; null when no outcome came.
  json outcome;
  std::optional<double> elapsed;  // seconds, as the actor measured the call (its result's `elapsed`)
};

struct CaseResult {
  Verdict verdict = Verdict::Pass;
  std::string reason;
  std::vector<StepRecord> trace;
  json implementation = json::object();  // the adapter's hello.implementation
  std::string adapter_output;
  double seconds = 0;
};

// Every frame the adapter sends is held to `limits` (frame_bytes, message_nesting).
CaseResult run_case(const Case& c, const Implementation& impl, const Limits& limits);

// The failure report: trace beside expectations, the adapter's output.
std::string format_result(const Case& c, const CaseResult& r);

}  // namespace mpconform
