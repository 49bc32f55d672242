// mpc/sync.hpp: multiprocessing's synchronization primitives for C++: Lock, RLock, Semaphore,
// BoundedSemaphore, Event, Condition and Barrier.
//
// Each object is a handle to state in a MAP_SHARED mapping made when it is constructed: copy the
// handle (or fork, e.g. with mpc::Process) and every copy, in every process, is the same lock,
// exactly as a Python name bound to one multiprocessing.Lock. The kernel frees the mapping when
// the last process holding it unmaps it or exits; nothing is created in /dev/shm or the file
// system, so nothing can be left there. Made without a Context (or with the fork one) the mapping
// is anonymous and, like CPython's fork-context locks, reaches children made by fork() only; Lock,
// RLock, Semaphore and BoundedSemaphore made with the spawn or forkserver Context live in a memfd
// and can also be given to such a child (mpc/spawn.hpp: SpawnArgs).
//
// Waiting uses futexes on 32-bit words of that mapping with absolute CLOCK_MONOTONIC
// deadlines (timeouts are Python's: seconds, nullopt = forever, negative = 0; `timeout` is
// ignored when block is false). A waiter registers before it re-checks and a waker publishes
// before it looks for waiters (both with sequentially consistent operations), so a wake-up is
// never missed; an uncontended acquire/release makes no system call.
//
// Processes that die:
// - a Lock, RLock or Semaphore held by a process that dies stays held, as in CPython (whose
//   POSIX semaphores are not robust either): waiters time out, and a Lock (which has no
//   owner) may be released by any process. An RLock stays owned by the dead thread.
// - a process killed while waiting leaves at most a stale "someone waits" mark, which costs
//   one needless wake-up system call later, never a lost wake-up. A Condition skips (and
//   frees) the wait slots of dead processes when it notifies.
//
// Errors are CPython's: Lock.release() of an unlocked lock and BoundedSemaphore/Semaphore
// over-release raise ValueError("semaphore or lock released too many times"); an RLock
// released by a thread that does not own it raises AssertionError("attempt to release
// recursive lock not owned by thread"); Condition.wait() without the lock raises
// AssertionError("must acquire() condition before using wait()"), notify() without it
// AssertionError("lock is not owned"); a broken Barrier raises threading.BrokenBarrierError.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "mpc/context.hpp"
#include "mpc/deadline.hpp"

namespace mpc {

namespace detail {

// The calling thread's kernel thread id (unique among live threads system-wide), cached per
// thread and refreshed in a fork()ed child.
inline thread_local pid_t tls_tid = 0;
pid_t fetch_tid() noexcept;
inline pid_t current_tid() noexcept {
  pid_t t = tls_tid;
  return t != 0 ? t : fetch_tid();
}

// A futex mutex word (0 free, 1 held, 2 held and maybe waited for) and the thread that last
// acquired it (0 when free), for Condition's ownership check and repr().
struct MutexWord {
  std::atomic<std::uint32_t> state{0};
  std::atomic<pid_t> owner{0};
};
bool mutex_acquire_slow(MutexWord* m, bool block, Timeout timeout);
[[noreturn]] void raise_released_too_many_times();
void mutex_wake_one(MutexWord* m) noexcept;

struct RLockShared {
  MutexWord mutex;
  std::uint32_t count = 0;  // recursion depth, touched only by the owner
};
struct SemaphoreShared;
struct EventShared;
struct ConditionShared;
struct BarrierShared;
struct SpawnAccess;  // SpawnArgs: the mapping of an object given to a spawned child, and back

}  // namespace detail

// multiprocessing.Lock: a non-recursive lock that any thread or process may release.
class Lock {
 public:
  Lock();
  explicit Lock(Context context);

  // acquire(): true once held. block=false: one try. Otherwise waits until the deadline
  // (timeout nullopt: forever) and returns false if the lock is still held then.
  bool acquire(bool block = true, Timeout timeout = std::nullopt) {
    std::uint32_t expected = 0;
    if (m_->state.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
      m_->owner.store(detail::current_tid(), std::memory_order_relaxed);
      return true;
    }
    return detail::mutex_acquire_slow(m_, block, timeout);
  }
  // ValueError("semaphore or lock released too many times") when not held.
  void release() {
    m_->owner.store(0, std::memory_order_relaxed);
    const std::uint32_t old = m_->state.exchange(0, std::memory_order_release);
    if (old == 2) detail::mutex_wake_one(m_);
    if (old == 0) detail::raise_released_too_many_times();
  }
  // Held by the calling thread (the last acquirer, while held).
  [[nodiscard]] bool is_mine() const noexcept {
    return m_->state.load(std::memory_order_relaxed) != 0 &&
           m_->owner.load(std::memory_order_relaxed) == detail::current_tid();
  }
  [[nodiscard]] bool locked() const noexcept { return m_->state.load(std::memory_order_relaxed) != 0; }
  // The same lock (the same shared state), like Python's `is`.
  [[nodiscard]] bool is_same(const Lock& other) const noexcept { return m_ == other.m_; }
  // CPython's repr: "<Lock(owner=None)>", "<Lock(owner=MainProcess)>" when held by this
  // process's main thread, "<Lock(owner=SomeOtherProcess)>" when held elsewhere (the thread's
  // name is not known here: "MainProcess|Thread" is spelt with the tid).
  [[nodiscard]] std::string repr() const;

