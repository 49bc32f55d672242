// The spawn start method: contexts, registered targets run in a fresh exec of this binary
// (main.cpp calls mpc::spawn_main), spawn-context objects shared with it, fork-context ones refused.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "mpc/context.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/queue.hpp"
#include "mpc/spawn.hpp"
#include "mpc/sync.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using mpc::Context;
using mpc::Process;
using mpc::SpawnArgs;
using mpc::StartMethod;
using mpc::Target;
using mpc::Value;

namespace {

using mpc_test::message_of;

const Context kSpawn(StartMethod::spawn);
const mpc::ProcessOptions kSpawnOptions{.start_method = StartMethod::spawn};

// Changed by the parent before it starts a child: a spawned child, a fresh program, has 0.
int parent_global = 0;

Value str(const std::string& s) { return Value::str(s); }

// What every target below can tell the parent: put on the queue that is its first argument.
const bool registered = [] {
  mpc::register_target("test.put_second", [](const SpawnArgs& a) { a.queue(0).put(a.value(1)); });
  mpc::register_target("test.put_global", [](const SpawnArgs& a) { a.queue(0).put(Value::integer(parent_global)); });
  mpc::register_target("test.put_identity", [](const SpawnArgs& a) {
    a.queue(0).put(Value::tuple({str(mpc::current_process_name()), Value::boolean(mpc::current_process_daemon()),
                                 Value::bytes(mpc::current_process_authkey()),
                                 str(mpc::get_start_method(true).value_or("None"))}));
  });
  mpc::register_target("test.exit_code", [](const SpawnArgs& a) { return static_cast<int>(*a.value(0).to_int64()); });
  mpc::register_target("test.throw", [](const SpawnArgs&) { throw mpc::ValueError("raised in the spawned child"); });
  // 7 when the lock the parent holds is held here too; the same lock given twice is one lock.
  mpc::register_target("test.lock_held", [](const SpawnArgs& a) {
    mpc::Lock l = a.lock(0);
    if (!l.is_same(a.lock(1))) return 2;
    return l.acquire(false) ? 1 : 7;
  });
  mpc::register_target("test.sleep", [](const SpawnArgs&) { ::sleep(30); });
  mpc::register_target("test.parent_is_not_us", [](const SpawnArgs& a) {
    return ::getppid() == static_cast<pid_t>(*a.value(0).to_int64()) ? 1 : 0;
  });
  mpc::register_target("test.sync_family", [](const SpawnArgs& a) {
    if (a.rlock(0).acquire(false)) return 1;  // the parent holds it
    a.semaphore(1).release();
    a.bounded_semaphore(2).release();  // back to its maximum
    mpc::JoinableQueue jq = a.joinable_queue(3);
    (void)jq.get();
    jq.task_done();
    a.simple_queue(4).put(str("simple"));
    return 0;
  });
  return true;
}();

int started_and_joined(Process& p) {
  p.start();
  p.join();
  return p.exitcode().value_or(-1000);
}

int open_descriptors() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

}  // namespace

TEST(Context, EachStartMethodHasItsContext) {
  EXPECT_EQ(mpc::get_context("fork").get_start_method(), "fork");
  EXPECT_EQ(mpc::get_context("spawn").get_start_method(), "spawn");
  EXPECT_EQ(mpc::get_context("forkserver").get_start_method(), "forkserver");
  EXPECT_EQ(message_of<mpc::ValueError>([] { (void)mpc::get_context("nonsense"); }),
            "cannot find context for 'nonsense'");
  EXPECT_EQ(mpc::get_all_start_methods(), (std::vector<std::string>{"fork", "spawn", "forkserver"}));
}

TEST(Context, SetStartMethodFollowsCPythonsDefaultContext) {
  mpc::set_start_method(std::nullopt, true);
  EXPECT_EQ(mpc::get_start_method(true), std::nullopt);
  EXPECT_EQ(mpc::get_start_method(), "fork");  // the first use chooses the default
  EXPECT_EQ(message_of<mpc::RuntimeError>([] { mpc::set_start_method("spawn"); }), "context has already been set");
  mpc::set_start_method("spawn", true);
  EXPECT_EQ(mpc::get_context().get_start_method(), "spawn");
  EXPECT_EQ(message_of<mpc::ValueError>([] { mpc::set_start_method("nonsense", true); }),
            "cannot find context for 'nonsense'");
  EXPECT_EQ(mpc::get_start_method(), "spawn");
  mpc::set_start_method("forkserver", true);
  EXPECT_EQ(mpc::get_start_method(), "forkserver");
  mpc::set_start_method("fork", true);
}

