// mpc::Listener and mpc::Client: AF_UNIX connections with CPython's authentication handshake,
// between two mpc ends, against hostile peers, and against every CPython found (a Python
// Client connecting to an mpc Listener and an mpc Client to a Python Listener, with the right
// and with a wrong authkey).
#include "mpc/listener.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <tuple>

#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using mpc::Value;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string dirname(const std::string& path) { return path.substr(0, path.rfind('/')); }

// accept() once a client is there, or a test failure after `seconds`.
mpc::Connection accept_within(mpc::Listener& listener, double seconds) {
  pollfd p{listener.fileno(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(seconds * 1000)) != 1) throw std::runtime_error("no client connected in time");
  return listener.accept();
}

// A raw message as Connection.send_bytes writes it, for peers that misbehave.
void send_raw(int fd, const std::string& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

std::string header(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
          static_cast<char>(length)};
}

}  // namespace

TEST(Listener, AClientWithTheKeyIsAcceptedAndTheSocketFileGoesWithTheListener) {
  std::string address;
  {
    mpc::Listener listener(std::nullopt, std::string("secret"));
    address = listener.address();
    EXPECT_TRUE(exists(address));
    EXPECT_EQ(address.find("/listener-"), dirname(address).size());
    std::thread client([&] {
      mpc::Connection c = mpc::Client(address, std::string("secret"));
      c.send(Value::str("hello"));
      EXPECT_TRUE(mpc::equal(c.recv(), Value::str("back")));
    });
    mpc::Connection served = accept_within(listener, 10);
    EXPECT_TRUE(mpc::equal(served.recv(), Value::str("hello")));
    served.send(Value::str("back"));
    client.join();
  }
  EXPECT_FALSE(exists(address));
  EXPECT_FALSE(exists(dirname(address)));
}

TEST(Listener, AWrongKeyFailsOnBothSides) {
  mpc::Listener listener(std::nullopt, std::string("right"));
  std::string client_error;
  std::thread client([&] {
    client_error = mpc_test::message_of<mpc::AuthenticationError>(
        [&] { (void)mpc::Client(listener.address(), std::string("wrong")); });
  });
  std::string server_error = mpc_test::message_of<mpc::AuthenticationError>([&] { (void)accept_within(listener, 10); });
  client.join();
  EXPECT_EQ(server_error, "digest received was wrong");
  EXPECT_EQ(client_error, "digest sent was rejected");
}

TEST(Listener, WithoutAKeyThereIsNoHandshake) {
  mpc::Listener listener;
  std::thread client([&] { mpc::Client(listener.address()).send_bytes("raw"); });
  mpc::Connection served = accept_within(listener, 10);
  EXPECT_EQ(served.recv_bytes(), "raw");
  client.join();
}

TEST(Listener, AnExistingPathIsRefused) {
  mpc::Listener first;
  EXPECT_THROW(mpc::Listener(first.address()), mpc::OSError);
  EXPECT_TRUE(exists(first.address()));  // the failed one did not remove the first's file
}

TEST(Listener, AForkedCopyClosingLeavesTheSocketFile) {
  mpc::Listener listener(std::nullopt, std::string("k"));
  mpc::Process child([&] {
    listener.close();
    return 0;
  });
  child.start();
  child.join(30);
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_TRUE(exists(listener.address()));
}

TEST(Handshake, AnOversizedAnswerIsRefusedWithoutReadingIt) {
  mpc::Connection server, peer;  // not a structured binding: clang 14 cannot capture one
  std::tie(server, peer) = mpc::Pipe(true);
  send_raw(peer.fileno(), header(1u << 30));  // a 1 GiB answer, never sent
  auto t0 = mpc_test::Clock::now();
  EXPECT_EQ(mpc_test::message_of<mpc::OSError>([&] { mpc::deliver_challenge(server, "k", 5); }), "bad message length");
  EXPECT_LT(mpc_test::seconds_since(t0), 1.0);
}

TEST(Handshake, APeerThatSaysNothingFailsAtTheDeadline) {
  mpc::Connection server, peer;  // not a structured binding: clang 14 cannot capture one
  std::tie(server, peer) = mpc::Pipe(true);
  auto t0 = mpc_test::Clock::now();
  EXPECT_THROW(mpc::deliver_challenge(server, "k", 0.3), mpc::AuthenticationError);
  EXPECT_GE(mpc_test::seconds_since(t0), 0.3);
  EXPECT_LT(mpc_test::seconds_since(t0), 2.0);
}

TEST(Handshake, APeerThatTricklesAMessageFailsAtTheDeadline) {
  mpc::Connection client, peer;  // not a structured binding: clang 14 cannot capture one
  std::tie(client, peer) = mpc::Pipe(true);
  send_raw(peer.fileno(), header(200) + "#CHALLENGE#");  // and the rest never comes
  auto t0 = mpc_test::Clock::now();
  EXPECT_THROW(mpc::answer_challenge(client, "k", 0.3), mpc::AuthenticationError);
  EXPECT_LT(mpc_test::seconds_since(t0), 2.0);
}

