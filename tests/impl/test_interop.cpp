// A CPython process and this C++ process on the two ends of one pipe: values and raw bytes
// both ways through multiprocessing.connection.Connection(fd) on the Python side. Runs once per
// interpreter found (/usr/bin/python3 and ~/.pyenv/versions/3.8+), over a duplex socketpair
// and over a pair of simplex pipes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

using mpc::Value;

namespace {

// The Python half. argv: mode ("duplex" fd | "simplex" read_fd write_fd).
constexpr const char* kPythonPeer = R"PY(
import sys, hashlib
from multiprocessing.connection import Connection

if sys.argv[1] == 'duplex':
    rd = wr = Connection(int(sys.argv[2]))
else:
    rd = Connection(int(sys.argv[2]), writable=False)
    wr = Connection(int(sys.argv[3]), readable=False)

def payload(n, seed):
    # spec/values.md payload generator
    x = seed
    block = bytearray(65521)
    for i in range(65521):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        block[i] = x >> 56
    return bytes(block * (n // 65521 + 1))[:n]

EXPECTED = [None, True, False, 0, 255, 65536, -1, 2**31, 2**63, -2**64, 1.5, -0.0,
            float('inf'), '', 'h\u00e9llo \u20ac', b'', b'\x00\xff', bytearray(b'ab'),
            [1, [2, 3]], (1, 'a'), (), {'a': 1, 'b': [None]}, {1: 'one', (2,): 'two'},
            frozenset([7]), payload(70000, 1)]

def same(a, b):
    return type(a) is type(b) and repr(a) == repr(b)

failures = []
got = [rd.recv() for _ in EXPECTED]                   # C++ -> Python values
failures += ['value %d: %r' % (i, g)[:200] for i, (g, e) in enumerate(zip(got, EXPECTED)) if not same(g, e)]
for g in got:                                          # echoed back
    wr.send(g)
for e in EXPECTED:                                     # Python's own
    wr.send(e)
b = rd.recv_bytes()                                    # raw bytes, > 64 KiB
if b != payload(200000, 2):
    failures.append('recv_bytes payload differs (%d bytes)' % len(b))
wr.send_bytes(payload(300000, 3))
small = rd.recv_bytes()
wr.send_bytes(small, 2, 3)
big = rd.recv_bytes()                                  # 1 MiB, echoed
wr.send_bytes(big)
wr.send(failures)
sys.exit(0 if not failures else 3)
)PY";

std::string payload(std::size_t n, std::uint64_t seed) {
  std::string block(65521, '\0');
  std::uint64_t x = seed;
  for (auto& c : block) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(x >> 56);
  }
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(block, 0, std::min(block.size(), n - out.size()));
  return out;
}

std::vector<Value> expected_values() {
  return {
      Value::none(),
      Value::boolean(true),
      Value::boolean(false),
      Value::integer(0),
      Value::integer(255),
      Value::integer(65536),
      Value::integer(-1),
      Value::integer(std::int64_t{1} << 31),
      Value::integer(mpc::BigInt::from_decimal("9223372036854775808")),
      Value::integer(mpc::BigInt::from_decimal("-18446744073709551616")),
      Value::floating(1.5),
      Value::floating(-0.0),
      Value::floating(1.0 / 0.0),
      Value::str(""),
      Value::str("h\xc3\xa9llo \xe2\x82\xac"),
      Value::bytes(""),
      Value::bytes(std::string("\x00\xff", 2)),
      Value::bytearray("ab"),
      Value::list({Value::integer(1), Value::list({Value::integer(2), Value::integer(3)})}),
      Value::tuple({Value::integer(1), Value::str("a")}),
      Value::tuple(),
      Value::dict({{Value::str("a"), Value::integer(1)}, {Value::str("b"), Value::list({Value::none()})}}),
      Value::dict({{Value::integer(1), Value::str("one")}, {Value::tuple({Value::integer(2)}), Value::str("two")}}),
      Value::frozenset({Value::integer(7)}),
      Value::bytes(payload(70000, 1)),
  };
}

Value recv_within(mpc::Connection& c, double seconds) {
  auto v = c.try_recv(seconds);
  if (!v) throw std::runtime_error("the Python peer sent nothing for " + std::to_string(seconds) + " s");
  return *v;
}

std::string recv_bytes_within(mpc::Connection& c, double seconds) {
  auto v = c.try_recv_bytes(seconds);
  if (!v) throw std::runtime_error("the Python peer sent nothing for " + std::to_string(seconds) + " s");
  return *v;
}

// The C++ half, over `rd` (from Python) and `wr` (to Python).
void converse(mpc::Connection& rd, mpc::Connection& wr) {
  const auto values = expected_values();
  for (const auto& v : values) wr.send(v);
  for (std::size_t i = 0; i < values.size(); ++i) {
    Value echo = recv_within(rd, 30);
    EXPECT_TRUE(mpc::equal(echo, values[i])) << "echo of value " << i << ": " << mpc::repr(echo, 200);
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    Value theirs = recv_within(rd, 30);
    EXPECT_TRUE(mpc::equal(theirs, values[i])) << "Python's value " << i << ": " << mpc::repr(theirs, 200);
  }
  wr.send_bytes(payload(200000, 2));
  EXPECT_TRUE(recv_bytes_within(rd, 30) == payload(300000, 3));
  wr.send_bytes("abcdefgh");
  EXPECT_EQ(recv_bytes_within(rd, 30), "cde");
  const std::string big = payload(1 << 20, 4);
  wr.send_bytes(big);
  EXPECT_TRUE(recv_bytes_within(rd, 30) == big);
  Value failures = recv_within(rd, 30);
  EXPECT_EQ(failures.size(), 0u) << "Python saw: " << mpc::repr(failures);
}

class Interop : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Interop, ValuesAndBytesCrossADuplexPipeBothWays) {
  mpc::Connection mine, theirs;  // not a structured binding: clang 14 cannot capture one
  std::tie(mine, theirs) = mpc::Pipe(true);
  mpc::Process py(
      mpc::Command{{GetParam(), "-c", kPythonPeer, "duplex", std::to_string(theirs.fileno())}, {theirs.fileno()}});
  py.start();
  theirs.close();
  converse(mine, mine);
  py.join(30);
  EXPECT_EQ(py.exitcode(), 0);
}