TEST(Spawn, ARegisteredTargetRunsInAChildGivenItsValuesAndASpawnQueue) {
  mpc::Queue q(kSpawn);
  Process p(Target{"test.put_second", SpawnArgs().add(q).add(Value::list({str("item"), Value::integer(2)}))},
            kSpawnOptions);
  EXPECT_EQ(p.start_method(), StartMethod::spawn);
  EXPECT_EQ(started_and_joined(p), 0);
  EXPECT_TRUE(mpc::equal(q.get(true, 5.0), Value::list({str("item"), Value::integer(2)})));
}

TEST(Spawn, TheChildIsAFreshProgramThatDoesNotSeeTheParentsMemory) {
  mpc::Queue q(kSpawn);
  parent_global = 5;
  Process spawned(Target{"test.put_global", SpawnArgs().add(q)}, kSpawnOptions);
  Process forked(Target{"test.put_global", SpawnArgs().add(q)}, {.start_method = StartMethod::fork});
  EXPECT_EQ(started_and_joined(spawned), 0);
  EXPECT_EQ(q.get(true, 5.0).to_int64(), 0);
  EXPECT_EQ(started_and_joined(forked), 0);
  EXPECT_EQ(q.get(true, 5.0).to_int64(), 5);
  parent_global = 0;
}

TEST(Spawn, TheChildHasItsNameDaemonFlagAuthkeyAndTheModulesStartMethod) {
  mpc::Queue q(kSpawn);
  mpc::set_start_method("spawn", true);
  Process p(Target{"test.put_identity", SpawnArgs().add(q)}, {.name = "worker-a", .daemon = true});
  mpc::set_start_method("fork", true);
  EXPECT_EQ(p.start_method(), StartMethod::spawn);  // the module's method when it was made
  mpc::set_start_method("spawn", true);
  EXPECT_EQ(started_and_joined(p), 0);
  mpc::set_start_method("fork", true);
  Value got = q.get(true, 5.0);
  EXPECT_EQ(got.at(0).data(), "worker-a");
  EXPECT_TRUE(got.at(1).as_bool());
  EXPECT_EQ(got.at(2).data(), mpc::current_process_authkey());
  EXPECT_EQ(got.at(3).data(), "spawn");
}

TEST(Spawn, TheTargetsOutcomeIsTheExitCode) {
  Process p(Target{"test.exit_code", SpawnArgs().add(Value::integer(9))}, kSpawnOptions);
  EXPECT_EQ(started_and_joined(p), 9);
  Process q(Target{"test.throw"}, kSpawnOptions);
  EXPECT_EQ(started_and_joined(q), 1);
}

TEST(Spawn, AnUnregisteredNameStartsNothing) {
  Process p(Target{"test.nobody"}, kSpawnOptions);
  EXPECT_EQ(message_of<mpc::ValueError>([&] { p.start(); }),
            "no target named 'test.nobody' is registered (mpc::register_target)");
  EXPECT_EQ(p.pid(), std::nullopt);
}

TEST(Spawn, ForkContextObjectsAreRefusedAtStartAndNothingStarts) {
  const std::string cpython =
      "A SemLock created in a fork context is being shared with a process in a spawn context. This is not supported. "
      "Please use the same context to create multiprocessing objects and Process.";
  mpc::Lock lock;
  Process p(Target{"test.lock_held", SpawnArgs().add(lock).add(lock)}, kSpawnOptions);
  EXPECT_EQ(message_of<mpc::RuntimeError>([&] { p.start(); }), cpython);
  EXPECT_EQ(p.pid(), std::nullopt);
  EXPECT_TRUE(mpc::active_children().empty());
  mpc::Queue q;
  Process r(Target{"test.put_second", SpawnArgs().add(q).add(Value::integer(1))}, kSpawnOptions);
  EXPECT_EQ(message_of<mpc::RuntimeError>([&] { r.start(); }), cpython);
  EXPECT_EQ(r.pid(), std::nullopt);
}

TEST(Spawn, ASpawnContextLockIsTheSameLockInTheChild) {
  mpc::Lock lock(kSpawn);
  ASSERT_TRUE(lock.acquire());
  Process p(Target{"test.lock_held", SpawnArgs().add(lock).add(lock)}, kSpawnOptions);
  EXPECT_EQ(started_and_joined(p), 7);
  lock.release();
}

TEST(Spawn, TheSemLockFamilyAndTheOtherQueuesReachTheChild) {
  mpc::RLock rlock(kSpawn);
  mpc::Semaphore semaphore(0, kSpawn);
  mpc::BoundedSemaphore bounded(1, kSpawn);
  mpc::JoinableQueue jq(kSpawn);
  mpc::SimpleQueue sq(kSpawn);
  ASSERT_TRUE(rlock.acquire());
  ASSERT_TRUE(bounded.acquire());
  jq.put(Value::integer(1));
  Process p(Target{"test.sync_family", SpawnArgs().add(rlock).add(semaphore).add(bounded).add(jq).add(sq)},
            kSpawnOptions);
  EXPECT_EQ(started_and_joined(p), 0);
  EXPECT_EQ(semaphore.get_value(), 1);
  EXPECT_EQ(bounded.get_value(), 1);
  EXPECT_TRUE(jq.try_join(0.0));
  EXPECT_EQ(sq.get().data(), "simple");
  rlock.release();
}

