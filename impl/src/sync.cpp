#include "mpc/sync.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>

#include "futex.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "shared_mapping.hpp"

namespace mpc {

namespace detail {

namespace {

void reset_tid_in_child() noexcept { tls_tid = 0; }  // the forking thread is a new thread now

const bool tid_reset_registered = [] {
  ::pthread_atfork(nullptr, nullptr, reset_tid_in_child);
  return true;
}();

// Spinning before sleeping only helps when the thread we wait for can run meanwhile: on one
// CPU (or pinned to one) it only delays it.
bool spinning_helps() {
  static const bool multi = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    return ::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
  }();
  return multi;
}

// Lock waiters spin (pausing) for up to kSpinBudget before sleeping: the holder is running,
// and critical sections are short. Semaphore, Event and Condition waiters do not spin: what
// they wait for is another process's next step, and that process often needs this very CPU
// (wake-ups go to the waker's CPU on a busy machine): measured on a loaded 2-CPU VM, a
// semaphore ping-pong took 13 us per round trip with a 3 us spin and 49 us with 20 us,
// against 4.5 us without (the raw futex ping-pong's figure), and a Barrier(2) round 89 us
// with the 3 us spin.
constexpr auto kSpinBudget = std::chrono::microseconds(3);
template <class Ready>
bool spin_until(Ready&& ready) {
  if (!spinning_helps()) return ready();
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    if ((i & 63u) == 0 && std::chrono::steady_clock::now() - start >= kSpinBudget) return false;
    cpu_relax();
  }
}

bool process_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH; }

// "MainProcess" for the main thread, "MainProcess|<tid>" for another thread of this process.
std::string owner_name(pid_t tid) {
  std::string name = current_process_name();
  if (tid != ::getpid()) name.append("|").append(std::to_string(tid));
  return name;
}

bool thread_of_this_process(pid_t tid) {
  return ::access(("/proc/self/task/" + std::to_string(tid)).c_str(), F_OK) == 0;
}

}  // namespace

pid_t fetch_tid() noexcept {
  tls_tid = static_cast<pid_t>(::gettid());
  return tls_tid;
}

void raise_released_too_many_times() { throw ValueError("semaphore or lock released too many times"); }

void mutex_wake_one(MutexWord* m) noexcept { futex_wake(reinterpret_cast<std::atomic<std::uint32_t>*>(&m->state), 1); }

// Drepper's futex mutex ("Futexes are tricky", mutex 2): 0 free, 1 held, 2 held and possibly
// waited for. A sleeper sets 2 before sleeping on it, so the releaser that swaps 2 for 0 knows
// to wake one; a sleeper that times out may leave a 2 behind, which costs one needless wake.
bool mutex_acquire_slow(MutexWord* m, bool block, Timeout timeout) {
  auto grab = [m](std::uint32_t desired) {
    std::uint32_t expected = 0;
    return m->state.compare_exchange_strong(expected, desired, std::memory_order_acquire, std::memory_order_relaxed);
  };
  auto acquired = [m] {
    m->owner.store(current_tid(), std::memory_order_relaxed);
    return true;
  };
  if (!block) return grab(1) && acquired();
  const Deadline deadline = Deadline::after(timeout);
  if (spin_until([&] { return m->state.load(std::memory_order_relaxed) == 0 && grab(1); })) return acquired();
  if (deadline.expired()) return grab(1) && acquired();
  const auto ts = deadline.abs_timespec();
  std::uint32_t c = m->state.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    if (!futex_wait(&m->state, 2, ts)) return grab(2) && acquired();  // timed out: one last try
    c = m->state.exchange(2, std::memory_order_acquire);
  }
  return acquired();
}

struct SemaphoreShared {
  std::atomic<std::uint32_t> value{0};
  std::atomic<std::uint32_t> waiters{0};  // in the slow path of acquire()
  int maxvalue = INT_MAX;
  bool bounded = false;
};

