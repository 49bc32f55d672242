// The value model: construction, identity and sharing, cycles, equality, repr, BigInt, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "mpc/bigint.hpp"
#include "mpc/errors.hpp"
#include "mpc/value.hpp"
#include "support.hpp"

namespace {

using mpc::BigInt;
using mpc::Kind;
using mpc::Value;

// ---- construction and access

TEST(Value, DefaultIsNone) {
  const Value v;
  EXPECT_TRUE(v.is(Kind::None));
  EXPECT_EQ(v.identity(), nullptr);
}

TEST(Value, ScalarsReadBackWhatWasStored) {
  EXPECT_TRUE(Value::boolean(true).as_bool());
  EXPECT_EQ(Value::integer(-5).to_int64(), -5);
  EXPECT_EQ(Value::floating(0.5).as_float(), 0.5);
  EXPECT_EQ(Value::str("h\xc3\xa9").data(), "h\xc3\xa9");
  EXPECT_EQ(Value::bytes(std::string("\0\xff", 2)).data(), std::string("\0\xff", 2));
  EXPECT_EQ(Value::bytearray("ab").data(), "ab");
}

TEST(Value, BigIntegersThatFitInt64AreStoredSmall) {
  const Value v = Value::integer(BigInt::from_decimal("-9223372036854775808"));
  EXPECT_EQ(v.to_int64(), std::numeric_limits<std::int64_t>::min());
  const Value big = Value::integer(BigInt::from_decimal("9223372036854775808"));
  EXPECT_EQ(big.to_int64(), std::nullopt);
  EXPECT_EQ(big.as_int().to_decimal(), "9223372036854775808");
}

TEST(Value, AccessorsOfTheWrongKindThrowTypeError) {
  EXPECT_THROW((void)Value::integer(1).as_bool(), mpc::TypeError);
  EXPECT_THROW((void)Value::str("x").as_float(), mpc::TypeError);
  EXPECT_THROW((void)Value::list().data(), mpc::TypeError);
  EXPECT_THROW((void)Value::str("x").size(), mpc::TypeError);
  EXPECT_THROW(Value::dict().append(Value()), mpc::TypeError);
  EXPECT_THROW(Value::list().add(Value(), Value()), mpc::TypeError);
}

TEST(Value, OutOfRangeIndexThrowsValueError) {
  EXPECT_THROW((void)Value::list().at(0), mpc::ValueError);
  EXPECT_THROW((void)Value::dict().key(0), mpc::ValueError);
}

TEST(Value, ContainersKeepItemsInOrder) {
  const Value t = Value::tuple({Value::integer(1), Value::str("two"), Value::none()});
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t.at(1).data(), "two");
  const Value d = Value::dict({{Value::str("k"), Value::integer(1)}, {Value::integer(2), Value::list()}});
  ASSERT_EQ(d.size(), 2U);
  EXPECT_EQ(d.key(0).data(), "k");
  EXPECT_TRUE(d.value(1).is(Kind::List));
}

TEST(Value, BytearrayContentsCanBeReplaced) {
  Value b = Value::bytearray("ab");
  b.assign_data("xyz");
  EXPECT_EQ(b.data(), "xyz");
  EXPECT_THROW(Value::bytes("ab").assign_data("x"), mpc::TypeError);
}

TEST(Value, KindNamesArePythonTypeNames) {
  EXPECT_EQ(mpc::kind_name(Kind::None), "NoneType");
  EXPECT_EQ(mpc::kind_name(Kind::FrozenSet), "frozenset");
  EXPECT_EQ(mpc::kind_name(Kind::ByteArray), "bytearray");
}

// ---- identity and sharing

TEST(Value, CopiesOfAHandleAreTheSameObject) {
  const Value s = Value::str("shared");
  const Value copy = s;
  EXPECT_TRUE(copy.is_same(s));
  EXPECT_FALSE(Value::str("shared").is_same(s));
}

