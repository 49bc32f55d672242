// mpc::Process: fork()ed functions and posix_spawn()ed programs, CPython's life cycle.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using mpc::Process;
using mpc::Value;

namespace {

using mpc_test::Clock;
using mpc_test::message_of;
using mpc_test::seconds_since;

int exit_code_of(Process& p) {
  p.start();
  p.join();
  return p.exitcode().value_or(-1000);
}

// Becoming a child subreaper lets a test reap (and inspect) grandchildren orphaned by the
// death of their parent, instead of leaving them to init.
void become_subreaper() { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }

// Waits up to `timeout` for process `pid` (a child or an orphan we reap) and returns its raw
// wait status, or -1.
int wait_status(pid_t pid, double timeout) {
  auto t0 = Clock::now();
  while (seconds_since(t0) < timeout) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0) return -1;
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

}  // namespace

TEST(Process, AFunctionThatReturnsExitsWithZero) {
  Process p([] {});
  EXPECT_EQ(exit_code_of(p), 0);
}

TEST(Process, AnIntReturnedByTheFunctionIsTheExitCode) {
  Process p([] { return 8; });
  EXPECT_EQ(exit_code_of(p), 8);
}

TEST(Process, SystemExitCarriesTheExitCode) {
  Process p([] { throw mpc::SystemExit{3}; });
  EXPECT_EQ(exit_code_of(p), 3);
  Process q([] { throw mpc::SystemExit{}; });
  EXPECT_EQ(exit_code_of(q), 0);
}

TEST(Process, AnUncaughtExceptionInTheChildIsExitCodeOne) {
  Process p([] { throw std::runtime_error("boom in the child"); });
  EXPECT_EQ(exit_code_of(p), 1);
  Process q([] { throw mpc::ValueError("python-shaped"); });
  EXPECT_EQ(exit_code_of(q), 1);
  Process r([] { throw 42; });
  EXPECT_EQ(exit_code_of(r), 1);
}

TEST(Process, ExitAndUnderscoreExitInTheChildSetTheExitCode) {
  Process p([] { std::exit(7); });
  EXPECT_EQ(exit_code_of(p), 7);
  Process q([] { ::_exit(9); });
  EXPECT_EQ(exit_code_of(q), 9);
}

TEST(Process, BeforeStartItIsNotAliveAndHasNoPidOrExitcode) {
  Process p([] {});
  EXPECT_FALSE(p.is_alive());
  EXPECT_FALSE(p.pid().has_value());
  EXPECT_FALSE(p.exitcode().has_value());
  EXPECT_EQ(message_of<mpc::ValueError>([&] { (void)p.sentinel(); }), "process not started");
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { p.join(); }), "can only join a started process");
}

TEST(Process, WhileRunningItIsAliveAndJoinWithATimeoutReturnsEarly) {
  Process p([] { std::this_thread::sleep_for(10s); });
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_TRUE(p.pid().has_value());
  EXPECT_FALSE(p.exitcode().has_value());
  auto t0 = Clock::now();
  p.join(0);
  p.join(-1);
  EXPECT_LT(seconds_since(t0), 0.1);
  t0 = Clock::now();
  p.join(0.2);
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.2);
  EXPECT_LT(dt, 2.0);
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.try_join(0.0));
  p.terminate();
  p.join();
}