TEST(Spawn, ASpawnContextQueueServesForkedAndSpawnedChildren) {
  mpc::Queue q(kSpawn);
  Process forked(Target{"test.put_second", SpawnArgs().add(q).add(Value::integer(1))},
                 {.start_method = StartMethod::fork});
  Process spawned(Target{"test.put_second", SpawnArgs().add(q).add(Value::integer(2))}, kSpawnOptions);
  EXPECT_EQ(started_and_joined(forked), 0);
  EXPECT_EQ(started_and_joined(spawned), 0);
  std::int64_t sum = *q.get(true, 5.0).to_int64() + *q.get(true, 5.0).to_int64();
  EXPECT_EQ(sum, 3);
}

TEST(Spawn, NoDescriptorOutlivesASpawnedChildAndItsObjects) {
  const int before = open_descriptors();
  {
    mpc::Queue q(kSpawn);
    mpc::Lock lock(kSpawn);
    Process p(Target{"test.put_second", SpawnArgs().add(q).add(Value::integer(1)).add(lock)}, kSpawnOptions);
    EXPECT_EQ(started_and_joined(p), 0);
    EXPECT_EQ(q.get(true, 5.0).to_int64(), 1);
    p.close();
  }
  EXPECT_EQ(open_descriptors(), before);
}

// ---- forkserver: the same targets, forked by a server that is a spawn of this binary ------------

namespace {
const Context kForkserver(StartMethod::forkserver);
const mpc::ProcessOptions kForkserverOptions{.start_method = StartMethod::forkserver};
}  // namespace

TEST(Forkserver, ARegisteredTargetRunsInAChildOfTheServerGivenItsValuesAndAQueue) {
  mpc::Queue q(kForkserver);
  parent_global = 5;
  Process p(Target{"test.put_global", SpawnArgs().add(q)}, kForkserverOptions);
  Process r(Target{"test.put_second", SpawnArgs().add(q).add(str("second"))}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(p), 0);
  EXPECT_EQ(q.get(true, 5.0).to_int64(), 0);  // the server is a fresh program
  EXPECT_EQ(started_and_joined(r), 0);
  EXPECT_EQ(q.get(true, 5.0).data(), "second");
  parent_global = 0;
  Process child(Target{"test.parent_is_not_us", SpawnArgs().add(Value::integer(::getpid()))}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(child), 0);
}

TEST(Forkserver, TheExitCodeComesFromTheServer) {
  Process p(Target{"test.exit_code", SpawnArgs().add(Value::integer(9))}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(p), 9);
  Process q(Target{"test.throw"}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(q), 1);
  Process r(Target{"test.sleep"}, kForkserverOptions);
  r.start();
  EXPECT_TRUE(r.is_alive());
  EXPECT_FALSE(r.try_join(0.1));
  r.terminate();
  r.join();
  EXPECT_EQ(r.exitcode(), -15);
  EXPECT_FALSE(r.is_alive());
  pollfd ready{r.sentinel(), POLLIN, 0};
  EXPECT_EQ(::poll(&ready, 1, 0), 1);
}

TEST(Forkserver, ForkContextObjectsAreRefusedAndSharedOnesWork) {
  mpc::Lock fork_lock;
  Process refused(Target{"test.lock_held", SpawnArgs().add(fork_lock).add(fork_lock)}, kForkserverOptions);
  EXPECT_TRUE(
      message_of<mpc::RuntimeError>([&] { refused.start(); }).starts_with("A SemLock created in a fork context"));
  EXPECT_EQ(refused.pid(), std::nullopt);
  mpc::Lock lock(kForkserver);
  ASSERT_TRUE(lock.acquire());
  Process p(Target{"test.lock_held", SpawnArgs().add(lock).add(lock)}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(p), 7);
  lock.release();
}

TEST(Forkserver, NoDescriptorOutlivesAChildAndItsObjects) {
  Process warm(Target{"test.exit_code", SpawnArgs().add(Value::integer(0))}, kForkserverOptions);
  EXPECT_EQ(started_and_joined(warm), 0);  // the server's socket is this process's from now on
  const int before = open_descriptors();
  {
    mpc::Queue q(kForkserver);
    Process p(Target{"test.put_second", SpawnArgs().add(q).add(Value::integer(1))}, kForkserverOptions);
    EXPECT_EQ(started_and_joined(p), 0);
    EXPECT_EQ(q.get(true, 5.0).to_int64(), 1);
    p.close();
  }
  EXPECT_EQ(open_descriptors(), before);
}
