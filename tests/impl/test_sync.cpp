// mpc::Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier: CPython's semantics,
// across fork()ed processes (mpc::Process) as well as threads.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/shared_value.hpp"
#include "mpc/sync.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using mpc::Process;

namespace {

using mpc_test::Clock;
using mpc_test::message_of;
using mpc_test::seconds_since;

// Starts f in a fork()ed child and returns its exit code once it ended.
template <class F>
int run_child(F&& f) {
  Process p(std::forward<F>(f));
  p.start();
  p.join();
  return p.exitcode().value_or(-1000);
}

std::vector<Process> start_children(int n, const std::function<int(int)>& body) {
  std::vector<Process> ps;
  for (int i = 0; i < n; ++i) ps.emplace_back([body, i] { return body(i); });
  for (auto& p : ps) p.start();
  return ps;
}

void expect_all_exit_zero(std::vector<Process>& ps) {
  for (auto& p : ps) {
    p.join(30);
    EXPECT_EQ(p.exitcode(), 0);
  }
}

std::set<std::string> dev_shm_entries() {
  std::set<std::string> names;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d)) names.insert(e->d_name);
    ::closedir(d);
  }
  return names;
}

}  // namespace

// ---- Lock ---------------------------------------------------------------------------------------

TEST(Lock, AcquireReleaseAndTheErrorOfAnUnlockedRelease) {
  mpc::Lock l;
  EXPECT_TRUE(l.acquire());
  EXPECT_FALSE(l.acquire(false));
  EXPECT_FALSE(l.acquire(false, 5.0));  // the timeout is ignored when block is false
  auto t0 = Clock::now();
  EXPECT_FALSE(l.acquire(true, 0.1));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_FALSE(l.acquire(true, -1.0));  // negative: 0
  l.release();
  EXPECT_EQ(message_of<mpc::ValueError>([&] { l.release(); }), "semaphore or lock released too many times");
  EXPECT_TRUE(l.acquire(true, -1.0));  // free: a zero timeout still takes it
  l.release();
}

TEST(Lock, ReprSaysWhoHoldsIt) {
  mpc::Lock l;
  EXPECT_EQ(l.repr(), "<Lock(owner=None)>");
  l.acquire();
  EXPECT_EQ(l.repr(), "<Lock(owner=MainProcess)>");
  std::thread([&] { EXPECT_EQ(l.repr(), "<Lock(owner=SomeOtherThread)>"); }).join();
  EXPECT_EQ(run_child([&] { return l.repr() == "<Lock(owner=SomeOtherProcess)>" ? 0 : 1; }), 0);
  l.release();
}

TEST(Lock, ExcludesOtherProcessesAndIsReleasedFromAnother) {
  mpc::Lock l;
  mpc::Event held, go_on;
  Process holder([&] {
    l.acquire();
    held.set();
    go_on.wait(10);
    l.release();
  });
  holder.start();
  ASSERT_TRUE(held.wait(10));
  EXPECT_FALSE(l.acquire(false));
  EXPECT_FALSE(l.acquire(true, 0.05));
  go_on.set();
  EXPECT_TRUE(l.acquire(true, 10));
  holder.join();
  EXPECT_EQ(holder.exitcode(), 0);
  // A Lock has no owner: a child may release what the parent acquired.
  EXPECT_EQ(run_child([&] { l.release(); }), 0);
  EXPECT_TRUE(l.acquire(false));
  l.release();
}

TEST(Lock, MutualExclusionAcrossProcessesAndThreads) {
  mpc::Lock l;
  auto counter = mpc::SharedValue::raw('q');
  auto* n = static_cast<std::int64_t*>(counter.data());
  constexpr int kPer = 20000;
  auto work = [&] {
    for (int i = 0; i < kPer; ++i) {
      mpc::LockGuard g(l);
      *n = *n + 1;  // not atomic: only the lock makes it exact
    }
  };
  auto ps = start_children(3, [&](int) {
    std::thread t(work);
    work();
    t.join();
    return 0;
  });
  work();
  expect_all_exit_zero(ps);
  EXPECT_EQ(*n, 7 * kPer);
}

TEST(Lock, HeldByADeadProcessStaysHeldAsInCPython) {
  mpc::Lock l;
  EXPECT_EQ(run_child([&] {
              l.acquire();
              ::_exit(0);
            }),
            0);
  auto t0 = Clock::now();
  EXPECT_FALSE(l.acquire(true, 0.2));
  EXPECT_GE(seconds_since(t0), 0.2);
  l.release();  // anyone may release it
  EXPECT_TRUE(l.acquire(false));
  l.release();
}

