#include "mpc/deadline.hpp"

#include <climits>
#include <cmath>

namespace mpc {

Deadline Deadline::after_seconds(double s) noexcept {
  if (!(s > 0)) return now();  // negative, zero and NaN: poll once
  // Anything beyond ~100 years is "forever" for practical purposes and would overflow the clock.
  if (s > 3.0e9) return never();
  auto d = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
  return Deadline{clock::now() + d};
}

int Deadline::poll_ms() const noexcept {
  if (is_never()) return -1;
  auto left = at_ - clock::now();
  if (left <= clock::duration::zero()) return 0;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
  long long ms = (us + 999) / 1000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

std::optional<timespec> Deadline::abs_timespec() const noexcept {
  if (is_never()) return std::nullopt;
  // steady_clock's epoch is CLOCK_MONOTONIC's on Linux/libstdc++, so the count converts directly.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at_.time_since_epoch()).count();
  if (ns < 0) ns = 0;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

}  // namespace mpc