TEST(Value, EmptyAndOneLatin1CharacterStrsAreCPythonsSingletons) {
  EXPECT_TRUE(Value::str("").is_same(Value::str("")));
  EXPECT_TRUE(Value::str("a").is_same(Value::str("a")));
  EXPECT_TRUE(Value::str("\xc3\xa9").is_same(Value::str("\xc3\xa9")));           // U+00E9
  EXPECT_FALSE(Value::str("\xe2\x82\xac").is_same(Value::str("\xe2\x82\xac")));  // U+20AC
  EXPECT_FALSE(Value::str("ab").is_same(Value::str("ab")));
  EXPECT_TRUE(Value::bytes("").is_same(Value::bytes("")));
  EXPECT_FALSE(Value::bytes("a").is_same(Value::bytes("a")));
  EXPECT_FALSE(Value::bytearray("").is_same(Value::bytearray("")));
}

TEST(Value, ItemsReadBackAreTheStoredObjects) {
  const Value inner = Value::list({Value::integer(1)});
  const Value outer = Value::list({inner, inner});
  EXPECT_TRUE(outer.at(0).is_same(inner));
  EXPECT_TRUE(outer.at(1).is_same(outer.at(0)));
}

TEST(Value, AContainerOutlivesTheHandleItWasBuiltFrom) {
  Value outer;
  {
    Value inner = Value::list({Value::str("x")});
    outer = Value::tuple({inner});
  }
  EXPECT_EQ(outer.at(0).at(0).data(), "x");
}

TEST(Value, AnItemHandleKeepsItsGraphAlive) {
  Value item;
  {
    const Value outer = Value::list({Value::dict({{Value::str("k"), Value::str("v")}})});
    item = outer.at(0);
  }
  EXPECT_EQ(item.value(0).data(), "v");
}

TEST(Value, MutationThroughOneHandleIsSeenThroughAnother) {
  Value list = Value::list();
  const Value holder = Value::tuple({list});
  list.append(Value::integer(7));
  EXPECT_EQ(holder.at(0).size(), 1U);
  holder.at(0).set_item(0, Value::integer(8));
  EXPECT_EQ(list.at(0).to_int64(), 8);
}