TEST(Lock, AWaiterKilledWhileWaitingDoesNotWedgeTheLock) {
  mpc::Lock l;
  l.acquire();
  Process waiter([&] { l.acquire(); });
  waiter.start();
  std::this_thread::sleep_for(50ms);
  waiter.kill();
  waiter.join();
  l.release();
  EXPECT_TRUE(l.acquire(false));
  l.release();
}

TEST(Lock, CopiesAreTheSameLock) {
  mpc::Lock a;
  mpc::Lock b = a;
  EXPECT_TRUE(a.is_same(b));
  EXPECT_FALSE(a.is_same(mpc::Lock()));
  a.acquire();
  EXPECT_FALSE(b.acquire(false));
  b.release();
}

// ---- RLock --------------------------------------------------------------------------------------

TEST(RLock, RecursesAndOnlyItsOwnerReleasesIt) {
  mpc::RLock r;
  EXPECT_EQ(r.repr(), "<RLock(None, 0)>");
  EXPECT_TRUE(r.acquire());
  EXPECT_TRUE(r.acquire());
  EXPECT_TRUE(r.acquire(false));
  EXPECT_EQ(r.count(), 3u);
  EXPECT_EQ(r.repr(), "<RLock(MainProcess, 3)>");
  const std::string not_owned = "attempt to release recursive lock not owned by thread";
  std::thread([&] {
    EXPECT_EQ(message_of<mpc::AssertionError>([&] { r.release(); }), not_owned);
    EXPECT_FALSE(r.acquire(true, 0.05));
    EXPECT_EQ(r.repr(), "<RLock(SomeOtherThread, nonzero)>");
  }).join();
  EXPECT_EQ(run_child([&] {
              if (message_of<mpc::AssertionError>([&] { r.release(); }) != not_owned) return 1;
              if (r.acquire(false)) return 2;
              return r.repr() == "<RLock(SomeOtherProcess, nonzero)>" ? 0 : 3;
            }),
            0);
  r.release();
  r.release();
  r.release();
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { r.release(); }), not_owned);
  EXPECT_EQ(run_child([&] { return r.acquire(false) ? 0 : 1; }), 0);  // the child's exit leaves it held
  EXPECT_FALSE(r.acquire(true, 0.05));
}

// ---- Semaphore ----------------------------------------------------------------------------------

TEST(Semaphore, CountsAsCPythonsTestSays) {
  mpc::Semaphore s(2);
  EXPECT_EQ(s.get_value(), 2);
  EXPECT_TRUE(s.acquire());
  EXPECT_EQ(s.get_value(), 1);
  EXPECT_TRUE(s.acquire());
  EXPECT_EQ(s.get_value(), 0);
  EXPECT_FALSE(s.acquire(false));
  EXPECT_EQ(s.get_value(), 0);
  for (int v = 1; v <= 4; ++v) {
    s.release();
    EXPECT_EQ(s.get_value(), v);
  }
  EXPECT_EQ(s.repr(), "<Semaphore(value=4)>");
}

TEST(Semaphore, TimeoutsAndLimits) {
  mpc::Semaphore s(0);
  auto t0 = Clock::now();
  EXPECT_FALSE(s.acquire(false, 0.5));
  EXPECT_FALSE(s.acquire(true, -1));
  EXPECT_LT(seconds_since(t0), 0.1);
  t0 = Clock::now();
  EXPECT_FALSE(s.acquire(true, 0.1));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_EQ(message_of<mpc::OSError>([] { mpc::Semaphore bad(-1); }), "[Errno 22] Invalid argument");
  mpc::Semaphore top(INT_MAX);
  EXPECT_EQ(message_of<mpc::ValueError>([&] { top.release(); }), "semaphore or lock released too many times");
}

TEST(BoundedSemaphore, OverReleaseIsAValueError) {
  mpc::BoundedSemaphore b(2);
  EXPECT_EQ(b.repr(), "<BoundedSemaphore(value=2, maxvalue=2)>");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { b.release(); }), "semaphore or lock released too many times");
  EXPECT_TRUE(b.acquire());
  b.release();
  EXPECT_EQ(b.get_value(), 2);
}

