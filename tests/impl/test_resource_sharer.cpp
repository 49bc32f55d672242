// Connections inside pickles: mpc's resource sharer, the exact bytes CPython's ForkingPickler
// writes for a Connection, a Connection sent to a fork()ed child, to a CPython process and back
// from one, with the right and with a wrong authkey.
#include "mpc/resource_sharer.hpp"

#include <glob.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/pickle.hpp"
#include "mpc/process.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using mpc::Kind;
using mpc::Value;

namespace {

std::vector<std::string> sharer_sockets(pid_t pid) {
  std::vector<std::string> out;
  glob_t g{};
  const std::string pattern = "/tmp/mpc-*/listener-" + std::to_string(pid);
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  return out;
}

Value shared(mpc::Connection c) { return Value::connection(std::make_shared<mpc::Connection>(std::move(c))); }

}  // namespace

TEST(ResourceSharer, AConnectionSurvivesDumpsAndLoadsWithItsAccessMode) {
  auto [r, w] = mpc::Pipe(false);
  Value sent = shared(std::move(w));
  const std::string pickled = mpc::pickle::dumps(sent);
  EXPECT_EQ(sharer_sockets(::getpid()).size(), 1u);
  Value got = mpc::pickle::loads(pickled);
  ASSERT_TRUE(got.is(Kind::Connection));
  EXPECT_FALSE(got.is_same(sent));
  EXPECT_TRUE(got.as_connection()->writable());
  EXPECT_FALSE(got.as_connection()->readable());
  got.as_connection()->send(Value::str("through the copy"));
  EXPECT_TRUE(mpc::equal(r.recv(), Value::str("through the copy")));
  // Taken once: the key is gone from the sharer.
  EXPECT_THROW((void)mpc::pickle::loads(pickled), mpc::Error);
  mpc::resource_sharer::stop();
  EXPECT_TRUE(sharer_sockets(::getpid()).empty());
}

TEST(ResourceSharer, OneConnectionTwiceInAGraphIsOneObject) {
  auto [a, b] = mpc::Pipe(true);
  Value c = shared(std::move(a));
  Value got = mpc::pickle::loads(mpc::pickle::dumps(Value::list({c, c})));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got.at(0).is_same(got.at(1)));
  mpc::resource_sharer::stop();
}

TEST(ResourceSharer, BelowProtocol2AConnectionIsRefused) {
  auto [a, b] = mpc::Pipe(true);
  EXPECT_THROW((void)mpc::pickle::dumps(shared(std::move(a)), 1), mpc::PicklingError);
  mpc::resource_sharer::stop();
}

TEST(ResourceSharer, StopClosesWhatNobodyTook) {
  auto [r, w] = mpc::Pipe(false);
  int w_fd = w.fileno();
  (void)mpc::pickle::dumps(shared(std::move(w)));  // the Value (and w) are gone; the duplicate stays
  mpc::resource_sharer::stop();
  // Every writer is closed now: the reader sees end of file.
  EXPECT_THROW((void)r.recv_bytes(), mpc::EOFError);
  (void)w_fd;
}

TEST(ResourceSharer, ADupFdNobodyServesIsAnOSError) {
  auto [r, w] = mpc::Pipe(false);
  std::string pickled = mpc::pickle::dumps(shared(std::move(w)));
  mpc::resource_sharer::stop();
  EXPECT_THROW((void)mpc::pickle::loads(pickled), mpc::OSError);
}