TEST(Value, GraphsMergedFromSeveralThreadsStayConsistent) {
  const Value shared = Value::list({Value::str("s")});
  std::vector<Value> built(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < built.size(); ++t) {
    threads.emplace_back([&, t] {
      Value mine = Value::list();
      for (int i = 0; i < 500; ++i) mine.append(Value::tuple({shared, Value::list()}));
      built[t] = mine;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& v : built) {
    ASSERT_EQ(v.size(), 500U);
    EXPECT_TRUE(v.at(499).at(0).is_same(shared));
  }
}

// ---- cycles and depth (ASan/LSan check that nothing leaks)

TEST(Value, AListCanContainItself) {
  Value list = Value::list();
  list.append(list);
  EXPECT_TRUE(list.at(0).is_same(list));
  EXPECT_EQ(mpc::repr(list), "[[...]]");
}

TEST(Value, ARecursiveTupleThroughAListCanBeBuilt) {
  Value list = Value::list();
  const Value tuple = Value::tuple({list});
  list.append(tuple);
  EXPECT_TRUE(tuple.at(0).at(0).is_same(tuple));
  EXPECT_EQ(mpc::repr(tuple), "([(...)],)");
}

TEST(Value, ADictCanContainItselfAsAValue) {
  Value dict = Value::dict();
  dict.add(Value::str("self"), dict);
  EXPECT_EQ(mpc::repr(dict), "{'self': {...}}");
}

TEST(Value, AMillionDeepNestingIsBuiltComparedPrintedAndFreedWithoutRecursion) {
  const auto build = [] {
    Value root = Value::list();
    Value current = root;
    for (int i = 0; i < 1'000'000; ++i) {
      Value next = Value::list();
      current.append(next);
      current = next;
    }
    return root;
  };
  Value a = build();
  Value b = build();
  EXPECT_TRUE(mpc::equal(a, b));
  EXPECT_EQ(mpc::repr(a, 10), "[[[[[[[[[[...");
  a = Value();  // destroyed here
  b = Value();
}

TEST(Value, TwoSeparateCyclesReferencingEachOtherAreFreed) {
  Value a = Value::list();
  Value b = Value::list();
  a.append(b);
  b.append(a);
  a.append(a);
  EXPECT_TRUE(mpc::equal(a.at(0).at(0), a));
}

// ---- equality

TEST(Equal, TypesMustMatch) {
  EXPECT_FALSE(mpc::equal(Value::boolean(true), Value::integer(1)));
  EXPECT_FALSE(mpc::equal(Value::integer(1), Value::floating(1.0)));
  EXPECT_FALSE(mpc::equal(Value::list(), Value::tuple()));
  EXPECT_FALSE(mpc::equal(Value::bytes("a"), Value::bytearray("a")));
  EXPECT_FALSE(mpc::equal(Value::set(), Value::frozenset()));
  EXPECT_FALSE(mpc::equal(Value::str("a"), Value::bytes("a")));
}

TEST(Equal, FloatsCompareAsTheSameDoubleWithNanEqualToNan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(mpc::equal(Value::floating(nan), Value::floating(-nan)));
  EXPECT_FALSE(mpc::equal(Value::floating(nan), Value::floating(nan), {.nan_equals_nan = false}));
  EXPECT_FALSE(mpc::equal(Value::floating(0.0), Value::floating(-0.0)));
  EXPECT_TRUE(mpc::equal(Value::floating(0.1), Value::floating(0.1)));
}

TEST(Equal, BigAndSmallIntegersCompareByValue) {
  EXPECT_TRUE(mpc::equal(Value::integer(5), Value::integer(BigInt(5))));
  EXPECT_TRUE(mpc::equal(Value::integer(BigInt::from_decimal("1" + std::string(50, '0'))),
                         Value::integer(BigInt::from_decimal("1" + std::string(50, '0')))));
  EXPECT_FALSE(mpc::equal(Value::integer(BigInt::from_decimal("1" + std::string(50, '0'))),
                          Value::integer(BigInt::from_decimal("-1" + std::string(50, '0')))));
}

TEST(Equal, SequencesCompareItemByItem) {
  EXPECT_TRUE(
      mpc::equal(Value::list({Value::integer(1), Value::str("a")}), Value::list({Value::integer(1), Value::str("a")})));
  EXPECT_FALSE(mpc::equal(Value::list({Value::integer(1), Value::integer(2)}),
                          Value::list({Value::integer(2), Value::integer(1)})));
  EXPECT_FALSE(mpc::equal(Value::tuple({Value::integer(1)}), Value::tuple({})));
}

TEST(Equal, SetsAndDictsCompareInAnyOrder) {
  std::vector<Value> forward;
  std::vector<Value> backward;
  std::vector<std::pair<Value, Value>> entries_forward;
  std::vector<std::pair<Value, Value>> entries_backward;
  for (int i = 0; i < 2500; ++i) {
    forward.push_back(Value::integer(i));
    backward.insert(backward.begin(), Value::integer(i));
    entries_forward.emplace_back(Value::str(std::to_string(i)), Value::integer(i));
    entries_backward.insert(entries_backward.begin(), {Value::str(std::to_string(i)), Value::integer(i)});
  }
  EXPECT_TRUE(mpc::equal(Value::set(forward), Value::set(backward)));
  EXPECT_TRUE(mpc::equal(Value::dict(entries_forward), Value::dict(entries_backward)));
  entries_backward[0].second = Value::integer(-1);
  EXPECT_FALSE(mpc::equal(Value::dict(entries_forward), Value::dict(entries_backward)));
}

TEST(Equal, NestedFrozensetsMatchOutOfOrder) {
  const auto fs = [](int a, int b) { return Value::frozenset({Value::integer(a), Value::integer(b)}); };
  EXPECT_TRUE(mpc::equal(Value::set({fs(1, 2), fs(3, 4)}), Value::set({fs(4, 3), fs(2, 1)})));
  EXPECT_FALSE(mpc::equal(Value::set({fs(1, 2), fs(3, 4)}), Value::set({fs(1, 3), fs(2, 4)})));
}

TEST(Equal, RecursiveStructuresCompareCoinductively) {
  Value a = Value::list();
  a.append(a);
  Value b = Value::list();
  b.append(b);
  EXPECT_TRUE(mpc::equal(a, b));
  Value c = Value::list();
  c.append(Value::list({c}));
  EXPECT_TRUE(mpc::equal(a, c));
  Value d = Value::list();
  d.append(Value::list());
  EXPECT_FALSE(mpc::equal(a, d));
}

TEST(Equal, SharingIsNotCompared) {
  const Value s = Value::str("abc");
  EXPECT_TRUE(mpc::equal(Value::list({s, s}), Value::list({Value::str("abc"), Value::str("abc")})));
}

// ---- repr

TEST(Repr, LooksLikePython) {
  EXPECT_EQ(mpc::repr(Value()), "None");
  EXPECT_EQ(mpc::repr(Value::boolean(false)), "False");
  EXPECT_EQ(mpc::repr(Value::str("it's")), "\"it's\"");
  EXPECT_EQ(mpc::repr(Value::str("a\nb\\")), "'a\\nb\\\\'");
  EXPECT_EQ(mpc::repr(Value::str("\xed\xa0\x80")), "'\\ud800'");
  EXPECT_EQ(mpc::repr(Value::bytes(std::string("\0a'", 3))), "b\"\\x00a'\"");
  EXPECT_EQ(mpc::repr(Value::bytearray("x")), "bytearray(b'x')");
  EXPECT_EQ(mpc::repr(Value::tuple({Value::integer(1)})), "(1,)");
  EXPECT_EQ(mpc::repr(Value::tuple()), "()");
  EXPECT_EQ(mpc::repr(Value::set()), "set()");
  EXPECT_EQ(mpc::repr(Value::frozenset()), "frozenset()");
  EXPECT_EQ(mpc::repr(Value::frozenset({Value::integer(1)})), "frozenset({1})");
  EXPECT_EQ(mpc::repr(Value::dict({{Value::integer(1), Value::list({Value::integer(2)})}})), "{1: [2]}");
  EXPECT_EQ(mpc::repr(Value::unpicklable()), "<unpicklable>");
}

TEST(Repr, FloatsPrintAsPythonReprDoes) {
  const std::vector<std::pair<double, std::string>> table = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {0.1, "0.1"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {1e-5, "1e-05"},
      {1e-4, "0.0001"},
      {1e22, "1e+22"},
      {1.5e-7, "1.5e-07"},
      {2.5, "2.5"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {12345.678, "12345.678"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
      {1e300, "1e+300"},
  };
  for (const auto& [value, text] : table) EXPECT_EQ(mpc::repr(Value::floating(value)), text) << text;
}

TEST(Repr, LongOutputIsCut) {
  std::vector<Value> items(1000, Value::integer(12345));
  const std::string text = mpc::repr(Value::list(items), 20);
  EXPECT_EQ(text.size(), 23U);
  EXPECT_EQ(text.substr(20), "...");
}

// ---- BigInt

TEST(BigInt, DecimalTextRoundTrips) {
  for (const std::string text : {"0", "1", "-1", "4294967295", "4294967296", "-18446744073709551616",
                                 "123456789012345678901234567890123456789"}) {
    EXPECT_EQ(BigInt::from_decimal(text).to_decimal(), text);
  }
  const std::string thousand = "9" + std::string(999, '7');
  EXPECT_EQ(BigInt::from_decimal(thousand).to_decimal(), thousand);
  EXPECT_EQ(BigInt::from_decimal(" +1_000 ").to_decimal(), "1000");
}

TEST(BigInt, BadDecimalTextThrowsValueError) {
  for (const std::string text : {"", "-", "1x", "1__0", "_1", "1_", "0x10"}) {
    EXPECT_THROW((void)BigInt::from_decimal(text), mpc::ValueError) << text;
  }
}

TEST(BigInt, TwosComplementMatchesPythonsEncodeLong) {
  // pickle.encode_long(n).hex() for each n
  const std::vector<std::pair<std::string, std::string>> table = {
      {"0", ""},
      {"1", "01"},
      {"-1", "ff"},
      {"127", "7f"},
      {"128", "8000"},
      {"-128", "80"},
      {"-129", "7fff"},
      {"255", "ff00"},
      {"-256", "00ff"},
      {"32767", "ff7f"},
      {"-32768", "0080"},
      {"2147483648", "0000008000"},
      {"-2147483649", "ffffff7fff"},
      {"9223372036854775808", "000000000000008000"},
      {"-9223372036854775808", "0000000000000080"},
      {"18446744073709551616", "000000000000000001"},
      {"-18446744073709551616", "0000000000000000ff"},
  };
  for (const auto& [decimal, encoded] : table) {
    const BigInt value = BigInt::from_decimal(decimal);
    EXPECT_EQ(mpc_test::hex_of(value.to_signed_le()), encoded) << decimal;
    EXPECT_EQ(BigInt::from_signed_le(value.to_signed_le()), value) << decimal;
  }
}

TEST(BigInt, SignedBytesRoundTripForEveryValueNearPowersOfTwo) {
  for (int bits = 0; bits < 130; ++bits) {
    BigInt power = BigInt::from_decimal("1");
    std::string text = "1";
    // 2^bits via decimal doubling
    for (int i = 0; i < bits; ++i) {
      std::string doubled;
      int carry = 0;
      for (auto it = text.rbegin(); it != text.rend(); ++it) {
        const int d = (*it - '0') * 2 + carry;
        doubled.insert(doubled.begin(), static_cast<char>('0' + d % 10));
        carry = d / 10;
      }
      if (carry) doubled.insert(doubled.begin(), '1');
      text = doubled;
    }
    for (const std::string& candidate : {text, "-" + text}) {
      const BigInt value = BigInt::from_decimal(candidate);
      EXPECT_EQ(BigInt::from_signed_le(value.to_signed_le()), value) << candidate;
      EXPECT_EQ(value.to_decimal(), candidate);
    }
  }
}

TEST(BigInt, Int64ConversionIsExactAtTheLimits) {
  EXPECT_EQ(BigInt(std::numeric_limits<std::int64_t>::min()).to_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(BigInt(std::numeric_limits<std::int64_t>::max()).to_decimal(), "9223372036854775807");
  EXPECT_EQ(BigInt::from_decimal("9223372036854775808").to_int64(), std::nullopt);
  EXPECT_EQ(BigInt::from_decimal("-9223372036854775809").to_int64(), std::nullopt);
}

TEST(BigInt, IntegralDoublesConvertExactly) {
  EXPECT_EQ(BigInt::from_double(1e20).to_decimal(), "100000000000000000000");
  EXPECT_EQ(BigInt::from_double(-0.0).to_decimal(), "0");
  EXPECT_EQ(BigInt::from_double(9007199254740993.0).to_decimal(), "9007199254740992");
  EXPECT_EQ(BigInt::from_double(1.7976931348623157e308).to_decimal().size(), 309U);
  EXPECT_THROW((void)BigInt::from_double(0.5), mpc::ValueError);
  EXPECT_THROW((void)BigInt::from_double(std::numeric_limits<double>::infinity()), mpc::ValueError);
}

TEST(BigInt, OrderingFollowsValue) {
  EXPECT_LT(BigInt(-5), BigInt(-4));
  EXPECT_LT(BigInt(-1), BigInt(0));
  EXPECT_LT(BigInt::from_decimal("18446744073709551616"), BigInt::from_decimal("18446744073709551617"));
  EXPECT_GT(BigInt::from_decimal("-18446744073709551616"), BigInt::from_decimal("-18446744073709551617"));
}

// ---- errors

TEST(Errors, EachTypeKnowsItsPythonNameAndBases) {
  EXPECT_EQ(mpc::ValueError("x").python_type(), "ValueError");
  EXPECT_EQ(mpc::ValueError("x").python_bases(), std::vector<std::string_view>{"Exception"});
  EXPECT_EQ(mpc::BrokenPipeError("x").python_bases(),
            (std::vector<std::string_view>{"ConnectionError", "OSError", "Exception"}));
  EXPECT_EQ(mpc::QueueEmpty("").python_type(), "queue.Empty");
  EXPECT_EQ(mpc::AuthenticationError("").python_bases(),
            (std::vector<std::string_view>{"multiprocessing.ProcessError", "Exception"}));
  EXPECT_EQ(mpc::UnpicklingError("").python_bases(),
            (std::vector<std::string_view>{"pickle.PickleError", "Exception"}));
  EXPECT_EQ(mpc::Error("").python_bases(), std::vector<std::string_view>{});
}

TEST(Errors, OSErrorCarriesErrno) {
  const mpc::BrokenPipeError e("broken", 32);
  EXPECT_EQ(e.error_number(), 32);
  EXPECT_STREQ(e.what(), "broken");
  const mpc::OSError& base = e;
  EXPECT_EQ(base.python_type(), "BrokenPipeError");
}

}  // namespace
