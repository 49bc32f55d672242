// libFuzzer target: the runner's case loader, bytes to Case (issue 7). Every input must end in a
// Case or a CaseError within the bounds of Limits; any other exception, a crash, a sanitizer report,
// a timeout or running out of memory is a finding. Seeds: tests/fuzz/corpus/case_loader/ (the
// cases/ tree and the hostile files of tests/runner/hostile/).
#include <cstddef>
#include <cstdint>
#include <string>

#include "case_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mpconform::CaseLoader loader(std::string(MPC_SOURCE_DIR) + "/spec/case.schema.json");
  try {
    const mpconform::Case c = loader.load_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", "");
    // What the runner does next with a loaded case, short of running it.
    (void)c.required_ops();
    (void)c.required_types();
    for (const auto& step : c.steps) {
      (void)step.describe_call();
      for (const auto& e : step.expects) (void)e.describe();
    }
  } catch (const mpconform::CaseError&) {
    // A malformed case: the expected outcome for most inputs.
  }
  return 0;
}
