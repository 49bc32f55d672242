// mpc::Connection and mpc::Pipe: CPython's multiprocessing.connection behaviour, over real
// pipes and socketpairs, with fork()ed peers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using mpc::Connection;
using mpc::Value;

namespace {

using mpc_test::message_of;
using mpc_test::seconds_since;

std::string raw_read(int fd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

void raw_write(int fd, std::string_view s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

// Runs `echo` in a fork()ed child that receives messages on `child_end` and sends them back.
mpc::Process start_echo_child(Connection& child_end, Connection& parent_end) {
  mpc::Process p([&] {
    parent_end.close();
    for (;;) {
      std::string m;
      try {
        m = child_end.recv_bytes();
      } catch (const mpc::EOFError&) {
        return 0;
      }
      child_end.send_bytes(m);
    }
  });
  p.start();
  child_end.close();
  return p;
}

}  // namespace

TEST(Connection, DuplexPipeCarriesPickledValuesToAChildAndBack) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  mpc::Process p([&] {
    a.close();
    b.send(b.recv());
    return 0;
  });
  p.start();
  b.close();
  Value sent = Value::list({Value::integer(1), Value::floating(2.25), Value::none()});
  a.send(sent);
  Value got = a.recv();
  EXPECT_TRUE(mpc::equal(sent, got));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Connection, SendBytesAndRecvBytesRoundTripThroughAChild) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  auto p = start_echo_child(b, a);
  a.send_bytes("hello world");
  EXPECT_EQ(a.recv_bytes(), "hello world");
  a.send_bytes("");
  EXPECT_EQ(a.recv_bytes(), "");
  a.close();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Connection, SixteenMebibytesRoundTripIntact) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  auto p = start_echo_child(b, a);
  std::string big(16u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  // The echo child writes back while we are still writing: read in a thread.
  std::string back;
  std::thread reader([&, &a = a] { back = a.recv_bytes(); });
  a.send_bytes(big);
  reader.join();
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back == big);
  a.close();
  p.join();
}

TEST(Connection, WireFormatIsAFourByteBigEndianLengthThenThePayload) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  w.send_bytes("hello");
  EXPECT_EQ(raw_read(r.fileno(), 9), std::string("\0\0\0\x05hello", 9));
  std::string payload(70000, 'x');
  w.send_bytes(payload.substr(0, 300));
  EXPECT_EQ(raw_read(r.fileno(), 4), std::string("\0\0\x01\x2c", 4));
}

TEST(Connection, SendWritesProtocolFourPickles) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  w.send(Value::integer(1));
  std::string frame = raw_read(r.fileno(), 4 + 5);
  EXPECT_EQ(frame, std::string("\0\0\0\x05\x80\x04K\x01.", 9));
}

TEST(Connection, RecvBytesAcceptsTheLongHeaderForm) {
  // -1 then an 8-byte length: what CPython writes for payloads over 0x7fffffff bytes.
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  raw_write(w.fileno(), std::string("\xff\xff\xff\xff\0\0\0\0\0\0\0\x05hello", 17));
  EXPECT_EQ(r.recv_bytes(), "hello");
}

TEST(Connection, SendBytesHonoursOffsetAndSizeLikeCPython) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  const std::string msg = "abcdefghijklmnopqrstuvwxyz";
  w.send_bytes(msg);
  w.send_bytes(msg, 5);
  w.send_bytes(msg, 7, 8);
  w.send_bytes(msg, 26);
  w.send_bytes(msg, 26, 0);
  EXPECT_EQ(r.recv_bytes(), msg);
  EXPECT_EQ(r.recv_bytes(), msg.substr(5));
  EXPECT_EQ(r.recv_bytes(), msg.substr(7, 8));
  EXPECT_EQ(r.recv_bytes(), "");
  EXPECT_EQ(r.recv_bytes(), "");
}

TEST(Connection, SendBytesRejectsBadOffsetsAndSizesWithValueError) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  const std::string msg(26, 'm');
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.send_bytes(msg, 27); }), "buffer length < offset");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.send_bytes(msg, 22, 5); }), "buffer length < offset + size");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.send_bytes(msg, 26, 1); }), "buffer length < offset + size");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.send_bytes(msg, -1); }), "offset is negative");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.send_bytes(msg, 4, -1); }), "size is negative");
  EXPECT_FALSE(r.poll());  // nothing was written
}

