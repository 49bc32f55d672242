// Hostile input for loads(): each stream must end in an mpc error, quickly and with bounded
// memory, never a crash, a hang, a huge allocation or a foreign exception. Then CPython's own
// decoder test material (pickletester's DATA* constants, read from an installed interpreter),
// and a deterministic mutation loop over valid pickles.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <sstream>

#include "mpc/pickle.hpp"
#include "support.hpp"

namespace {

using mpc::Value;
using mpc::pickle::dumps;
using mpc::pickle::loads;
using Clock = std::chrono::steady_clock;

template <std::size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

std::string le(std::uint64_t value, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

std::string repeat(const std::string& unit, std::size_t count) {
  std::string out;
  out.reserve(unit.size() * count);
  for (std::size_t i = 0; i < count; ++i) out += unit;
  return out;
}

enum class Want { Unpickling, Value, Type, Overflow, EOF_ };

struct Hostile {
  std::string name;
  std::string data;
  Want want = Want::Unpickling;
};

// `k` lists, memoized, then linked into one chain through the memo: the nesting is only
// visible once the whole graph is built.
std::string chain_through_memo(std::uint32_t k) {
  std::string out = bytes("\x80\x02");
  for (std::uint32_t i = 0; i < k; ++i) out += "]r" + le(i, 4) + "0";
  for (std::uint32_t i = 0; i + 1 < k; ++i) out += "j" + le(i, 4) + "j" + le(i + 1, 4) + "a0";
  return out + "j" + le(0, 4) + ".";
}

// frozenset({frozenset({... None ...})}) built level by level from the memo, one MARK at a time.
std::string nested_frozensets(std::uint32_t levels) {
  std::string out = bytes("N\x94");
  for (std::uint32_t i = 0; i < levels; ++i) out += "0(j" + le(i, 4) + "\x91\x94";
  return out + ".";
}

std::vector<Hostile> hostile_table() {
  return {
      // truncation and lengths that lie
      {"empty input", "", Want::EOF_},
      {"no STOP", "]"},
      {"STOP on an empty stack", "."},
      {"BINUNICODE shorter than declared", bytes("X\x05\x00\x00\x00"
                                                 "ab")},
      {"SHORT_BINBYTES shorter than declared", bytes("C\xff"
                                                     "ab")},
      {"BINBYTES8 declaring 2^62 bytes", "\x8e" + le(std::uint64_t{1} << 62, 8) + "abc."},
      {"BINUNICODE8 declaring 2^64-1 bytes", "\x8d" + le(~std::uint64_t{0}, 8) + "."},
      {"BYTEARRAY8 declaring 2^40 bytes", "\x96" + le(std::uint64_t{1} << 40, 8) + "."},
      {"FRAME declaring 2^63 bytes", "\x80\x04\x95" + le(std::uint64_t{1} << 63, 8) + "N."},
      {"LONG4 declaring 2^31-1 bytes", "\x8b" + le(0x7fffffff, 4) + "."},
      {"LONG4 with a negative length", "\x8b" + le(0xffffffff, 4) + "."},
      {"BINSTRING with a negative length", "T" + le(0xfffffff0, 4) + "."},
      {"BINSTRING declaring more than there is", "T" + le(100, 4) + "abc."},
      {"BININT cut short", bytes("J\x01\x02")},
      {"BINFLOAT cut short", bytes("G\x00\x00\x00")},
      {"INT without end of line", "I123"},
      {"GLOBAL without end of line", "cbuiltins\nset"},
      {"PROTO without its byte", bytes("\x80")},
      // memo misuse
      {"GET of an unknown index", bytes("h\x00.")},
      {"LONG_BINGET of an unknown index", bytes("j\xff\xff\xff\xff.")},
      {"GET with a non-numeric index", "g1x\n."},
      {"GET with a negative index", "g-1\n."},
      {"GET with a huge index", "g999999999999999999999999\n."},
      {"PUT on an empty stack", bytes("q\x00.")},
      {"PUT with a negative index", "Np-1\n."},
      {"MEMOIZE on an empty stack", bytes("\x94.")},
      {"PUT right after a MARK", bytes("N(q\x00.")},
      // MARK misuse and bad stacks (after pickletester's test_bad_stack / test_bad_mark)
      {"APPENDS without a MARK", "]e."},
      {"POP_MARK without a MARK", "1."},
      {"TUPLE without a MARK", "Nt."},
      {"LIST without a MARK", "l."},
      {"DICT without a MARK", "d."},
      {"FROZENSET without a MARK", bytes("\x91.")},
      {"SETITEMS without a MARK", "}u."},
      {"ADDITEMS without a MARK", bytes("\x8f\x90.")},
      {"STOP right above a MARK", "N(."},
      {"APPEND reaching below the MARK", bytes("](K\x01"
                                               "a.")},
      {"SETITEM reaching below the MARK", bytes("}(K\x01s.")},
      {"POP on an empty stack", "0."},
      {"DUP on an empty stack", "2."},
      {"TUPLE1 on an empty stack", bytes("\x85.")},
      {"TUPLE3 with two values", bytes("NN\x87.")},
      {"SETITEM with one value", bytes("}K\x01s.")},
      {"REDUCE on an empty stack", "R."},
      {"STACK_GLOBAL on an empty stack", bytes("\x93.")},
      {"APPEND on an empty stack", "a."},
      {"odd number of DICT items", bytes("(K\x01"
                                         "d.")},
      {"odd number of SETITEMS items", bytes("}(K\x01u.")},
      // wrong types
      {"APPEND to an int", bytes("K\x01K\x02"
                                 "a.")},
      {"APPENDS to a tuple", bytes(")(K\x01"
                                   "e.")},
      {"SETITEM on a list", bytes("]K\x01K\x02s.")},
      {"ADDITEMS on a frozenset", bytes("(\x91(K\x01\x90.")},
      {"STACK_GLOBAL of ints", bytes("K\x01K\x02\x93.")},
      {"a global as the result", "cbuiltins\nset\n."},
      {"a global as a list item", "]cbuiltins\nset\na."},
      {"REDUCE of a value", bytes("K\x01)R.")},
      {"REDUCE with a list for arguments", "cbuiltins\nset\n]R."},
      {"unhashable dict key", bytes("}(]K\x01u."), Want::Type},
      {"unhashable set member", bytes("\x8f(]\x90."), Want::Type},
      {"unhashable frozenset member", bytes("(}\x91."), Want::Type},
      {"a tuple holding a list as a key", bytes("}(]\x85K\x01u."), Want::Type},
      {"set() of an unhashable", bytes("cbuiltins\nset\n]]a\x85R."), Want::Type},
      // text values
      {"INT that is not a number", "Iabc\n.", Want::Value},
      {"INT with 4301 digits", "I" + std::string(4301, '7') + "\n.", Want::Value},
      {"LONG with 5000 digits", "L" + std::string(5000, '7') + "L\n.", Want::Value},
      {"LONG with a leading zero", "L010L\n.", Want::Value},
      {"INT with a leading zero and a non-octal digit", "I08\n.", Want::Value},
      {"INT with two underscores", "I1__0\n.", Want::Value},
      {"INT of 4401 digits past strtol", "I1" + std::string(4400, '0') + "\n.", Want::Value},
      {"LONG of 4301 hex digits", "L0x" + std::string(4301, 'f') + "L\n.", Want::Value},
      {"INT that is only a sign", "I+\n.", Want::Value},
      {"FLOAT with leading space", "F 1.5\n.", Want::Value},
      {"FLOAT with an underscore", "F1_0\n.", Want::Value},
      {"FLOAT nan(payload)", "Fnan(1)\n.", Want::Value},
      {"FLOAT with two signs", "F+-1\n.", Want::Value},
      {"FLOAT in hex", "F0x10\n.", Want::Value},
      {"FLOAT that is not a number", "Fone\n.", Want::Value},
      {"FLOAT out of range", "F1e999\n.", Want::Overflow},
      {"UNICODE with a cut escape", "V\\u12\n.", Want::Value},
      {"UNICODE escape beyond U+10FFFF", "V\\U00110000\n.", Want::Value},
      {"BINUNICODE with invalid UTF-8", bytes("X\x02\x00\x00\x00\xff\xfe."), Want::Value},
      {"BINUNICODE with a cut UTF-8 sequence", bytes("\x8c\x02\xe2\x82."), Want::Value},
      {"SHORT_BINSTRING beyond ASCII", bytes("U\x01\x80."), Want::Value},
      {"PROTO 6", bytes("\x80\x06N."), Want::Value},
      {"_codecs.encode of a non-latin-1 str", bytes("c_codecs\nencode\n(V\\u20ac\nVlatin1\ntR."), Want::Value},
      // refused: globals, object building, extensions, buffers
      {"GLOBAL os.system", "cos\nsystem\n(Vls\ntR."},
      {"GLOBAL builtins.eval", "cbuiltins\neval\n."},
      {"GLOBAL builtins.list", "cbuiltins\nlist\n)R."},
      {"STACK_GLOBAL builtins.getattr", bytes("\x8c\x08"
                                              "builtins\x8c\x07getattr\x93.")},
      {"GLOBAL copyreg._reconstructor", "ccopy_reg\n_reconstructor\n."},
      {"_codecs.encode to utf-8", "c_codecs\nencode\n(Vx\nVutf-8\ntR."},
      {"bytes() of an int", bytes("cbuiltins\nbytes\nK\x05\x85R.")},
      {"bytearray of three arguments", bytes("cbuiltins\nbytearray\n(NNNtR.")},
      {"set() of an int", bytes("cbuiltins\nset\nK\x05\x85R.")},
      {"BUILD", "}}b."},
      {"INST", "(i__main__\nC\n."},
      {"OBJ", "(cbuiltins\nset\no."},
      {"NEWOBJ", bytes("cbuiltins\nset\n)\x81.")},
      {"NEWOBJ_EX", bytes("cbuiltins\nset\n)}\x92.")},
      {"PERSID", "P1\n."},
      {"BINPERSID", bytes("K\x01Q.")},
      {"EXT1", bytes("\x82\x01.")},
      {"EXT2", bytes("\x83\x01\x00.")},
      {"EXT4", bytes("\x84\x01\x00\x00\x00.")},
      {"NEXT_BUFFER", bytes("\x80\x05\x97.")},
      {"READONLY_BUFFER of a list", bytes("\x80\x05]\x98."), Want::Type},
      {"READONLY_BUFFER of None", bytes("N\x98."), Want::Type},
      // item 21 of issue 7: CPython makes a memoryview here, which is not in the data model
      {"BYTEARRAY8 then READONLY_BUFFER", "\x80\x05\x96" + le(3, 8) + "abc\x98."},
      {"STRING unquoted", "Sabc\n."},
      {"STRING with mismatched quotes", "S'abc\"\n."},
      {"STRING of one quote", "S'\n."},
      {"STRING with a trailing backslash", "S'a\\'\n.", Want::Value},
      {"STRING with a short \\x escape", "S'\\x4'\n.", Want::Value},
      {"STRING beyond ASCII", "S'\\xff'\n.", Want::Value},
      {"an invalid opcode", bytes("\xff.")},
      {"a NUL opcode", bytes("\x00.")},
      // size and depth
      {"a million nested TUPLE1", "N" + std::string(1'000'000, '\x85') + "."},
      {"a million nested lists through MARKs", repeat("](", 1'000'000) + std::string(1'000'000, 'e') + "."},
      {"a million nested frozensets through the memo", nested_frozensets(1'000'000)},
      {"20000 lists chained through the memo", chain_through_memo(20000)},
      {"two million values on the stack", "(" + std::string(2'000'000, 'N') + "l."},
      {"a million DUPs", "N" + std::string(1'100'000, '2') + "."},
      {"a million open MARKs", std::string(1'000'000, '(')},
  };
}

void expect_error(const std::string& name, const std::string& data, Want want) {
  const auto start = Clock::now();
  try {
    const Value v = loads(data);
    ADD_FAILURE() << name << ": accepted, got " << mpc::repr(v, 200);
  } catch (const mpc::EOFError&) {
    EXPECT_EQ(want, Want::EOF_) << name;
  } catch (const mpc::ValueError& e) {
    EXPECT_EQ(want, Want::Value) << name << ": " << e.what();
  } catch (const mpc::TypeError& e) {
    EXPECT_EQ(want, Want::Type) << name << ": " << e.what();
  } catch (const mpc::OverflowError& e) {
    EXPECT_EQ(want, Want::Overflow) << name << ": " << e.what();
  } catch (const mpc::UnpicklingError& e) {
    EXPECT_EQ(want, Want::Unpickling) << name << ": " << e.what();
  } catch (const mpc::Error& e) {
    ADD_FAILURE() << name << ": unexpected " << e.python_type() << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": foreign exception " << e.what();
  }
  const auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(elapsed, 10.0 * mpc_test::kWorkSlowdown) << name << " took " << elapsed << " s";
}

TEST(HostilePickles, EachOfTheTableEndsInTheExpectedMpcErrorQuickly) {
  const auto table = hostile_table();
  for (const auto& h : table) expect_error(h.name, h.data, h.want);
  if (std::getenv("MPC_SHOW_HOSTILE") != nullptr) {
    for (const auto& h : table) {
      try {
        (void)loads(h.data);
      } catch (const std::exception& e) {
        std::printf("%-45s %s\n", h.name.c_str(), e.what());
      }
    }
  }
  std::printf("[          ] %zu hostile pickles refused\n", table.size());
}

TEST(HostilePickles, ErrorsNameTheOffendingOpcode) {
  try {
    (void)loads("]cbuiltins\nlist\n)R.");
    FAIL();
  } catch (const mpc::UnpicklingError& e) {
    EXPECT_NE(std::string(e.what()).find("builtins.list"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("GLOBAL at byte 1"), std::string::npos) << e.what();
  }
  try {
    (void)loads(bytes("\x80\x04}}b."));
    FAIL();
  } catch (const mpc::UnpicklingError& e) {
    EXPECT_NE(std::string(e.what()).find("BUILD at byte 4"), std::string::npos) << e.what();
  }
}

TEST(HostilePickles, TheExactDepthCheckSeesNestingBuiltThroughTheMemo) {
  EXPECT_NO_THROW((void)loads(chain_through_memo(9000)));
  EXPECT_THROW((void)loads(chain_through_memo(10001)), mpc::UnpicklingError);
}

TEST(HostilePickles, PutAtAHugeIndexUsesNoMoreThanOneEntry) {
  EXPECT_TRUE(mpc::equal(loads(bytes("Nr\xff\xff\xff\xff"
                                     "0j\xff\xff\xff\xff\x85.")),
                         Value::tuple({
                             Value(),
                         })));
}

// ---- CPython's own decoder material

std::string find_python_with_test_package() {
  std::string root;
  if (const char* home = std::getenv("HOME")) root = std::string(home) + "/.pyenv/versions";
  std::error_code ec;
  for (const char* version : {"3.12.1", "3.13.0", "3.11.7", "3.10.13", "3.9.18", "3.8.18"}) {
    const auto python = std::filesystem::path(root) / version / "bin" / "python";
    if (std::filesystem::exists(python, ec)) return python.string();
  }
  return {};
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(HostilePickles, PickletesterObjectPicklesAreRefusedAndItsSetPicklesRead) {
  const std::string python = find_python_with_test_package();
  if (python.empty()) GTEST_SKIP() << "no pyenv CPython found";
  const std::string command = python +
                              " -c \"from test import pickletester as t\n"
                              "for n in sorted(dir(t)):\n"
                              "    v = getattr(t, n)\n"
                              "    if n.startswith('DATA') and isinstance(v, bytes): print(n, v.hex())\" 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  if (pclose(pipe) != 0) GTEST_SKIP() << "no test package: " << output;

  int refused = 0;
  std::istringstream lines(output);
  std::string name;
  std::string hex;
  while (lines >> name >> hex) {
    const std::string data = unhex(hex);
    if (name == "DATA_SET") {
      EXPECT_TRUE(mpc::equal(loads(data), Value::set({Value::integer(1), Value::integer(2)})));
    } else if (name == "DATA_SET2") {
      EXPECT_TRUE(mpc::equal(loads(data), Value::set({Value::integer(3)})));
    } else {
      EXPECT_THROW((void)loads(data), mpc::UnpicklingError) << name;
      ++refused;
    }
  }
  EXPECT_GE(refused, 5);  // DATA0-DATA4 at least
  std::printf("[          ] %d pickletester pickles refused\n", refused);
}

// ---- mutation loop

std::vector<std::string> seeds() {
  Value self = Value::list();
  self.append(self);
  Value rec_list = Value::list();
  const Value rec_tuple = Value::tuple({rec_list, Value::integer(1)});
  rec_list.append(rec_tuple);
  const Value shared = Value::str("shared");
  const Value sample = Value::list({
      Value(),
      Value::boolean(true),
      Value::integer(-300),
      Value::integer(70000),
      Value::integer(mpc::BigInt::from_decimal("-123456789012345678901234567890")),
      Value::floating(2.5),
      Value::str("h\xc3\xa9llo"),
      shared,
      shared,
      Value::bytes("by"),
      Value::bytearray("ba"),
      Value::tuple({Value::integer(1), Value::integer(2)}),
      Value::dict({{Value::str("k"), Value::list({Value::integer(1)})},
                   {Value::tuple({Value::integer(1)}), Value::frozenset({Value::integer(5)})}}),
      Value::set({Value::integer(7), Value::str("s")}),
      self,
      rec_tuple,
  });
  std::vector<std::string> out;
  for (int proto = 0; proto <= 5; ++proto) out.push_back(dumps(sample, proto));
  return out;
}

TEST(HostilePickles, TwentyThousandMutationsOfValidPicklesNeverCrash) {
  const auto valid = seeds();
  std::mt19937_64 random(20240611);  // deterministic
  int accepted = 0;
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string data = valid[static_cast<std::size_t>(round) % valid.size()];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !data.empty(); ++e) {
      const std::size_t at = random() % data.size();
      switch (random() % 5) {
        case 0: data[at] = static_cast<char>(random()); break;                         // replace
        case 1: data.erase(at, 1 + random() % 8); break;                               // delete
        case 2: data.insert(at, 1, static_cast<char>(random())); break;                // insert
        case 3: data.resize(at); break;                                                // truncate
        default: data.insert(at, data.substr(random() % data.size(), random() % 16));  // splice
      }
    }
    try {
      const Value v = loads(data);
      (void)mpc::repr(v, 100);
      (void)dumps(v, static_cast<int>(random() % 6));
      ++accepted;
    } catch (const mpc::Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "round " << round << ": foreign exception " << e.what() << " for "
                    << mpc::repr(Value::bytes(data), 400);
    }
  }
  EXPECT_EQ(accepted + refused, 20000);
  std::printf("[          ] 20000 mutations: %d accepted, %d refused with mpc errors\n", accepted, refused);
}

}  // namespace