TEST(ResourceSharer, AForkedChildReceivesTheWriteEndAndStartsNoSharerOfItsParent) {
  auto [r, w] = mpc::Pipe(false);
  auto [a, b] = mpc::Pipe(true);
  a.send(shared(std::move(w)));
  mpc::Process child([&b = b] {
    Value got = b.recv();
    if (!got.is(Kind::Connection) || got.as_connection()->readable() || !got.as_connection()->writable()) return 3;
    got.as_connection()->send(Value::str("from the child"));
    // The child pickles one of its own: its sharer starts, and stops when it leaves.
    auto [x, y] = mpc::Pipe(true);
    b.send(shared(std::move(x)));
    return b.recv().is(Kind::None) ? 0 : 4;
  });
  child.start();
  EXPECT_TRUE(mpc::equal(r.recv(), Value::str("from the child")));
  Value theirs = a.recv();
  ASSERT_TRUE(theirs.is(Kind::Connection));
  EXPECT_EQ(sharer_sockets(*child.pid()).size(), 1u);
  a.send(Value::none());
  child.join(30);
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_TRUE(sharer_sockets(*child.pid()).empty());
  EXPECT_EQ(sharer_sockets(::getpid()).size(), 1u);  // the parent's is still there
  mpc::resource_sharer::stop();
}

TEST(ResourceSharer, MalformedConnectionPicklesAreRefusedWithoutConnecting) {
  const std::string dupfd = "cmultiprocessing.resource_sharer\nDupFd\n)\x81";
  const std::string rebuild = "cmultiprocessing.connection\nrebuild_connection\n";
  for (const std::string& bad : std::vector<std::string>{
           dupfd + "}(V_key\n(V/nowhere\nK\x01tub.",              // not '_id'
           dupfd + "}(V_id\n(K\x01K\x01tub.",                     // address not a str
           dupfd + "}(V_id\nV/nowhere\nub.",                      // _id not a tuple
           rebuild + "(K\x01\x88\x88tR.",                         // an int for the DupFd
           rebuild + "(V/x\n\x88\x88tR.",                         // a str for the DupFd
           "cmultiprocessing.connection\nConnection\n(K\x03tR.",  // another global
           "cbuiltins\nset\n)\x81.",                              // NEWOBJ of anything else
       }) {
    EXPECT_THROW((void)mpc::pickle::loads(bad), mpc::UnpicklingError) << mpc::repr(Value::bytes(bad));
  }
  EXPECT_TRUE(sharer_sockets(::getpid()).empty());
}

// ---- with CPython

namespace {

// argv: mode fd authkey_hex. Modes:
//   bytes:   for each pickle mpc sends, ForkingPickler's bytes, at the same protocol, of a
//            Connection with the same _id and access mode (reduce_connection's result, made by
//            hand: the descriptor is not taken);
//   receive: receive a Connection, send through it (exit 5 on AuthenticationError);
//   give:    send a Connection of its own, report what arrives on its other end.
constexpr const char* kPythonPeer = R"PY(
import sys, multiprocessing
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Pipe, rebuild_connection
from multiprocessing.reduction import ForkingPickler
from multiprocessing.resource_sharer import DupFd
mode, fd, key = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
multiprocessing.current_process().authkey = key
c = Connection(fd)
if mode == 'bytes':
    import io, pickle
    class Plain:
        pass
    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ('multiprocessing.connection', 'rebuild_connection'):
                return lambda df, readable, writable: (df._id, readable, writable)
            if (module, name) == ('multiprocessing.resource_sharer', 'DupFd'):
                return Plain
            raise pickle.UnpicklingError('unexpected global %s.%s' % (module, name))
    class AsConnection:
        def __init__(self, ident, readable, writable):
            self.df = DupFd.__new__(DupFd)
            self.df._id = ident
            self.modes = (readable, writable)
        def __reduce__(self):
            return rebuild_connection, (self.df,) + self.modes
    while True:
        data = c.recv_bytes()
        if not data:
            break
        ident, readable, writable = Reader(io.BytesIO(data)).load()
        c.send_bytes(ForkingPickler.dumps(AsConnection(tuple(ident), readable, writable), data[1]))
elif mode == 'receive':
    try:
        w = c.recv()
    except AuthenticationError:
        sys.exit(5)
    w.send(['from python', w.readable, w.writable])
else:
    r, w = Pipe(duplex=False)
    c.send(w)
    w.close()
    # mpc says whether it could send through w: the sharer serves until then.
    c.send(r.recv() if c.recv() == 'read' else 'nothing arrived')
)PY";