TEST(Connection, RecvBytesIntoWritesAtAByteOffsetAndReturnsTheSize) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  std::int32_t items[4] = {0, 1, 2, 3};
  w.send_bytes(std::as_bytes(std::span(items)));
  w.send_bytes(std::as_bytes(std::span(items)));
  std::int32_t buf[10] = {};
  EXPECT_EQ(r.recv_bytes_into(std::as_writable_bytes(std::span(buf))), 16u);
  EXPECT_EQ(buf[3], 3);
  EXPECT_EQ(buf[4], 0);
  std::int32_t buf2[10] = {};
  EXPECT_EQ(r.recv_bytes_into(std::as_writable_bytes(std::span(buf2)), 3 * 4), 16u);
  EXPECT_EQ(buf2[2], 0);
  EXPECT_EQ(buf2[3], 0);
  EXPECT_EQ(buf2[4], 1);
  EXPECT_EQ(buf2[6], 3);
}

TEST(Connection, RecvBytesIntoATooShortBufferRaisesBufferTooShortWithTheWholeMessage) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  std::string msg(110, '\0');
  for (int i = 0; i < 110; ++i) msg[i] = static_cast<char>(i);
  w.send_bytes(msg);
  w.send_bytes("next");
  char small[40];
  try {
    r.recv_bytes_into(std::span<char>(small));
    FAIL() << "no BufferTooShort";
  } catch (const mpc::BufferTooShort& e) {
    EXPECT_EQ(e.message(), msg);
    EXPECT_EQ(e.python_type(), "multiprocessing.BufferTooShort");
  }
  EXPECT_EQ(r.recv_bytes(), "next");  // the long message was consumed, the stream is intact
}

TEST(Connection, RecvBytesIntoChecksTheOffsetBeforeReading) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  w.send_bytes("x");
  char buf[4];
  EXPECT_EQ(message_of<mpc::ValueError>([&] { r.recv_bytes_into(std::span<char>(buf), -1); }), "negative offset");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { r.recv_bytes_into(std::span<char>(buf), 5); }), "offset too large");
  EXPECT_EQ(r.recv_bytes(), "x");
}

TEST(Connection, PollWithNothingPendingReturnsFalseAtOnceAndNegativeMeansZero) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(a.poll());
  EXPECT_FALSE(a.poll(-1));
  EXPECT_LT(seconds_since(t0), 0.1);
}

TEST(Connection, PollWaitsForTheTimeoutWhenNothingArrives) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(a.poll(0.2));
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.2);
  EXPECT_LT(dt, 2.0);
}

TEST(Connection, PollSeesAnEmptyMessageAndDoesNotConsumeIt) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  EXPECT_FALSE(a.poll());
  b.send_bytes("");
  EXPECT_TRUE(a.poll());
  EXPECT_TRUE(a.poll());
  EXPECT_EQ(a.recv_bytes(), "");
  EXPECT_FALSE(a.poll());
}

TEST(Connection, PollReturnsAsSoonAsAChildSends) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  mpc::Process p([&] {
    std::this_thread::sleep_for(100ms);
    b.send(Value::none());
  });
  p.start();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(a.poll(10.0));
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_TRUE(a.recv().is(mpc::Kind::None));
  p.join();
}

TEST(Connection, MessageBoundariesArePreserved) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  b.send_bytes("a");
  b.send_bytes("b");
  b.send_bytes("cd");
  EXPECT_EQ(a.recv_bytes(), "a");
  EXPECT_TRUE(a.poll(1.0));
  EXPECT_EQ(a.recv_bytes(), "b");
  EXPECT_TRUE(a.poll(0.0));
  EXPECT_EQ(a.recv_bytes(), "cd");
  EXPECT_FALSE(a.poll(0.0));
}

TEST(Connection, SimplexPipeIsReaderThenWriter) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  EXPECT_TRUE(r.readable());
  EXPECT_FALSE(r.writable());
  EXPECT_FALSE(w.readable());
  EXPECT_TRUE(w.writable());
  w.send(Value::integer(1));
  EXPECT_EQ(r.recv().to_int64(), 1);
}

TEST(Connection, WrongDirectionRaisesReadOnlyOrWriteOnly) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  EXPECT_EQ(message_of<mpc::OSError>([&] { r.send(Value::integer(2)); }), "connection is read-only");
  EXPECT_EQ(message_of<mpc::OSError>([&] { r.send_bytes("x"); }), "connection is read-only");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)w.recv(); }), "connection is write-only");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)w.poll(); }), "connection is write-only");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)w.recv_bytes(); }), "connection is write-only");
}

TEST(Connection, ClosedConnectionRaisesHandleIsClosed) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  EXPECT_FALSE(a.closed());
  a.close();
  a.close();  // twice is fine
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)a.recv(); }), "handle is closed");
  EXPECT_EQ(message_of<mpc::OSError>([&] { a.send_bytes("x"); }), "handle is closed");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)a.poll(); }), "handle is closed");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)a.fileno(); }), "handle is closed");
}

