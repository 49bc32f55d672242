// mpc/deadline.hpp: Python-style timeouts turned into CLOCK_MONOTONIC absolute deadlines.
//
// Python's IPC calls take `timeout=None` (wait forever) or a float of seconds where a negative
// value means 0 (poll once). Every blocking call in mpc converts its timeout into one Deadline
// at entry and waits against that absolute point, so that retries after EINTR or spurious
// wake-ups never stretch the total wait (get(timeout=0.2) raises after 0.2 s, not 0.21).
#pragma once

#include <chrono>
#include <ctime>
#include <optional>

namespace mpc {

using Timeout = std::optional<double>;  // seconds; nullopt = forever; negative = 0

class Deadline {
 public:
  using clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

  static Deadline never() noexcept { return Deadline{}; }
  static Deadline now() noexcept { return Deadline{clock::now()}; }
  // nullopt -> never; negative or zero -> already expired; NaN -> never would be surprising,
  // so NaN is treated like 0 (Python's time arithmetic would not block on it either).
  // Inline for the common "forever" case: blocking calls make one per call.
  static Deadline after(Timeout seconds) noexcept { return seconds ? after_seconds(*seconds) : never(); }
  static Deadline after_seconds(double seconds) noexcept;

  [[nodiscard]] bool is_never() const noexcept { return at_ == clock::time_point::max(); }
  [[nodiscard]] bool expired() const noexcept { return !is_never() && clock::now() >= at_; }

  // Milliseconds for poll(2): -1 forever, else rounded *up* so that a poll never returns before
  // the deadline (callers re-check and loop), capped to INT_MAX.
  [[nodiscard]] int poll_ms() const noexcept;

  // The deadline as an absolute CLOCK_MONOTONIC timespec (for futex/pthread waits), or nullopt.
  [[nodiscard]] std::optional<timespec> abs_timespec() const noexcept;

  [[nodiscard]] std::optional<clock::time_point> time_point() const noexcept {
    if (is_never()) return std::nullopt;
    return at_;
  }

 private:
  Deadline() noexcept = default;
  explicit Deadline(clock::time_point at) noexcept : at_(at) {}
  clock::time_point at_ = clock::time_point::max();  // max(): never
};

}  // namespace mpc