 private:
  friend struct detail::SpawnAccess;
  explicit Lock(std::shared_ptr<void> mem) noexcept
      : mem_(std::move(mem)), m_(static_cast<detail::MutexWord*>(mem_.get())) {}
  std::shared_ptr<void> mem_;
  detail::MutexWord* m_;
};

// multiprocessing.RLock: recursive; only the owning thread may release it.
class RLock {
 public:
  RLock();
  explicit RLock(Context context);
  bool acquire(bool block = true, Timeout timeout = std::nullopt);
  // AssertionError("attempt to release recursive lock not owned by thread").
  void release();
  [[nodiscard]] bool is_mine() const noexcept;
  [[nodiscard]] bool is_same(const RLock& other) const noexcept { return s_ == other.s_; }
  // The recursion depth if the calling thread owns it, else 0.
  [[nodiscard]] std::uint32_t count() const noexcept;
  // "<RLock(None, 0)>", "<RLock(MainProcess, 2)>", "<RLock(SomeOtherProcess, nonzero)>".
  [[nodiscard]] std::string repr() const;

 private:
  friend class Condition;
  friend struct detail::SpawnAccess;
  explicit RLock(std::shared_ptr<void> mem) noexcept
      : mem_(std::move(mem)), s_(static_cast<detail::RLockShared*>(mem_.get())) {}
  std::shared_ptr<void> mem_;
  detail::RLockShared* s_;
};

// The lock of a Condition or of a synchronized SharedValue/SharedArray: a Lock or an RLock.
class AnyLock {
 public:
  AnyLock(Lock lock) : lock_(std::move(lock)) {}      // NOLINT: implicit, as Python's duck typing
  AnyLock(RLock rlock) : rlock_(std::move(rlock)) {}  // NOLINT
  bool acquire(bool block = true, Timeout timeout = std::nullopt) {
    return lock_ ? lock_->acquire(block, timeout) : rlock_->acquire(block, timeout);
  }
  void release() { lock_ ? lock_->release() : rlock_->release(); }
  [[nodiscard]] bool is_mine() const noexcept { return lock_ ? lock_->is_mine() : rlock_->is_mine(); }
  [[nodiscard]] bool is_rlock() const noexcept { return rlock_.has_value(); }
  [[nodiscard]] const Lock* lock() const noexcept { return lock_ ? &*lock_ : nullptr; }
  [[nodiscard]] const RLock* rlock() const noexcept { return rlock_ ? &*rlock_ : nullptr; }
  [[nodiscard]] bool is_same(const AnyLock& other) const noexcept {
    if (lock_ && other.lock_) return lock_->is_same(*other.lock_);
    if (rlock_ && other.rlock_) return rlock_->is_same(*other.rlock_);
    return false;
  }
  [[nodiscard]] std::string repr() const { return lock_ ? lock_->repr() : rlock_->repr(); }

 private:
  friend class Condition;
  std::optional<Lock> lock_;
  std::optional<RLock> rlock_;
};

// Holds a lock for a scope (Python's `with lock:`).
template <class L>
class LockGuard {
 public:
  explicit LockGuard(L& lock) : lock_(lock) { lock_.acquire(); }
  ~LockGuard() { lock_.release(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  L& lock_;
};

// multiprocessing.Semaphore (bounded = false) and BoundedSemaphore (bounded = true, whose
// maximum is the initial value). Values are C ints as in CPython: a release beyond INT_MAX
// (SEM_VALUE_MAX) raises ValueError too.
class Semaphore {
 public:
  // OSError(EINVAL) "[Errno 22] Invalid argument" for a negative value, as CPython.
  explicit Semaphore(int value = 1);
  Semaphore(int value, Context context);
  bool acquire(bool block = true, Timeout timeout = std::nullopt);
  void release();
  [[nodiscard]] int get_value() const noexcept;
  [[nodiscard]] bool is_same(const Semaphore& other) const noexcept { return s_ == other.s_; }
  // "<Semaphore(value=3)>", "<BoundedSemaphore(value=3, maxvalue=3)>".
  [[nodiscard]] std::string repr() const;

 protected:
  Semaphore(int value, bool bounded, Context context);
  explicit Semaphore(std::shared_ptr<void> mem) noexcept
      : mem_(std::move(mem)), s_(static_cast<detail::SemaphoreShared*>(mem_.get())) {}

 private:
  friend struct detail::SpawnAccess;
  std::shared_ptr<void> mem_;
  detail::SemaphoreShared* s_;
};

class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int value = 1) : Semaphore(value, true, Context(StartMethod::fork)) {}
  BoundedSemaphore(int value, Context context) : Semaphore(value, true, context) {}