struct EventShared {
  // Bit 0: the flag. Bits 1..: how many times set() raised it (waiters sleep on the whole
  // word, so a set() followed at once by clear() still wakes and releases them).
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint32_t> waiters{0};
};

// Condition waiters each have a slot with their own futex word, queued in arrival order;
// notify(n) dequeues the first n and signals them. Slots and the queue are only touched with
// the condition's lock held; `signalled` is also read by its sleeping waiter.
struct ConditionSlot {
  std::atomic<std::uint32_t> signalled{0};
  std::uint32_t next = 0;  // slot index + 1 of the next waiter (or next free slot); 0: none
  pid_t pid = 0;           // the waiting process (a dead one's slot is skipped by notify)
  std::uint32_t pad = 0;
};
struct ConditionShared {
  std::uint32_t head = 0, tail = 0;                 // the queue of waiters (slot numbers, 1-based; 0: empty)
  std::uint32_t free_head = 0;                      // freed slots
  std::uint32_t never_used = 1;                     // first slot number never handed out
  ConditionSlot slots[Condition::kMaxWaiters + 1];  // slots[0] unused (0 means "none")
};

struct BarrierShared {
  // Changed with the condition's lock held; atomics so that parties()/n_waiting()/broken()
  // may look without it.
  std::atomic<int> parties{0};
  std::atomic<int> state{0};  // 0 filling, 1 draining, -1 resetting, -2 broken (threading.Barrier's)
  std::atomic<int> count{0};
};

}  // namespace detail

// ---- Lock ---------------------------------------------------------------------------------------

Lock::Lock() : Lock(Context(StartMethod::fork)) {}

Lock::Lock(Context context) {
  auto [mem, state] = detail::make_shared_state_for<detail::MutexWord>(context.start_method(), 0);
  mem_ = std::move(mem);
  m_ = state;
}

std::string Lock::repr() const {
  const pid_t owner = m_->owner.load(std::memory_order_relaxed);
  std::string who;
  if (!locked()) {
    who = "None";
  } else if (owner == detail::current_tid()) {
    who = detail::owner_name(owner);
  } else if (owner != 0 && detail::thread_of_this_process(owner)) {
    who = "SomeOtherThread";
  } else {
    who = "SomeOtherProcess";
  }
  return "<Lock(owner=" + who + ")>";
}

// ---- RLock --------------------------------------------------------------------------------------

RLock::RLock() : RLock(Context(StartMethod::fork)) {}

RLock::RLock(Context context) {
  auto [mem, state] = detail::make_shared_state_for<detail::RLockShared>(context.start_method(), 0);
  mem_ = std::move(mem);
  s_ = state;
}

bool RLock::acquire(bool block, Timeout timeout) {
  detail::MutexWord* m = &s_->mutex;
  const pid_t me = detail::current_tid();
  if (m->owner.load(std::memory_order_relaxed) == me) {  // only we can have stored our tid
    ++s_->count;
    return true;
  }
  std::uint32_t expected = 0;
  if (!m->state.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed) &&
      !detail::mutex_acquire_slow(m, block, timeout)) {
    return false;
  }
  m->owner.store(me, std::memory_order_relaxed);
  s_->count = 1;
  return true;
}

void RLock::release() {
  detail::MutexWord* m = &s_->mutex;
  if (m->owner.load(std::memory_order_relaxed) != detail::current_tid() || s_->count == 0) {
    throw AssertionError("attempt to release recursive lock not owned by thread");
  }
  if (--s_->count > 0) return;
  m->owner.store(0, std::memory_order_relaxed);
  if (m->state.exchange(0, std::memory_order_release) == 2) detail::mutex_wake_one(m);
}

bool RLock::is_mine() const noexcept {
  return s_->mutex.owner.load(std::memory_order_relaxed) == detail::current_tid() && s_->count > 0;
}

std::uint32_t RLock::count() const noexcept { return is_mine() ? s_->count : 0; }