TEST(Semaphore, PingPongBetweenProcessesLosesNoWakeUp) {
  mpc::Semaphore ping(0), pong(0);
  constexpr int kRounds = 20000;
  Process peer([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!ping.acquire(true, 10)) return 1;
      pong.release();
    }
    return 0;
  });
  peer.start();
  int done = 0;
  for (int i = 0; i < kRounds; ++i) {
    ping.release();
    if (!pong.acquire(true, 10)) break;
    ++done;
  }
  peer.join();
  EXPECT_EQ(done, kRounds);
  EXPECT_EQ(peer.exitcode(), 0);
}

TEST(Semaphore, ManyProcessesShareTheCount) {
  mpc::Semaphore s(0);
  auto got = mpc::SharedValue('i', mpc::Value::integer(0));
  auto ps = start_children(4, [&](int) {
    for (int i = 0; i < 500; ++i) {
      if (!s.acquire(true, 20)) return 1;
      mpc::LockGuard g(got.get_lock());
      got.set_value(mpc::Value::integer(*got.value().to_int64() + 1));
    }
    return 0;
  });
  for (int i = 0; i < 2000; ++i) s.release();
  expect_all_exit_zero(ps);
  EXPECT_EQ(got.value().to_int64(), 2000);
  EXPECT_EQ(s.get_value(), 0);
}

// ---- Event --------------------------------------------------------------------------------------

TEST(Event, SetClearWaitAcrossProcesses) {
  mpc::Event e;
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(0.0));
  auto t0 = Clock::now();
  EXPECT_FALSE(e.wait(0.1));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_NE(e.repr().find(" unset>"), std::string::npos);
  e.set();
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.wait());
  EXPECT_TRUE(e.wait(0.1));
  EXPECT_NE(e.repr().find(" set>"), std::string::npos);
  e.clear();
  EXPECT_FALSE(e.is_set());
  Process setter([&] {
    std::this_thread::sleep_for(100ms);
    e.set();
  });
  setter.start();
  t0 = Clock::now();
  EXPECT_TRUE(e.wait(10));
  EXPECT_LT(seconds_since(t0), 5);
  setter.join();
  // One set() releases several waiting processes.
  e.clear();
  auto ps = start_children(3, [&](int) { return e.wait(10) ? 0 : 1; });
  std::this_thread::sleep_for(50ms);
  e.set();
  expect_all_exit_zero(ps);
}

// ---- Condition ----------------------------------------------------------------------------------

TEST(Condition, NeedsItsLock) {
  mpc::Condition c;
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { c.wait(0); }), "must acquire() condition before using wait()");
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { c.notify(); }), "lock is not owned");
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { c.notify_all(); }), "lock is not owned");
  mpc::Condition over_lock{mpc::AnyLock(mpc::Lock())};
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { over_lock.wait(0); }),
            "must acquire() condition before using wait()");
  over_lock.acquire();
  EXPECT_FALSE(over_lock.wait(0));
  over_lock.release();
}

TEST(Condition, WaitTimesOutAndWaitForReturnsThePredicate) {
  mpc::Condition c;
  c.acquire();
  c.acquire();  // an RLock: wait() releases every level and restores them
  EXPECT_FALSE(c.wait(0));
  auto t0 = Clock::now();
  EXPECT_FALSE(c.wait(0.1));
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_FALSE(c.wait(-1));
  EXPECT_EQ(c.wait_for([] { return 5; }, 0), 5);
  t0 = Clock::now();
  EXPECT_EQ(c.wait_for([] { return 0; }, 0.1), 0);
  EXPECT_GE(seconds_since(t0), 0.1);
  EXPECT_EQ(c.lock().rlock()->count(), 2u);
  c.release();
  c.release();
}

