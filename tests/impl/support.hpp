// Small helpers shared by the impl/ unit tests.
#pragma once

#include <chrono>
#include <string>

namespace mpc_test {

using Clock = std::chrono::steady_clock;

// How much slower code runs under AddressSanitizer (impl.sanitized builds with it): a bound on
// work done, such as "refused within 10 s", is scaled by this there; timing of waits is not.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr double kWorkSlowdown = 5;
#else
inline constexpr double kWorkSlowdown = 1;
#endif

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The message of the E that f() throws, or "<no exception>"; any other exception propagates.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace mpc_test