TEST(Connection, PeerGoneMeansEOFErrorButStillReadableAndWritable) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  mpc::Process p([&] { b.send_bytes("last"); });
  p.start();
  b.close();
  p.join();
  EXPECT_TRUE(a.readable());
  EXPECT_TRUE(a.writable());
  EXPECT_EQ(a.recv_bytes(), "last");
  EXPECT_THROW((void)a.recv(), mpc::EOFError);
  EXPECT_THROW((void)a.recv_bytes(), mpc::EOFError);
  EXPECT_TRUE(a.poll());  // EOF counts as readable, as with CPython's wait()
}

TEST(Connection, EndOfFileInsideAMessageIsAnOSError) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  raw_write(w.fileno(), std::string("\0\0\0\x0a"
                                    "abc",
                                    7));
  w.close();
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)r.recv_bytes(); }), "got end of file during message");
}

TEST(Connection, WritingToAPipeWithNoReaderIsBrokenPipeErrorNotSIGPIPE) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  r.close();
  EXPECT_THROW(w.send_bytes("x"), mpc::BrokenPipeError);
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  b.close();
  EXPECT_THROW(a.send_bytes("x"), mpc::BrokenPipeError);
}

TEST(Connection, MaxlengthExceededMakesADuplexConnectionWriteOnly) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  b.send_bytes("0123456789");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)a.recv_bytes(5); }), "bad message length");
  EXPECT_FALSE(a.readable());
  EXPECT_TRUE(a.writable());
  EXPECT_FALSE(a.closed());
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)a.recv_bytes(); }), "connection is write-only");
}

TEST(Connection, MaxlengthExceededClosesASimplexReader) {
  mpc::Connection r, w;  // not a structured binding: clang 14 cannot capture one
  std::tie(r, w) = mpc::Pipe(false);
  w.send_bytes("0123456789");
  EXPECT_EQ(message_of<mpc::OSError>([&] { (void)r.recv_bytes(9); }), "bad message length");
  EXPECT_TRUE(r.closed());
  mpc::Connection r2, w2;  // not a structured binding: clang 14 cannot capture one
  std::tie(r2, w2) = mpc::Pipe(false);
  w2.send_bytes("0123456789");
  EXPECT_EQ(r2.recv_bytes(10), "0123456789");  // exactly maxlength is fine
  EXPECT_EQ(message_of<mpc::ValueError>([&] { (void)r2.recv_bytes(-1); }), "negative maxlength");
}

TEST(Connection, InvalidDescriptorsAreRejected) {
  EXPECT_EQ(message_of<mpc::ValueError>([] { Connection c(-1); }), "invalid handle");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_THROW(Connection(fds[0], false, false), mpc::ValueError);
  ::close(fds[1]);
  // A descriptor number that is not open: poll() raises OSError (EBADF), no crash.
  Connection bogus(44977608);
  EXPECT_THROW((void)bogus.poll(), mpc::OSError);
  (void)bogus.release().release();  // do not close a number we do not own
}

TEST(Connection, ConstructedFromADescriptorItTakesOwnership) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    Connection r(fds[0], true, false);
    Connection w(fds[1], false, true);
    w.send_bytes("via fd");
    EXPECT_EQ(r.recv_bytes(), "via fd");
    EXPECT_EQ(r.fileno(), fds[0]);
  }
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);  // closed by the destructor
}

TEST(Connection, TryRecvReturnsNulloptOnTimeout) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  EXPECT_FALSE(a.try_recv(0.05).has_value());
  EXPECT_FALSE(a.try_recv_bytes(0.0).has_value());
  b.send_bytes("now");
  EXPECT_EQ(a.try_recv_bytes(1.0).value_or(""), "now");
}

TEST(Connection, MovedFromConnectionIsClosed) {
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  Connection c = std::move(a);
  EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_FALSE(c.closed());
}

namespace {
volatile sig_atomic_t g_signals = 0;
void count_signal(int) { g_signals = g_signals + 1; }
}  // namespace

TEST(Connection, ASignalDuringABlockingRecvIsRetriedTransparently) {
  struct sigaction sa {};
  sa.sa_handler = count_signal;  // no SA_RESTART: read(2) fails with EINTR
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  g_signals = 0;
  mpc::Connection a, b;  // not a structured binding: clang 14 cannot capture one
  std::tie(a, b) = mpc::Pipe();
  const pid_t parent = ::getpid();
  mpc::Process p([&, parent] {
    std::this_thread::sleep_for(100ms);
    ::kill(parent, SIGUSR1);
    std::this_thread::sleep_for(100ms);
    b.send(Value::str("after the signal"));
  });
  p.start();
  Value v = a.recv();
  p.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(v.data(), "after the signal");
  EXPECT_GE(g_signals, 1);
}