class SharerWithPython : public ::testing::TestWithParam<std::string> {};

mpc::Process python(const std::string& interpreter, const char* mode, mpc::Connection& theirs, const std::string& key) {
  mpc::Process py(
      mpc::Command{{interpreter, "-c", kPythonPeer, mode, std::to_string(theirs.fileno()), mpc_test::hex_of(key)},
                   {theirs.fileno()}});
  py.start();
  theirs.close();
  return py;
}

}  // namespace

TEST_P(SharerWithPython, MpcWritesForkingPicklersBytes) {
  auto [mine, theirs] = mpc::Pipe(true);
  mpc::Process py = python(GetParam(), "bytes", theirs, mpc::current_process_authkey());
  for (int protocol = 2; protocol <= 5; ++protocol) {
    for (const bool duplex : {true, false}) {
      auto [one, other] = mpc::Pipe(duplex);
      const std::string pickled = mpc::pickle::dumps(shared(duplex ? std::move(one) : std::move(other)), protocol);
      mine.send_bytes(pickled);
      ASSERT_TRUE(mine.poll(60.0));
      EXPECT_EQ(mine.recv_bytes(), pickled) << "protocol " << protocol << (duplex ? " duplex" : " write end");
    }
  }
  mine.send_bytes("");
  py.join(60);
  EXPECT_EQ(py.exitcode(), 0);
  mpc::resource_sharer::stop();
}

TEST_P(SharerWithPython, PythonUsesAConnectionMpcSent) {
  for (const bool right : {true, false}) {
    auto [r, w] = mpc::Pipe(false);
    auto [mine, theirs] = mpc::Pipe(true);
    mpc::Process py = python(GetParam(), "receive", theirs, right ? mpc::current_process_authkey() : "another key");
    mine.send(shared(std::move(w)));
    if (right) {
      ASSERT_TRUE(r.poll(60.0));
      EXPECT_TRUE(
          mpc::equal(r.recv(), Value::list({Value::str("from python"), Value::boolean(false), Value::boolean(true)})));
    }
    py.join(60);
    EXPECT_EQ(py.exitcode(), right ? 0 : 5) << (right ? "right key" : "wrong key");
    mpc::resource_sharer::stop();
    EXPECT_TRUE(sharer_sockets(::getpid()).empty());
  }
}

TEST_P(SharerWithPython, MpcUsesAConnectionPythonSent) {
  for (const bool right : {true, false}) {
    auto [mine, theirs] = mpc::Pipe(true);
    mpc::Process py = python(GetParam(), "give", theirs, right ? mpc::current_process_authkey() : "another key");
    ASSERT_TRUE(mine.poll(60.0));
    if (right) {
      Value w = mine.recv();
      ASSERT_TRUE(w.is(Kind::Connection));
      EXPECT_TRUE(w.as_connection()->writable());
      EXPECT_FALSE(w.as_connection()->readable());
      w.as_connection()->send(Value::str("from mpc"));
      mine.send(Value::str("read"));
      ASSERT_TRUE(mine.poll(60.0));
      EXPECT_TRUE(mpc::equal(mine.recv(), Value::str("from mpc")));
    } else {
      EXPECT_THROW((void)mine.recv(), mpc::AuthenticationError);
      mine.send(Value::str("skip"));
      ASSERT_TRUE(mine.poll(60.0));
      EXPECT_TRUE(mpc::equal(mine.recv(), Value::str("nothing arrived")));
    }
    py.join(60);
    EXPECT_EQ(py.exitcode(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Pythons, SharerWithPython, ::testing::ValuesIn(mpc_test::find_pythons()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return mpc_test::identifier(info.param);
                         });
