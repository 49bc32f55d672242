// libFuzzer target: one frame from an adapter, through exactly what the session does with it
// (harness/runner/protocol.cpp's decode_message, then for a result with an outcome:
// outcome_from_result, describe, check_outcome). Only ProtocolError, the runner's verdict on a bad
// frame, is expected; any other exception, a crash, or text that is not UTF-8 is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "expect.hpp"
#include "protocol.hpp"

using namespace mpconform;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Limits limits;  // the defaults of the command line
  json message;
  try {
    message = decode_message(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  } catch (const ProtocolError& e) {
    // The reason goes into reports: it must be valid UTF-8 whatever the frame held.
    if (invalid_utf8_offset(e.what())) std::abort();
    return 0;
  }
  if (message["type"] != "result" || message["status"] == "error") return 0;
  // A result that passed the checks must become an outcome without ValueError or a library error.
  Outcome outcome = outcome_from_result(message);
  const std::string text = outcome.describe();
  const std::string why = check_outcome(nullptr, outcome);
  if (invalid_utf8_offset(text) || invalid_utf8_offset(why)) std::abort();
  if (outcome.kind == Outcome::Kind::Returned) {
    // What a `returns` expectation does with the value (NaN and objects equal nothing).
    (void)values_equal(outcome.value, outcome.value);
    if (invalid_utf8_offset(explain_difference(outcome.value, outcome.value))) std::abort();
  }
  return 0;
}