TEST(Handshake, BadChallengesAreRefused) {
  {
    mpc::Connection client, peer;  // not a structured binding: clang 14 cannot capture one
    std::tie(client, peer) = mpc::Pipe(true);
    peer.send_bytes("#WELCOME#");
    EXPECT_EQ(mpc_test::message_of<mpc::AuthenticationError>([&] { mpc::answer_challenge(client, "k", 5); }),
              "Protocol error, expected challenge");
  }
  {
    mpc::Connection client, peer;  // not a structured binding: clang 14 cannot capture one
    std::tie(client, peer) = mpc::Pipe(true);
    peer.send_bytes("#CHALLENGE#short");
    EXPECT_EQ(mpc_test::message_of<mpc::AuthenticationError>([&] { mpc::answer_challenge(client, "k", 5); }),
              "challenge too short: 5 bytes");
  }
  {
    mpc::Connection client, peer;  // not a structured binding: clang 14 cannot capture one
    std::tie(client, peer) = mpc::Pipe(true);
    peer.send_bytes("#CHALLENGE#{whirlpool}" + std::string(40, 'x'));
    EXPECT_THROW(mpc::answer_challenge(client, "k", 5), mpc::AuthenticationError);
  }
  {
    mpc::Connection server, peer;  // not a structured binding: clang 14 cannot capture one
    std::tie(server, peer) = mpc::Pipe(true);
    std::thread answer([&peer = peer] {
      (void)peer.recv_bytes();
      peer.send_bytes("{sha256}" + std::string(31, 'x'));  // one byte short of a SHA-256
      (void)peer.recv_bytes();
    });
    EXPECT_EQ(mpc_test::message_of<mpc::AuthenticationError>([&] { mpc::deliver_challenge(server, "k", 5); }),
              "expected 'sha256' of length 32 got 31");
    answer.join();
  }
}

// ---- with CPython

namespace {

// argv: mode address authkey_hex [ready_fd]. Exit 0: talked; 5: AuthenticationError.
constexpr const char* kPythonPeer = R"PY(
import sys
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
mode, address, key = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
try:
    if mode == 'client':
        c = Client(address, authkey=key)
    else:
        listener = Listener(address, authkey=key)
        Connection(int(sys.argv[4])).send('ready')
        try:
            c = listener.accept()
        finally:
            listener.close()
except AuthenticationError:
    sys.exit(5)
c.send([c.recv(), sys.version_info[:2]])
)PY";

class WithPython : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(WithPython, APythonClientConnectsToAnMpcListener) {
  for (const bool right : {true, false}) {
    mpc::Listener listener(std::nullopt, std::string("the key"));
    mpc::Process py(mpc::Command{
        {GetParam(), "-c", kPythonPeer, "client", listener.address(), mpc_test::hex_of(right ? "the key" : "not it")}});
    py.start();
    if (right) {
      mpc::Connection c = accept_within(listener, 60);
      c.send(Value::str("ping"));
      Value answer = c.recv();
      ASSERT_TRUE(answer.is(mpc::Kind::List));
      EXPECT_TRUE(mpc::equal(answer.at(0), Value::str("ping")));
    } else {
      EXPECT_EQ(mpc_test::message_of<mpc::AuthenticationError>([&] { (void)accept_within(listener, 60); }),
                "digest received was wrong");
    }
    py.join(60);
    EXPECT_EQ(py.exitcode(), right ? 0 : 5) << (right ? "right key" : "wrong key");
  }
}

TEST_P(WithPython, AnMpcClientConnectsToAPythonListener) {
  for (const bool right : {true, false}) {
    char dir_template[] = "/tmp/mpc-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string address = std::string(dir_template) + "/py-listener";
    mpc::Connection ready, theirs;  // not a structured binding: clang 14 cannot capture one
    std::tie(ready, theirs) = mpc::Pipe(false);
    mpc::Process py(mpc::Command{{GetParam(), "-c", kPythonPeer, "listener", address, mpc_test::hex_of("the key"),
                                  std::to_string(theirs.fileno())},
                                 {theirs.fileno()}});
    py.start();
    theirs.close();
    ASSERT_TRUE(ready.poll(60.0));
    EXPECT_TRUE(mpc::equal(ready.recv(), Value::str("ready")));
    if (right) {
      mpc::Connection c = mpc::Client(address, std::string("the key"));
      c.send(Value::str("ping"));
      Value answer = c.recv();
      ASSERT_TRUE(answer.is(mpc::Kind::List));
      EXPECT_TRUE(mpc::equal(answer.at(0), Value::str("ping")));
    } else {
      EXPECT_EQ(
          mpc_test::message_of<mpc::AuthenticationError>([&] { (void)mpc::Client(address, std::string("not it")); }),
          "digest sent was rejected");
    }
    py.join(60);
    EXPECT_EQ(py.exitcode(), right ? 0 : 5) << (right ? "right key" : "wrong key");
    ::unlink(address.c_str());  // CPython removed it; in case it did not
    EXPECT_EQ(::rmdir(dir_template), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Pythons, WithPython, ::testing::ValuesIn(mpc_test::find_pythons()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return mpc_test::identifier(info.param);
                         });
