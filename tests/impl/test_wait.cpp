// mpc::wait (multiprocessing.connection.wait), send_handle/recv_handle, and the small Process
// additions the case language v2 needed (set_name, cpu_count).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/reduction.hpp"
#include "mpc/value.hpp"
#include "mpc/wait.hpp"
#include "support.hpp"

using mpc::Value;
using mpc_test::Clock;
using mpc_test::seconds_since;

namespace {

TEST(Wait, ReturnsNothingOnceTheTimeoutHasPassed) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  mpc::Connection c, d;  // not a structured binding: clang 14 cannot capture one
  std::tie(c, d) = mpc::Pipe();
  std::vector<int> fds = {a.fileno(), c.fileno()};
  auto start = Clock::now();
  EXPECT_TRUE(mpc::wait(fds, 0.2).empty());
  EXPECT_GE(seconds_since(start), 0.19);
}

TEST(Wait, ReturnsExactlyTheReadyDescriptorsInTheOrderGiven) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  mpc::Connection c, d;  // not a structured binding: clang 14 cannot capture one
  std::tie(c, d) = mpc::Pipe();
  d.send(Value::integer(1));
  b.send(Value::integer(2));
  std::vector<int> fds = {c.fileno(), a.fileno()};
  EXPECT_EQ(mpc::wait(fds, 1.0), fds);
  (void)a.recv();
  EXPECT_EQ(mpc::wait(fds, 0.0), std::vector<int>{c.fileno()});
}

TEST(Wait, WakesWhenAnotherThreadSendsAndWhenAPeerCloses) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  std::vector<int> fds = {a.fileno()};
  std::thread sender([&b] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    b.close();  // end of stream makes the reader ready too, as in CPython
  });
  auto start = Clock::now();
  EXPECT_EQ(mpc::wait(fds, std::nullopt), fds);
  EXPECT_GE(seconds_since(start), 0.09);
  sender.join();
}

TEST(Wait, SentinelIsReadyOnceTheChildHasEnded) {
  mpc::Process child([] { return 3; });
  child.start();
  std::vector<int> fds = {child.sentinel()};
  EXPECT_EQ(mpc::wait(fds, 10.0), fds);
  child.join();
  EXPECT_EQ(child.exitcode(), 3);
}

TEST(Wait, RefusesBadDescriptors) {
  std::vector<int> negative = {-1};
  EXPECT_THROW((void)mpc::wait(negative, 0.0), mpc::ValueError);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  std::vector<int> closed = {fds[0]};
  EXPECT_THROW((void)mpc::wait(closed, 0.0), mpc::OSError);
}

TEST(Reduction, SendHandlePassesADescriptorThatReachesTheSameFile) {
  mpc::Connection a, b;          // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();  // duplex: a socketpair
  mpc::Connection r, w;          // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  mpc::send_handle(a, w.fileno(), ::getpid());
  int received = mpc::recv_handle(b);
  ASSERT_GE(received, 0);
  EXPECT_NE(received, w.fileno());
  mpc::Connection copy(received, false, true);
  copy.send(Value::str("through the copy"));
  EXPECT_TRUE(mpc::equal(r.recv(), Value::str("through the copy")));
}

TEST(Reduction, RecvHandleAtEndOfStreamIsEOFErrorAndOnAPipeIsOSError) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  a.close();
  EXPECT_THROW((void)mpc::recv_handle(b), mpc::EOFError);
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  EXPECT_THROW(mpc::send_handle(w, r.fileno(), ::getpid()), mpc::OSError);
}

TEST(ProcessAttributes, SetNameRenamesTheObject) {
  mpc::Process p([] {}, mpc::ProcessOptions{.name = "first", .daemon = {}});
  p.set_name("second");
  EXPECT_EQ(p.name(), "second");
}

TEST(ProcessAttributes, CpuCountIsTheNumberOfOnlineCpus) {
  auto n = mpc::cpu_count();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
}

}  // namespace