TEST(Process, TerminateGivesMinusSigterm) {
  Process p([] { std::this_thread::sleep_for(10s); });
  p.start();
  p.terminate();
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(Process, KillGivesMinusSigkill) {
  Process p([] { std::this_thread::sleep_for(10s); });
  p.start();
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  p.terminate();  // after the child was reaped: nothing happens
}

TEST(Process, StartingTwiceIsAnAssertionError) {
  Process p([] {});
  p.start();
  EXPECT_EQ(message_of<mpc::AssertionError>([&] { p.start(); }), "cannot start a process twice");
  p.join();
}

TEST(Process, CloseWhileRunningIsAValueErrorAndAfterCloseEverythingIs) {
  Process p([] { std::this_thread::sleep_for(300ms); });
  p.start();
  EXPECT_THROW(p.close(), mpc::ValueError);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  p.close();
  p.close();  // twice is fine
  EXPECT_EQ(message_of<mpc::ValueError>([&] { (void)p.is_alive(); }), "process object is closed");
  EXPECT_THROW(p.join(), mpc::ValueError);
  EXPECT_THROW(p.terminate(), mpc::ValueError);
  EXPECT_THROW((void)p.sentinel(), mpc::ValueError);
  EXPECT_EQ(message_of<mpc::ValueError>([&] { (void)p.exitcode(); }), "process object is closed");
}

TEST(Process, TheSentinelBecomesReadableWhenTheChildEnds) {
  Process p([] { std::this_thread::sleep_for(200ms); });
  p.start();
  pollfd fd{p.sentinel(), POLLIN, 0};
  EXPECT_EQ(::poll(&fd, 1, 0), 0);
  EXPECT_EQ(::poll(&fd, 1, 5000), 1);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, ChildrenGetCPythonStyleNamesAndKnowTheirOwn) {
  Process p([] {});
  EXPECT_EQ(p.name().rfind("Process-", 0), 0u) << p.name();
  EXPECT_EQ(mpc::current_process_name(), "MainProcess");
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  Process named(
      [&] {
        w.send(Value::str(mpc::current_process_name()));
        w.send(Value::boolean(mpc::current_process_daemon()));
      },
      {.name = "worker", .daemon = true});
  named.start();
  EXPECT_EQ(r.recv().data(), "worker");
  EXPECT_TRUE(r.recv().as_bool());
  named.join();
}

TEST(Process, DaemonFlagDefaultsToFalseAndCannotChangeAfterStart) {
  Process p([] {});
  EXPECT_FALSE(p.daemon());
  p.set_daemon(true);
  EXPECT_TRUE(p.daemon());
  p.start();
  EXPECT_THROW(p.set_daemon(false), mpc::AssertionError);
  p.join();
}

TEST(Process, ADaemonCannotHaveChildren) {
  Process p(
      [] {
        Process grandchild([] {});
        try {
          grandchild.start();
        } catch (const mpc::AssertionError&) {
          return 5;
        }
        return 0;
      },
      {.daemon = true});
  EXPECT_EQ(exit_code_of(p), 5);
}

TEST(Process, ManyShortProcessesAllExitCleanly) {
  std::vector<Process> ps;
  for (int i = 0; i < 50; ++i) {
    ps.emplace_back([] {});
    ps.back().start();
  }
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

TEST(Process, ManyFreshlyStartedProcessesCanBeTerminated) {
  std::vector<Process> ps;
  for (int i = 0; i < 20; ++i) {
    ps.emplace_back([] { std::this_thread::sleep_for(10s); });
    ps.back().start();
  }
  for (auto& p : ps) p.terminate();
  for (auto& p : ps) {
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGTERM);
  }
}

TEST(Process, ActiveChildrenListsRunningChildrenOnly) {
  Process p([] { std::this_thread::sleep_for(300ms); });
  auto contains = [](const std::vector<pid_t>& v, pid_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  p.start();
  EXPECT_TRUE(contains(mpc::active_children(), *p.pid()));
  p.join();
  EXPECT_FALSE(contains(mpc::active_children(), *p.pid()));
}

TEST(Process, JoinIsNotDisturbedByASignal) {
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  const pid_t parent = ::getpid();
  Process p([parent] {
    std::this_thread::sleep_for(100ms);
    ::kill(parent, SIGUSR1);
    std::this_thread::sleep_for(100ms);
  });
  p.start();
  p.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, DestroyingARunningDaemonTerminatesIt) {
  pid_t pid;
  {
    Process p([] { std::this_thread::sleep_for(30s); }, {.daemon = true});
    p.start();
    pid = *p.pid();
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped by the destructor
}

TEST(Process, DestroyingARunningNonDaemonJoinsIt) {
  auto t0 = Clock::now();
  {
    Process p([] { std::this_thread::sleep_for(300ms); });
    p.start();
  }
  EXPECT_GE(seconds_since(t0), 0.25);
}

TEST(Process, DaemonChildrenAreTerminatedWhenTheirParentExits) {
  become_subreaper();
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  Process parent([&] {
    // Deliberately leaked: only the exit-time cleanup can end it.
    auto* daemon = new Process([] { std::this_thread::sleep_for(30s); }, {.daemon = true});
    daemon->start();
    w.send(Value::integer(*daemon->pid()));
  });
  parent.start();
  const auto daemon_pid = static_cast<pid_t>(r.recv().to_int64().value());
  parent.join(10.0);
  EXPECT_EQ(parent.exitcode(), 0);
  int st = wait_status(daemon_pid, 5.0);
  // Already reaped by its parent's cleanup (-1), or an orphan killed by SIGTERM.
  if (st != -1) {
    EXPECT_TRUE(WIFSIGNALED(st));
    EXPECT_EQ(WTERMSIG(st), SIGTERM);
  }
  EXPECT_EQ(::kill(daemon_pid, 0), -1);
}

TEST(Process, DaemonChildrenGetSigtermWhenTheirParentIsKilled) {
  // No destructor or atexit handler runs in a SIGKILLed parent: PR_SET_PDEATHSIG does it.
  become_subreaper();
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  Process parent([&] {
    Process daemon([] { std::this_thread::sleep_for(30s); }, {.daemon = true});
    daemon.start();
    w.send(Value::integer(*daemon.pid()));
    std::this_thread::sleep_for(30s);
  });
  parent.start();
  const auto daemon_pid = static_cast<pid_t>(r.recv().to_int64().value());
  parent.kill();
  parent.join();
  int st = wait_status(daemon_pid, 5.0);  // the orphan is ours now (subreaper)
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGTERM);
}

TEST(Process, AChildWaitsForItsNonDaemonChildrenBeforeExiting) {
  Process parent([] {
    auto* child = new Process([] { std::this_thread::sleep_for(300ms); });  // leaked on purpose
    child->start();
  });
  auto t0 = Clock::now();
  parent.start();
  parent.join();
  EXPECT_GE(seconds_since(t0), 0.25);
  EXPECT_EQ(parent.exitcode(), 0);
}

TEST(Process, ACommandRunsAFreshProgramAndReportsItsExitCode) {
  Process p(mpc::Command{{"/bin/sh", "-c", "exit 3"}});
  EXPECT_EQ(exit_code_of(p), 3);
  Process searched(mpc::Command{{"sh", "-c", "kill -TERM $$"}});
  EXPECT_EQ(exit_code_of(searched), -SIGTERM);
}

TEST(Process, ACommandInheritsExactlyThePassedDescriptors) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  mpc::Connection r2, w2;  // not a structured binding: clang 14 cannot capture one
  std::tie(r2, w2) = mpc::Pipe(false);
  const std::string script = "printf '\\000\\000\\000\\002hi' >&" + std::to_string(w.fileno()) + " && { printf x >&" +
                             std::to_string(w2.fileno()) + " ; } 2>/dev/null; exit 0";
  Process p(mpc::Command{{"/bin/sh", "-c", script}, {w.fileno()}});
  p.start();
  w.close();
  w2.close();
  EXPECT_EQ(r.recv_bytes(), "hi");
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_THROW((void)r2.recv_bytes(), mpc::EOFError);  // w2 was not inherited: EOF, no data
}

TEST(Process, ACommandThatCannotBeFoundIsAnOSError) {
  Process p(mpc::Command{{"/nonexistent/program"}});
  EXPECT_THROW(p.start(), mpc::OSError);
}

TEST(Process, OnlyTheCreatorCanJoinAChild) {
  Process p([] { std::this_thread::sleep_for(200ms); });
  p.start();
  Process other([&] {
    try {
      p.join();
    } catch (const mpc::AssertionError& e) {
      return std::string(e.what()) == "can only join a child process" ? 4 : 2;
    }
    return 0;
  });
  EXPECT_EQ(exit_code_of(other), 4);
  p.join();
}
