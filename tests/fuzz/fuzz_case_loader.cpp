// libFuzzer target: the runner's case loader, bytes to Case (issue 7). Every input must end in a
// Case or a CaseError within the bounds of Limits; any other exception, a crash, a sanitizer report,
// a timeout or running out of memory is a finding. Seeds: tests/fuzz/corpus/case_loader/ (the
// cases/ tree and the hostile files of tests/runner/hostile/).
#include <cstddef>
#include <cstdint>
#include <string>

#include "case_loader.hpp"

namespace {

// The default bounds, but fewer generated items: a case of 10^6 items is legitimate and takes a
// second to load, which is 20 s under ASan, a "timeout" that finds nothing. The bounds are
// checked by the same code whatever they are; 50000 loads every case of cases/ but the one of
// 80000 items (which then exercises the refusal).
mpconform::Limits fuzz_limits() {
  mpconform::Limits limits;
  limits.generated_items = 50'000;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mpconform::CaseLoader loader(std::string(MPC_SOURCE_DIR) + "/spec/case.schema.json", fuzz_limits());
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
