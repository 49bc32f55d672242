// Private: futex waits on 32-bit words in shared memory, with absolute CLOCK_MONOTONIC deadlines.
//
// Used as process-shared "condition variables" that cannot be wedged by a process that dies
// while waiting: a waiter keeps no state in the shared word (glibc's process-shared condvars
// do keep per-waiter state, which a SIGKILLed waiter leaves behind).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>
#include <optional>

namespace mpc::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 && std::atomic<std::uint32_t>::is_always_lock_free);

// Sleeps while *word == expected, until woken or the absolute monotonic deadline. Returns
// false only on timeout; spurious returns are possible (callers re-check their condition).
inline bool futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       const std::optional<timespec>& abs_deadline) {
  // FUTEX_WAIT_BITSET takes an absolute timeout measured on CLOCK_MONOTONIC (no
  // FUTEX_CLOCK_REALTIME), which is what makes deadlines exact across retries.
  long r = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET, expected,
                     abs_deadline ? &*abs_deadline : nullptr, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(r == -1 && errno == ETIMEDOUT);
}

inline void futex_wake(std::atomic<std::uint32_t>* word, int count = INT_MAX) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace mpc::detail