TEST_P(Interop, ValuesAndBytesCrossTwoSimplexPipesBothWays) {
  mpc::Connection py_reads, i_write;  // not a structured binding: clang 14 cannot capture one
  std::tie(py_reads, i_write) = mpc::Pipe(false);
  mpc::Connection i_read, py_writes;  // not a structured binding: clang 14 cannot capture one
  std::tie(i_read, py_writes) = mpc::Pipe(false);
  mpc::Process py(mpc::Command{
      {GetParam(), "-c", kPythonPeer, "simplex", std::to_string(py_reads.fileno()), std::to_string(py_writes.fileno())},
      {py_reads.fileno(), py_writes.fileno()}});
  py.start();
  py_reads.close();
  py_writes.close();
  converse(i_read, i_write);
  py.join(30);
  EXPECT_EQ(py.exitcode(), 0);
}

TEST_P(Interop, AForkedChildAndPythonShareOnePipe) {
  // The C++ end lives in a fork()ed child; the parent only watches.
  mpc::Connection mine, theirs;  // not a structured binding: clang 14 cannot capture one
  std::tie(mine, theirs) = mpc::Pipe(true);
  mpc::Process py(mpc::Command{{GetParam(), "-c",
                                "import sys\n"
                                "from multiprocessing.connection import Connection\n"
                                "c = Connection(int(sys.argv[1]))\n"
                                "c.send([x * 2 for x in c.recv()])\n",
                                std::to_string(theirs.fileno())},
                               {theirs.fileno()}});
  py.start();
  theirs.close();
  mpc::Process child([&] {
    mine.send(Value::list({Value::integer(1), Value::integer(2)}));
    Value v = mine.recv();
    return mpc::equal(v, Value::list({Value::integer(2), Value::integer(4)})) ? 0 : 7;
  });
  child.start();
  mine.close();
  child.join(30);
  py.join(30);
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_EQ(py.exitcode(), 0);
}

INSTANTIATE_TEST_SUITE_P(Pythons, Interop, ::testing::ValuesIn(mpc_test::find_pythons()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return mpc_test::identifier(info.param);
                         });