TEST(Condition, NotifyWakesTheLongestWaitingFirstAndExactlyN) {
  mpc::Condition c;
  auto woken = mpc::SharedValue::raw('i');
  auto sleeping = mpc::SharedValue::raw('i');
  auto* w = static_cast<int*>(woken.data());
  auto* sl = static_cast<int*>(sleeping.data());
  auto ps = start_children(6, [&](int) {
    c.acquire();
    ++*sl;
    const bool ok = c.wait(30);
    ++*w;
    c.release();
    return ok ? 0 : 1;
  });
  auto settle = [&](int expect) {
    for (int i = 0; i < 300; ++i) {
      c.acquire();
      const int n = *w;
      c.release();
      if (n >= expect) return n;
      std::this_thread::sleep_for(10ms);
    }
    c.acquire();
    const int n = *w;
    c.release();
    return n;
  };
  for (int i = 0; i < 500; ++i) {  // all six asleep
    c.acquire();
    const int n = *sl;
    c.release();
    if (n == 6) break;
    std::this_thread::sleep_for(10ms);
  }
  c.acquire();
  c.notify(2);
  c.release();
  EXPECT_EQ(settle(2), 2);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(settle(2), 2);  // not more
  c.acquire();
  c.notify(4);
  c.release();
  EXPECT_EQ(settle(6), 6);
  c.acquire();
  c.notify(3);  // nobody left
  c.release();
  expect_all_exit_zero(ps);
}

TEST(Condition, NotifyAllAndWaitForAcrossProcesses) {
  mpc::Condition c;
  auto state = mpc::SharedValue::raw('i');
  auto* st = static_cast<int*>(state.data());
  auto ps = start_children(3, [&](int) {
    c.acquire();
    const bool ok = c.wait_for([&] { return *st >= 4; }, 30);
    c.release();
    return ok ? 0 : 1;
  });
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(20ms);
    c.acquire();
    ++*st;
    c.notify_all();
    c.release();
  }
  expect_all_exit_zero(ps);
}

TEST(Condition, AKilledWaiterDoesNotSwallowANotify) {
  mpc::Condition c;
  mpc::Event waiting;
  Process doomed([&] {
    c.acquire();
    waiting.set();
    c.wait();
  });
  doomed.start();
  ASSERT_TRUE(waiting.wait(10));
  c.acquire();  // doomed is now asleep in wait() (it released the lock)
  c.release();
  doomed.kill();
  doomed.join();
  mpc::Event second_waiting;
  Process live([&] {
    c.acquire();
    second_waiting.set();
    const bool ok = c.wait(10);
    c.release();
    return ok ? 0 : 1;
  });
  live.start();
  ASSERT_TRUE(second_waiting.wait(10));
  c.acquire();
  c.notify(1);  // skips the dead waiter's slot
  c.release();
  live.join();
  EXPECT_EQ(live.exitcode(), 0);
}

// ---- Barrier ------------------------------------------------------------------------------------

TEST(Barrier, RoundsInLockStepAndExactlyOnePartyGetsZero) {
  constexpr int kParties = 4, kRounds = 30;
  mpc::Barrier b(kParties, {}, 30);
  auto zeros = mpc::SharedArray::raw('i', kRounds);
  auto* z = static_cast<std::atomic<int>*>(zeros.data());
  auto body = [&](int) {
    for (int r = 0; r < kRounds; ++r) {
      if (b.wait() == 0) z[r].fetch_add(1);
    }
    return 0;
  };
  auto ps = start_children(kParties - 1, body);
  body(0);
  expect_all_exit_zero(ps);
  for (int r = 0; r < kRounds; ++r) EXPECT_EQ(z[r].load(), 1) << "round " << r;
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.parties(), kParties);
}

TEST(Barrier, ActionRunsOnceBeforeAnyPartyIsReleased) {
  auto runs = mpc::SharedValue::raw('i');
  auto* n = static_cast<std::atomic<int>*>(runs.data());
  mpc::Barrier b(
      3, [n] { n->fetch_add(1); }, 30);
  auto ps = start_children(2, [&](int) {
    b.wait();
    return n->load() == 1 ? 0 : 1;
  });
  b.wait();
  EXPECT_EQ(n->load(), 1);
  expect_all_exit_zero(ps);
  EXPECT_EQ(n->load(), 1);
}

TEST(Barrier, AbortBreaksItForTheOthersAndResetRepairsIt) {
  mpc::Barrier b(3);
  auto ps = start_children(2, [&](int) {
    try {
      b.wait(30);
    } catch (const mpc::BrokenBarrierError&) {
      return 0;
    }
    return 1;
  });
  for (int i = 0; i < 500 && b.n_waiting() < 2; ++i) std::this_thread::sleep_for(10ms);
  b.abort();
  expect_all_exit_zero(ps);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(1), mpc::BrokenBarrierError);
  b.reset();
  EXPECT_FALSE(b.broken());
  auto again = start_children(2, [&](int) { return b.wait(30) >= 0 ? 0 : 1; });
  b.wait(30);
  expect_all_exit_zero(again);
}

