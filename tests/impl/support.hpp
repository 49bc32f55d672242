// Small helpers shared by the impl/ unit tests.
#pragma once

#include <chrono>
#include <string>

namespace mpc_test {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

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