std::string RLock::repr() const {
  const pid_t owner = s_->mutex.owner.load(std::memory_order_relaxed);
  if (is_mine()) return "<RLock(" + detail::owner_name(owner) + ", " + std::to_string(s_->count) + ")>";
  if (s_->mutex.state.load(std::memory_order_relaxed) == 0) return "<RLock(None, 0)>";
  if (owner != 0 && detail::thread_of_this_process(owner)) return "<RLock(SomeOtherThread, nonzero)>";
  return "<RLock(SomeOtherProcess, nonzero)>";
}

// ---- Semaphore ----------------------------------------------------------------------------------

Semaphore::Semaphore(int value) : Semaphore(value, false, Context(StartMethod::fork)) {}
Semaphore::Semaphore(int value, Context context) : Semaphore(value, false, context) {}

Semaphore::Semaphore(int value, bool bounded, Context context) {
  if (value < 0) throw OSError("[Errno 22] Invalid argument", EINVAL);
  auto [mem, state] = detail::make_shared_state_for<detail::SemaphoreShared>(context.start_method(), 0);
  mem_ = std::move(mem);
  s_ = state;
  s_->value.store(static_cast<std::uint32_t>(value), std::memory_order_relaxed);
  s_->bounded = bounded;
  s_->maxvalue = bounded ? value : INT_MAX;
}