 private:
  friend struct detail::SpawnAccess;
  explicit BoundedSemaphore(std::shared_ptr<void> mem) noexcept : Semaphore(std::move(mem)) {}
};

// multiprocessing.Event.
class Event {
 public:
  Event();
  [[nodiscard]] bool is_set() const noexcept;
  void set();
  void clear();
  // True if the flag is set, or was set while waiting (even if cleared again before this
  // waiter ran: a set() wakes every waiter, as threading.Event); false at the deadline.
  bool wait(Timeout timeout = std::nullopt);
  [[nodiscard]] bool is_same(const Event& other) const noexcept { return s_ == other.s_; }
  // CPython 3.11+: "<Event at 0x... set>" / "<Event at 0x... unset>".
  [[nodiscard]] std::string repr() const;

 private:
  std::shared_ptr<void> mem_;
  detail::EventShared* s_;
};

// multiprocessing.Condition over a Lock or an RLock (default: a new RLock). Waiters are woken
// in the order they started waiting (notify(n) wakes the n longest waiting), as
// threading.Condition. At most kMaxWaiters threads may wait at once (RuntimeError beyond).
class Condition {
 public:
  static constexpr std::uint32_t kMaxWaiters = 4095;

  Condition();
  explicit Condition(AnyLock lock);

  bool acquire(bool block = true, Timeout timeout = std::nullopt) { return lock_.acquire(block, timeout); }
  void release() { lock_.release(); }
  [[nodiscard]] const AnyLock& lock() const noexcept { return lock_; }

  // Releases the lock (all recursion levels of an RLock), waits to be notified or for the
  // deadline, re-acquires the lock. True if notified.
  bool wait(Timeout timeout = std::nullopt);
  // Python's wait_for: evaluates pred() (lock held) until it is truthy or the timeout, which
  // bounds the whole call; returns pred()'s last result.
  template <class Pred>
  auto wait_for(Pred&& pred, Timeout timeout = std::nullopt) -> std::invoke_result_t<Pred&> {
    auto result = pred();
    const Deadline deadline = Deadline::after(timeout);
    while (!result) {
      if (timeout && deadline.expired()) break;
      wait(remaining(deadline));
      result = pred();
    }
    return result;
  }
  void notify(int n = 1);
  void notify_all() { notify(INT_MAX); }
  [[nodiscard]] bool is_same(const Condition& other) const noexcept { return s_ == other.s_; }

 private:
  static Timeout remaining(const Deadline& deadline);
  AnyLock lock_;
  std::shared_ptr<void> mem_;
  detail::ConditionShared* s_;
};

// multiprocessing.Barrier (threading.Barrier's algorithm over a process-shared Condition).
// `action` runs in the process of the last party to arrive, before any party is released.
// Like CPython, any `parties` is accepted (Barrier(0).wait(t) breaks at its timeout).
class Barrier {
 public:
  explicit Barrier(int parties, std::function<void()> action = {}, Timeout timeout = std::nullopt);

  // Returns this party's arrival index (0 .. parties-1: exactly one party gets 0). Throws
  // mpc::BrokenBarrierError if the barrier is or becomes broken (abort(), reset() while
  // waiting, a timeout: a party that times out breaks the barrier for all). timeout
  // nullopt: the barrier's default timeout.
  int wait(Timeout timeout = std::nullopt);
  void reset();
  void abort();
  [[nodiscard]] int parties() const noexcept;
  [[nodiscard]] int n_waiting() const noexcept;
  [[nodiscard]] bool broken() const noexcept;
  [[nodiscard]] bool is_same(const Barrier& other) const noexcept { return s_ == other.s_; }
  // CPython 3.11+: "<multiprocessing.synchronize.Barrier at 0x...: waiters=0/3>", or
  // "<multiprocessing.synchronize.Barrier at 0x...: broken>" once broken.
  [[nodiscard]] std::string repr() const;

 private:
  void enter();
  void release_all();
  void wait_released(Timeout timeout);
  void exit();
  void break_barrier();

  Condition cond_;
  std::function<void()> action_;
  Timeout timeout_;
  std::shared_ptr<void> mem_;
  detail::BarrierShared* s_;
};

}  // namespace mpc
