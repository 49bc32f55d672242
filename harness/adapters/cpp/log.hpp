// Diagnostics of the adapter: one line on stderr per event. The runner keeps the adapter's output
// with a case's result, so these lines explain an adapter error or a crash without a rerun.
#pragma once

#include <string_view>

namespace mpconform::cpp_adapter {

void log(std::string_view who, std::string_view text) noexcept;

}  // namespace mpconform::cpp_adapter