TEST(Barrier, ResetWhileWaitingBreaksTheWaitersThenItPasses) {
  mpc::Barrier b(3);
  auto ps = start_children(2, [&](int) {
    try {
      b.wait(30);
      return 1;
    } catch (const mpc::BrokenBarrierError&) {
    }
    return b.wait(30) >= 0 ? 0 : 2;  // the barrier works again after the reset
  });
  for (int i = 0; i < 500 && b.n_waiting() < 2; ++i) std::this_thread::sleep_for(10ms);
  b.reset();
  std::this_thread::sleep_for(50ms);
  b.wait(30);
  expect_all_exit_zero(ps);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, ATimeoutBreaksItForEveryParty) {
  mpc::Barrier b(3, {}, 0.2);  // the default timeout
  auto ps = start_children(2, [&](int) {
    try {
      b.wait();
    } catch (const mpc::BrokenBarrierError&) {
      return 0;
    }
    return 1;
  });
  expect_all_exit_zero(ps);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(), mpc::BrokenBarrierError);  // the late party
}

TEST(Barrier, OneAndZeroParties) {
  mpc::Barrier one(1);
  EXPECT_EQ(one.wait(), 0);
  EXPECT_EQ(one.wait(), 0);
  mpc::Barrier zero(0);
  auto t0 = Clock::now();
  EXPECT_THROW(zero.wait(0.2), mpc::BrokenBarrierError);
  EXPECT_GE(seconds_since(t0), 0.2);
  mpc::Barrier three(3);
  EXPECT_NE(three.repr().find(": waiters=0/3>"), std::string::npos);
}

// ---- shared memory ------------------------------------------------------------------------------

TEST(Event, ReprIsCPython311sAndFollowsTheFlag) {
  mpc::Event e;
  const std::regex unset("<Event at 0x[0-9a-f]+ unset>"), set("<Event at 0x[0-9a-f]+ set>");
  EXPECT_TRUE(std::regex_match(e.repr(), unset)) << e.repr();
  EXPECT_EQ(run_child([&] {
              e.set();
              return 0;
            }),
            0);
  EXPECT_TRUE(std::regex_match(e.repr(), set)) << e.repr();
  e.clear();
  EXPECT_TRUE(std::regex_match(e.repr(), unset)) << e.repr();
}

TEST(Barrier, ReprCountsWaitersAndSaysBroken) {
  mpc::Barrier b(3);
  const std::string head = "<multiprocessing\\.synchronize\\.Barrier at 0x[0-9a-f]+: ";
  EXPECT_TRUE(std::regex_match(b.repr(), std::regex(head + "waiters=0/3>"))) << b.repr();
  std::thread waiter([&] { EXPECT_THROW(b.wait(), mpc::BrokenBarrierError); });
  const auto start = Clock::now();
  while (b.n_waiting() != 1 && seconds_since(start) < 10) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(std::regex_match(b.repr(), std::regex(head + "waiters=1/3>"))) << b.repr();
  b.abort();
  waiter.join();
  EXPECT_TRUE(std::regex_match(b.repr(), std::regex(head + "broken>"))) << b.repr();
  b.reset();
  EXPECT_TRUE(std::regex_match(b.repr(), std::regex(head + "waiters=0/3>"))) << b.repr();
}

TEST(SyncSharedMemory, LeavesNothingInDevShm) {
  const auto before = dev_shm_entries();
  {
    mpc::Lock l;
    mpc::RLock r;
    mpc::Semaphore s(1);
    mpc::BoundedSemaphore bs(1);
    mpc::Event e;
    mpc::Condition c;
    mpc::Barrier b(2, {}, 10);
    auto v = mpc::SharedValue('d', mpc::Value::floating(1.5));
    auto a = mpc::SharedArray('i', 100);
    Process child([&] {
      l.acquire();
      l.release();
      e.set();
      v.set_value(mpc::Value::floating(2.5));
      return b.wait() >= 0 ? 0 : 1;
    });
    child.start();
    b.wait();
    child.join();
    EXPECT_EQ(child.exitcode(), 0);
    EXPECT_TRUE(e.is_set());
    EXPECT_EQ(v.value().as_float(), 2.5);
  }
  EXPECT_EQ(dev_shm_entries(), before);
}