namespace {
bool try_take(detail::SemaphoreShared* s) {
  std::uint32_t v = s->value.load(std::memory_order_relaxed);
  while (v > 0) {
    if (s->value.compare_exchange_weak(v, v - 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return true;
  }
  return false;
}
}  // namespace

bool Semaphore::acquire(bool block, Timeout timeout) {
  detail::SemaphoreShared* s = s_;
  if (try_take(s)) return true;
  if (!block) return false;
  const Deadline deadline = Deadline::after(timeout);
  const auto ts = deadline.abs_timespec();
  // Register, then re-check (release() publishes, then looks for waiters): one of the two
  // sees the other.
  s->waiters.fetch_add(1, std::memory_order_seq_cst);
  bool got = false;
  for (;;) {
    if (try_take(s)) {
      got = true;
      break;
    }
    if (deadline.expired()) break;
    detail::futex_wait(&s->value, 0, ts);
  }
  s->waiters.fetch_sub(1, std::memory_order_relaxed);
  return got;
}

void Semaphore::release() {
  detail::SemaphoreShared* s = s_;
  std::uint32_t v = s->value.load(std::memory_order_relaxed);
  do {
    // BoundedSemaphore's check, and SEM_VALUE_MAX's (sem_post's EOVERFLOW, which CPython
    // reports with the same ValueError).
    if (v >= static_cast<std::uint32_t>(s->maxvalue)) detail::raise_released_too_many_times();
  } while (!s->value.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (s->waiters.load(std::memory_order_seq_cst) > 0) detail::futex_wake(&s->value, 1);
}

int Semaphore::get_value() const noexcept { return static_cast<int>(s_->value.load(std::memory_order_relaxed)); }

std::string Semaphore::repr() const {
  const std::string value = std::to_string(get_value());
  if (s_->bounded) return "<BoundedSemaphore(value=" + value + ", maxvalue=" + std::to_string(s_->maxvalue) + ")>";
  return "<Semaphore(value=" + value + ")>";
}

// ---- Event --------------------------------------------------------------------------------------

Event::Event() {
  auto [mem, state] = detail::make_shared_state<detail::EventShared>(0);
  mem_ = std::move(mem);
  s_ = state;
}

bool Event::is_set() const noexcept { return (s_->word.load(std::memory_order_acquire) & 1u) != 0; }

void Event::set() {
  std::uint32_t w = s_->word.load(std::memory_order_relaxed);
  do {
    if (w & 1u) return;  // already set: its waiters were woken by the set() that raised it
  } while (!s_->word.compare_exchange_weak(w, (w + 2u) | 1u, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (s_->waiters.load(std::memory_order_seq_cst) > 0) detail::futex_wake(&s_->word);
}

void Event::clear() { s_->word.fetch_and(~1u, std::memory_order_seq_cst); }

bool Event::wait(Timeout timeout) {
  const std::uint32_t start = s_->word.load(std::memory_order_acquire);
  if (start & 1u) return true;
  const Deadline deadline = Deadline::after(timeout);
  auto done = [&](std::uint32_t w) { return (w & 1u) != 0 || (w >> 1) != (start >> 1); };
  const auto ts = deadline.abs_timespec();
  s_->waiters.fetch_add(1, std::memory_order_seq_cst);
  bool result = false;
  for (;;) {
    const std::uint32_t w = s_->word.load(std::memory_order_seq_cst);
    if (done(w)) {
      result = true;
      break;
    }
    if (deadline.expired()) break;
    detail::futex_wait(&s_->word, w, ts);
  }
  s_->waiters.fetch_sub(1, std::memory_order_relaxed);
  return result;
}

std::string Event::repr() const {
  char addr[32];
  std::snprintf(addr, sizeof addr, "%p", static_cast<const void*>(s_));
  return std::string("<Event at ") + addr + (is_set() ? " set>" : " unset>");
}

// ---- Condition ----------------------------------------------------------------------------------

Condition::Condition() : Condition(AnyLock(RLock())) {}

Condition::Condition(AnyLock lock) : lock_(std::move(lock)) {
  auto [mem, state] = detail::make_shared_state<detail::ConditionShared>(0);
  mem_ = std::move(mem);
  s_ = state;
}

Timeout Condition::remaining(const Deadline& deadline) {
  const auto at = deadline.time_point();
  if (!at) return std::nullopt;
  return std::chrono::duration<double>(*at - Deadline::clock::now()).count();
}

bool Condition::wait(Timeout timeout) {
  if (!lock_.is_mine()) throw AssertionError("must acquire() condition before using wait()");
  const Deadline deadline = Deadline::after(timeout);
  detail::ConditionShared* s = s_;
  // Take a slot and queue it (lock held).
  std::uint32_t n = s->free_head;
  if (n != 0) {
    s->free_head = s->slots[n].next;
  } else if (s->never_used <= kMaxWaiters) {
    n = s->never_used++;
  } else {
    throw RuntimeError("too many waiters on one Condition (at most " + std::to_string(kMaxWaiters) + ")");
  }
  detail::ConditionSlot& slot = s->slots[n];
  slot.signalled.store(0, std::memory_order_relaxed);
  slot.next = 0;
  slot.pid = ::getpid();
  if (s->tail != 0) {
    s->slots[s->tail].next = n;
  } else {
    s->head = n;
  }
  s->tail = n;

  // Release the lock completely (every level of an RLock) and sleep on the slot.
  std::uint32_t depth = 0;
  if (lock_.rlock_) {
    depth = lock_.rlock_->s_->count;
    lock_.rlock_->s_->count = 1;
  }
  lock_.release();
  const auto ts = deadline.abs_timespec();
  while (slot.signalled.load(std::memory_order_acquire) == 0 && !deadline.expired()) {
    detail::futex_wait(&slot.signalled, 0, ts);
  }
  lock_.acquire();
  if (lock_.rlock_) lock_.rlock_->s_->count = depth;

  // Lock held again: a slot that was not signalled is still queued; take it out.
  const bool notified = slot.signalled.load(std::memory_order_acquire) != 0;
  if (!notified) {
    std::uint32_t prev = 0;
    for (std::uint32_t i = s->head; i != 0; prev = i, i = s->slots[i].next) {
      if (i != n) continue;
      if (prev != 0) {
        s->slots[prev].next = slot.next;
      } else {
        s->head = slot.next;
      }
      if (s->tail == n) s->tail = prev;
      break;
    }
  }
  slot.pid = 0;
  slot.next = s->free_head;
  s->free_head = n;
  return notified;
}

void Condition::notify(int n) {
  if (!lock_.is_mine()) throw AssertionError("lock is not owned");
  detail::ConditionShared* s = s_;
  while (n > 0 && s->head != 0) {
    const std::uint32_t i = s->head;
    detail::ConditionSlot& slot = s->slots[i];
    s->head = slot.next;
    if (s->head == 0) s->tail = 0;
    if (detail::process_gone(slot.pid)) {  // killed while waiting: its slot is free again
      slot.pid = 0;
      slot.next = s->free_head;
      s->free_head = i;
      continue;
    }
    slot.signalled.store(1, std::memory_order_release);
    detail::futex_wake(&slot.signalled, 1);
    --n;
  }
}

// ---- Barrier ------------------------------------------------------------------------------------

Barrier::Barrier(int parties, std::function<void()> action, Timeout timeout)
    : cond_(AnyLock(Lock())), action_(std::move(action)), timeout_(timeout) {
  auto [mem, state] = detail::make_shared_state<detail::BarrierShared>(0);
  mem_ = std::move(mem);
  s_ = state;
  s_->parties = parties;
}

namespace {
class CondHold {
 public:
  explicit CondHold(Condition& c) : c_(c) { c_.acquire(); }
  ~CondHold() { c_.release(); }
  CondHold(const CondHold&) = delete;
  CondHold& operator=(const CondHold&) = delete;

 private:
  Condition& c_;
};
}  // namespace

int Barrier::wait(Timeout timeout) {
  if (!timeout) timeout = timeout_;
  CondHold hold(cond_);
  enter();
  const int index = s_->count++;
  try {
    if (index + 1 == s_->parties) {
      release_all();
    } else {
      wait_released(timeout);
    }
  } catch (...) {
    --s_->count;
    exit();
    throw;
  }
  --s_->count;
  exit();
  return index;
}

void Barrier::enter() {
  while (s_->state == -1 || s_->state == 1) cond_.wait();  // wait for the previous round to drain
  if (s_->state < 0) throw BrokenBarrierError("");
}

void Barrier::release_all() {
  try {
    if (action_) action_();
    s_->state = 1;
    cond_.notify_all();
  } catch (...) {
    break_barrier();
    throw;
  }
}

void Barrier::wait_released(Timeout timeout) {
  if (!cond_.wait_for([this] { return s_->state != 0; }, timeout)) {
    break_barrier();
    throw BrokenBarrierError("");
  }
  if (s_->state < 0) throw BrokenBarrierError("");
}

void Barrier::exit() {
  if (s_->count == 0 && (s_->state == -1 || s_->state == 1)) {
    s_->state = 0;
    cond_.notify_all();
  }
}

void Barrier::break_barrier() {
  s_->state = -2;
  cond_.notify_all();
}

void Barrier::reset() {
  CondHold hold(cond_);
  if (s_->count > 0) {
    if (s_->state == 0 || s_->state == -2) s_->state = -1;
  } else {
    s_->state = 0;
  }
  cond_.notify_all();
}

void Barrier::abort() {
  CondHold hold(cond_);
  break_barrier();
}

int Barrier::parties() const noexcept { return s_->parties; }
int Barrier::n_waiting() const noexcept { return s_->state == 0 ? s_->count.load() : 0; }
bool Barrier::broken() const noexcept { return s_->state == -2; }

std::string Barrier::repr() const {
  char addr[32];
  std::snprintf(addr, sizeof addr, "%p", static_cast<const void*>(s_));
  const std::string head = std::string("<multiprocessing.synchronize.Barrier at ") + addr;
  if (broken()) return head + ": broken>";
  return head + ": waiters=" + std::to_string(n_waiting()) + "/" + std::to_string(parties()) + ">";
}

}  // namespace mpc
