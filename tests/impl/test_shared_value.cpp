// mpc::SharedValue / SharedArray: CPython's Value/Array/RawValue/RawArray typecodes, sizes,
// conversions and locks, shared with fork()ed processes.
#include <dirent.h>
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpc/bigint.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/shared_value.hpp"
#include "mpc/sync.hpp"
#include "support.hpp"

using mpc::SharedArray;
using mpc::SharedValue;
using mpc::Value;

namespace {

using mpc_test::message_of;

Value big(const char* decimal) { return Value::integer(mpc::BigInt::from_decimal(decimal)); }
Value i64(std::int64_t v) { return Value::integer(v); }
std::string text(const Value& v) { return mpc::repr(v); }

template <class F>
int run_child(F&& f) {
  mpc::Process p(std::forward<F>(f));
  p.start();
  p.join();
  return p.exitcode().value_or(-1000);
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

TEST(SharedValue, TypecodesAndSizesAreCPythonsOnLinuxX8664) {
  const std::string expected = "c1 u4 b1 B1 h2 H2 i4 I4 l8 L8 q8 Q8 f4 d8";
  std::string got;
  for (const mpc::CType& t : mpc::ctypes()) {
    if (!got.empty()) got += ' ';
    got += t.typecode + std::to_string(t.size);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(mpc::ctype_of('i').name, "c_int");
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('x'); }), "this type has no size");
}

TEST(SharedValue, ZeroByDefault) {
  EXPECT_EQ(text(SharedValue('c').value()), "b'\\x00'");
  EXPECT_EQ(text(SharedValue('u').value()), "'\\x00'");
  EXPECT_EQ(text(SharedValue('i').value()), "0");
  EXPECT_EQ(text(SharedValue('d').value()), "0.0");
  EXPECT_EQ(text(SharedValue::raw('Q').value()), "0");
}

TEST(SharedValue, IntegersWrapSilentlyAsCtypes) {
  EXPECT_EQ(text(SharedValue('i', i64(std::int64_t{1} << 40)).value()), "0");
  EXPECT_EQ(text(SharedValue('b', i64(300)).value()), "44");
  EXPECT_EQ(text(SharedValue('B', i64(-1)).value()), "255");
  EXPECT_EQ(text(SharedValue('h', i64(65536 + 5)).value()), "5");
  EXPECT_EQ(text(SharedValue('I', i64(-1)).value()), "4294967295");
  EXPECT_EQ(text(SharedValue('Q', i64(-1)).value()), "18446744073709551615");
  EXPECT_EQ(text(SharedValue('L', i64(-2)).value()), "18446744073709551614");
  EXPECT_EQ(text(SharedValue('q', big("1180591620717411303424")).value()), "0");  // 2**70
  EXPECT_EQ(text(SharedValue('l', big("-9223372036854775809")).value()), "9223372036854775807");
  EXPECT_EQ(text(SharedValue('i', big("18446744073709551619")).value()), "3");  // 2**64 + 3
  EXPECT_EQ(text(SharedValue('i', Value::boolean(true)).value()), "1");
  EXPECT_EQ(text(SharedValue('q', i64(std::int64_t{1} << 33)).value()), "8589934592");
}

TEST(SharedValue, ConversionErrorsAreCtypes) {
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('i', Value::floating(1.5)); }),
            "'float' object cannot be interpreted as an integer");
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('i', Value::str("x")); }),
            "'str' object cannot be interpreted as an integer");
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('i', Value::none()); }),
            "'NoneType' object cannot be interpreted as an integer");
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('d', Value::str("x")); }),
            "must be real number, not str");
  EXPECT_EQ(message_of<mpc::OverflowError>(
                [] { (void)SharedValue('d', Value::integer(mpc::BigInt::from_decimal(std::string(400, '9')))); }),
            "int too large to convert to float");
  const std::string one_char = "one character bytes, bytearray or integer expected";
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('c', i64(300)); }), one_char);
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('c', Value::bytes("ab")); }), one_char);
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('c', Value::str("x")); }), one_char);
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('u', Value::str("ab")); }),
            "one character unicode string expected");
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('u', i64(5)); }),
            "unicode string expected instead of int instance");
  SharedValue v('i', i64(7));
  EXPECT_THROW(v.set_value(Value::floating(2.0)), mpc::TypeError);
  EXPECT_EQ(text(v.value()), "7");  // unchanged
}

TEST(SharedValue, CharsFloatsAndWideChars) {
  EXPECT_EQ(text(SharedValue('c', i64(65)).value()), "b'A'");
  EXPECT_EQ(text(SharedValue('c', Value::bytes("x")).value()), "b'x'");
  EXPECT_EQ(text(SharedValue('c', Value::bytearray("y")).value()), "b'y'");
  EXPECT_EQ(text(SharedValue('u', Value::str("x")).value()), "'x'");
  EXPECT_EQ(SharedValue('u', Value::str("\xe2\x82\xac")).value().data(), "\xe2\x82\xac");  // U+20AC
  EXPECT_EQ(SharedValue('u', Value::str("\xf0\x9f\x98\x80")).value().data(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(text(SharedValue('f', Value::floating(0.1)).value()), "0.10000000149011612");
  EXPECT_EQ(text(SharedValue('f', Value::floating(1e300)).value()), "inf");
  EXPECT_EQ(text(SharedValue('d', i64(3)).value()), "3.0");
  EXPECT_EQ(text(SharedValue('d', Value::floating(3.625)).value()), "3.625");
  EXPECT_EQ(text(SharedValue('h', i64(-232)).value()), "-232");
}

TEST(SharedValue, LockArgument) {
  SharedValue v('i', i64(5));
  ASSERT_TRUE(v.synchronized());
  EXPECT_TRUE(v.get_lock().is_rlock());  // lock=True: a new RLock
  EXPECT_TRUE(v.get_lock().is_same(v.get_lock()));
  EXPECT_EQ(v.repr(), "<Synchronized wrapper for c_int(5)>");
  mpc::Lock mine;
  SharedValue given('i', i64(1), mine);
  EXPECT_FALSE(given.get_lock().is_rlock());
  EXPECT_TRUE(given.get_lock().lock()->is_same(mine));
  mpc::RLock rmine;
  SharedValue given_r('i', i64(1), rmine);
  EXPECT_TRUE(given_r.get_lock().rlock()->is_same(rmine));
  SharedValue raw('i', i64(3), false);
  EXPECT_FALSE(raw.synchronized());
  EXPECT_EQ(raw.repr(), "c_int(3)");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)raw.get_lock(); }),
            "'c_int' object has no attribute 'get_lock'");
  EXPECT_THROW((void)SharedValue::raw('d').get_lock(), mpc::AttributeError);
  // A given lock really guards the value's accesses: held elsewhere, value() waits for it.
  mine.acquire();
  EXPECT_EQ(run_child([&] { return given.get_lock().acquire(true, 0.05) ? 1 : 0; }), 0);
  mine.release();
}

TEST(SharedValue, AChildsAssignmentsAreSeenByTheParent) {
  SharedValue i('i', i64(4343)), d('d', Value::floating(3.625)), h('h', i64(-232)), q('q', i64(std::int64_t{1} << 33)),
      c('c', Value::bytes("x"));
  auto ri = SharedValue::raw('i', i64(1));
  EXPECT_EQ(run_child([&] {
              i.set_value(i64(24234));
              d.set_value(Value::floating(-4.25));
              h.set_value(i64(234));
              q.set_value(i64(std::int64_t{1} << 34));
              c.set_value(Value::bytes("y"));
              ri.set_value(i64(2));
            }),
            0);
  EXPECT_EQ(text(i.value()), "24234");
  EXPECT_EQ(text(d.value()), "-4.25");
  EXPECT_EQ(text(h.value()), "234");
  EXPECT_EQ(text(q.value()), "17179869184");
  EXPECT_EQ(text(c.value()), "b'y'");
  EXPECT_EQ(text(ri.value()), "2");
}

TEST(SharedValue, IncrementsUnderGetLockAreExactAcrossProcesses) {
  SharedValue v('i', i64(0));
  constexpr int kPer = 5000, kChildren = 3;
  auto work = [&] {
    for (int k = 0; k < kPer; ++k) {
      mpc::LockGuard g(v.get_lock());
      v.set_value(i64(*v.value().to_int64() + 1));  // the RLock is re-entered by each access
    }
  };
  std::vector<mpc::Process> ps;
  for (int n = 0; n < kChildren; ++n) ps.emplace_back(work);
  for (auto& p : ps) p.start();
  work();
  for (auto& p : ps) {
    p.join(60);
    EXPECT_EQ(p.exitcode(), 0);
  }
  EXPECT_EQ(v.value().to_int64(), (kChildren + 1) * kPer);
}

TEST(SharedArray, SizeFormIsZeroedAndSequenceFormConverts) {
  for (int round = 0; round < 3; ++round) {
    SharedArray a('i', 10);
    EXPECT_EQ(a.size(), 10u);
    for (std::int64_t k = 0; k < 10; ++k) EXPECT_EQ(text(a.at(k)), "0");
  }
  SharedArray d('d', std::vector<Value>{i64(1), Value::floating(2.5)});
  EXPECT_EQ(text(Value::list(d.slice())), "[1.0, 2.5]");
  EXPECT_EQ(SharedArray('i', 0).size(), 0u);
  EXPECT_EQ(message_of<mpc::ValueError>([] { SharedArray bad('i', -1); }), "Array length must be >= 0, not -1");
  EXPECT_EQ(message_of<mpc::TypeError>([] {
              SharedArray bad('i', std::vector<Value>{i64(1), Value::str("a")});
            }),
            "'str' object cannot be interpreted as an integer");
  EXPECT_EQ(text(SharedArray('i', std::vector<Value>{big("1099511627776")}).at(0)), "0");  // [2**40] -> [0]
}

TEST(SharedArray, IndexingAndSlicesArePythons) {
  std::vector<Value> seq;
  for (int k = 0; k < 10; ++k) seq.push_back(i64(k * 11));
  SharedArray a('i', seq);
  EXPECT_EQ(text(a.at(3)), "33");
  EXPECT_EQ(text(a.at(-1)), "99");
  EXPECT_EQ(message_of<mpc::IndexError>([&] { (void)a.at(10); }), "invalid index");
  EXPECT_EQ(message_of<mpc::IndexError>([&] { (void)a.at(-11); }), "invalid index");
  EXPECT_THROW(a.set(10, i64(1)), mpc::IndexError);
  EXPECT_EQ(text(Value::list(a.slice(2, 7))), "[22, 33, 44, 55, 66]");
  EXPECT_EQ(text(Value::list(a.slice(8, 100))), "[88, 99]");
  EXPECT_EQ(text(Value::list(a.slice(-2, std::nullopt))), "[88, 99]");
  EXPECT_EQ(text(Value::list(a.slice(7, 2))), "[]");
  a.set_slice(4, 8, {i64(1), i64(2), i64(3), i64(4)});
  EXPECT_EQ(text(Value::list(a.slice())), "[0, 11, 22, 33, 1, 2, 3, 4, 88, 99]");
  EXPECT_EQ(message_of<mpc::ValueError>([&] {
              a.set_slice(0, 2, {i64(1), i64(2), i64(3)});
            }),
            "Can only assign sequence of same size");
  a.set(-1, i64(-5));
  EXPECT_EQ(text(a.at(9)), "-5");
}

TEST(SharedArray, CharArraysHaveValueAndRaw) {
  SharedArray c('c', 5);
  c.set_value("ab");
  EXPECT_EQ(c.value(), "ab");
  EXPECT_EQ(c.raw_bytes(), std::string("ab\0\0\0", 5));
  EXPECT_EQ(message_of<mpc::ValueError>([&] { c.set_value("abcdef"); }), "byte string too long");
  c.set_raw("xy");
  EXPECT_EQ(c.raw_bytes(), std::string("xy\0\0\0", 5));
  EXPECT_EQ(message_of<mpc::ValueError>([&] { c.set_raw("abcdef"); }), "byte string too long");
  c.set_value("hello");  // exactly full: no NUL
  EXPECT_EQ(c.value(), "hello");
  c.set_raw(std::string_view("he\0lo", 5));
  EXPECT_EQ(c.value(), "he");
  EXPECT_EQ(text(c.at(0)), "b'h'");
  SharedArray from_items('c', std::vector<Value>{Value::bytes("a"), i64(66)});
  EXPECT_EQ(from_items.raw_bytes(), "aB");
  SharedArray ints('i', 3);
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)ints.value(); }),
            "'SynchronizedArray' object has no attribute 'value'");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)ints.get_obj().raw_bytes(); }),
            "'c_int_Array_3' object has no attribute 'raw'");
  // S01/S02: a child doubles the string; the parent sees it.
  SharedArray s('c', 20);
  s.set_value("hello");
  EXPECT_EQ(run_child([&] { s.set_value(s.value() + s.value()); }), 0);
  EXPECT_EQ(s.value(), "hellohello");
}

TEST(SharedArray, RawWideCharArraysHaveValueButNoRaw) {
  SharedArray w = SharedArray::raw('u', std::vector<Value>{Value::str("a"), Value::str("b"), Value::str("c")});
  EXPECT_EQ(w.value(), "abc");
  w.set_value("z");  // shorter: a NUL after it, the rest kept
  EXPECT_EQ(w.value(), "z");
  EXPECT_EQ(text(w.at(2)), "'c'");
  w.set_value("x\u00e9\U0001F600");  // exactly full, code points beyond one UTF-8 byte
  EXPECT_EQ(w.value(), "x\u00e9\U0001F600");
  EXPECT_EQ(message_of<mpc::ValueError>([&] { w.set_value("wxyz"); }), "string too long");
  EXPECT_EQ(w.value(), "x\u00e9\U0001F600");
  w.set_value("");
  EXPECT_EQ(w.value(), "");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)w.raw_bytes(); }),
            "'c_wchar_Array_3' object has no attribute 'raw'");
  SharedArray unlocked('u', 2, false);  // lock=False is the raw array
  EXPECT_EQ(unlocked.value(), "");
  SharedArray synchronized('u', 3);
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)synchronized.value(); }),
            "'SynchronizedArray' object has no attribute 'value'");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { synchronized.set_value("a"); }),
            "'SynchronizedArray' object has no attribute 'value'");
  EXPECT_EQ(synchronized.get_obj().value(), "");  // its raw array has one
}

TEST(SharedArray, AChildsPrefixSumIsSeenAndLocksAreThoseGiven) {
  std::vector<Value> seq;
  for (int k = 0; k < 10; ++k) seq.push_back(i64(k));
  SharedArray a('i', seq);
  auto raw = SharedArray::raw('i', seq);
  EXPECT_EQ(run_child([&] {
              for (std::int64_t k = 1; k < 10; ++k) {
                a.set(k, i64(*a.at(k).to_int64() + *a.at(k - 1).to_int64()));
                raw.set(k, i64(*raw.at(k).to_int64() + *raw.at(k - 1).to_int64()));
              }
            }),
            0);
  EXPECT_EQ(text(Value::list(a.slice())), "[0, 1, 3, 6, 10, 15, 21, 28, 36, 45]");
  EXPECT_EQ(text(Value::list(raw.slice())), "[0, 1, 3, 6, 10, 15, 21, 28, 36, 45]");
  EXPECT_TRUE(a.get_lock().is_rlock());
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)raw.get_lock(); }),
            "'c_int_Array_10' object has no attribute 'get_lock'");
  mpc::Lock l;
  SharedArray locked('i', 3, l);
  EXPECT_TRUE(locked.get_lock().lock()->is_same(l));
}

TEST(SharedValue, GetObjIsTheSameMemoryWithoutALock) {
  SharedValue v('i', i64(5));
  SharedValue raw = v.get_obj();
  EXPECT_FALSE(raw.synchronized());
  EXPECT_TRUE(raw.is_same(v));
  raw.set_value(i64(7));
  EXPECT_EQ(text(v.value()), "7");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)raw.get_obj(); }), "'c_int' object has no attribute 'get_obj'");
  SharedArray a('d', 3);
  SharedArray raw_a = a.get_obj();
  EXPECT_FALSE(raw_a.synchronized());
  raw_a.set(2, Value::floating(0.5));
  EXPECT_EQ(text(a.at(2)), "0.5");
  EXPECT_EQ(message_of<mpc::AttributeError>([&] { (void)raw_a.get_obj(); }),
            "'c_double_Array_3' object has no attribute 'get_obj'");
}

TEST(SharedValue, CopyIsANewRawObjectWithTheSameContents) {
  auto r = SharedValue::raw('q', big("8589934592"));
  SharedValue c = r.copy();
  EXPECT_FALSE(c.is_same(r));
  EXPECT_FALSE(c.synchronized());
  r.set_value(i64(0));
  EXPECT_EQ(text(c.value()), "8589934592");
  auto a = SharedArray::raw('d', std::vector<Value>{Value::floating(2.0), Value::floating(5.0)});
  SharedArray ca = a.copy();
  a.set(0, Value::floating(0.0));
  EXPECT_EQ(text(Value::list(ca.slice())), "[2.0, 5.0]");
  SharedValue v('i', i64(1));
  EXPECT_EQ(message_of<mpc::TypeError>([&] { (void)v.copy(); }), "this type has no size");
  EXPECT_EQ(text(v.get_obj().copy().value()), "1");
  SharedArray s('i', 2);
  EXPECT_EQ(message_of<mpc::TypeError>([&] { (void)s.copy(); }), "this type has no size");
}

TEST(SharedValue, LeavesNothingInDevShm) {
  const auto before = dev_shm_entries();
  {
    std::vector<SharedValue> values;
    for (const mpc::CType& t : mpc::ctypes()) values.emplace_back(t.typecode);
    SharedArray a('d', 1000);
    EXPECT_EQ(run_child([&] { a.set(999, Value::floating(1.0)); }), 0);
    EXPECT_EQ(text(a.at(999)), "1.0");
  }
  EXPECT_EQ(dev_shm_entries(), before);
}

TEST(SharedValue, CTypesByNameAreTheTypecodesTypesWithCTypesAliases) {
  EXPECT_EQ(mpc::ctype_named("c_int"), &mpc::ctype_of('i'));
  EXPECT_EQ(mpc::ctype_named("c_double"), &mpc::ctype_of('d'));
  EXPECT_EQ(mpc::ctype_named("c_wchar"), &mpc::ctype_of('u'));
  EXPECT_EQ(mpc::ctype_named("c_int8"), &mpc::ctype_of('b'));
  EXPECT_EQ(mpc::ctype_named("c_uint16"), &mpc::ctype_of('H'));
  EXPECT_EQ(mpc::ctype_named("c_size_t"), &mpc::ctype_of('L'));
  // ctypes makes c_longlong c_long where both are 8 bytes: its name, in reprs and errors, too.
  EXPECT_EQ(mpc::ctype_named("c_longlong")->name, "c_long");
  EXPECT_EQ(mpc::ctype_named("c_ulonglong")->name, "c_ulong");
  const mpc::CType* b = mpc::ctype_named("c_bool");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "c_bool");
  EXPECT_EQ(b->size, 1u);
  EXPECT_EQ(b->kind, mpc::CType::Kind::boolean);
  for (const mpc::CType& t : mpc::ctypes()) EXPECT_NE(&t, b);  // no typecode names it
  EXPECT_EQ(message_of<mpc::TypeError>([] { (void)SharedValue('?'); }), "this type has no size");
  EXPECT_EQ(mpc::ctype_named("c_void_p"), nullptr);
  EXPECT_EQ(mpc::ctype_named("c_longdouble"), nullptr);
  EXPECT_EQ(mpc::ctype_named("int"), nullptr);
  const mpc::CType foreign = {'i', "c_int", 4, mpc::CType::Kind::signed_int};
  EXPECT_THROW((void)SharedValue(foreign), std::invalid_argument);
  EXPECT_THROW((void)SharedArray(foreign, 3), std::invalid_argument);
}

TEST(SharedValue, ACTypeGivenByNameConvertsAsItsTypecode) {
  const mpc::CType& c_int = *mpc::ctype_named("c_int");
  EXPECT_EQ(text(SharedValue(c_int, i64(5)).value()), "5");
  EXPECT_EQ(text(SharedValue(c_int, big("1099511627776")).value()), "0");  // 2**40 wraps
  EXPECT_EQ(message_of<mpc::TypeError>([&] { (void)SharedValue(c_int, Value::floating(1.5)); }),
            "'float' object cannot be interpreted as an integer");
  EXPECT_EQ(text(SharedValue(*mpc::ctype_named("c_uint"), i64(-1)).value()), "4294967295");
  EXPECT_EQ(text(SharedValue(*mpc::ctype_named("c_ulonglong"), i64(-1)).value()), "18446744073709551615");
  EXPECT_EQ(text(SharedValue(*mpc::ctype_named("c_longlong"), big("9223372036854775808")).value()),
            "-9223372036854775808");
  EXPECT_EQ(text(SharedValue(*mpc::ctype_named("c_double"), i64(3)).value()), "3.0");
  EXPECT_EQ(SharedValue(*mpc::ctype_named("c_longlong"), i64(5)).repr(), "<Synchronized wrapper for c_long(5)>");
  EXPECT_EQ(SharedValue::raw('Q', i64(5)).repr(), "c_ulong(5)");
  EXPECT_EQ(message_of<mpc::AttributeError>([] { (void)SharedValue::raw(*mpc::ctype_named("c_longlong")).get_lock(); }),
            "'c_long' object has no attribute 'get_lock'");
  const SharedArray d(*mpc::ctype_named("c_double"), 3);
  EXPECT_EQ(text(Value::list(d.slice())), "[0.0, 0.0, 0.0]");
  SharedArray c =
      SharedArray::raw(*mpc::ctype_named("c_char"), {Value::bytes("a"), Value::bytes("b"), i64(0), i64(99)});
  EXPECT_EQ(c.value(), "ab");
  EXPECT_EQ(c.raw_bytes(), std::string("ab\0c", 4));
}

TEST(SharedValue, CBoolTakesAnyValueByItsTruthAndReadsBool) {
  const mpc::CType& c_bool = *mpc::ctype_named("c_bool");
  EXPECT_EQ(text(SharedValue(c_bool).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::boolean(true)).value()), "True");
  EXPECT_EQ(text(SharedValue(c_bool, i64(256)).value()), "True");  // truth, not the low byte
  EXPECT_EQ(text(SharedValue(c_bool, big("1180591620717411303424")).value()), "True");
  EXPECT_EQ(text(SharedValue(c_bool, i64(0)).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::floating(0.5)).value()), "True");
  EXPECT_EQ(text(SharedValue(c_bool, Value::floating(0.0)).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::str("")).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::str("a")).value()), "True");
  EXPECT_EQ(text(SharedValue(c_bool, Value::none()).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::list()).value()), "False");
  EXPECT_EQ(text(SharedValue(c_bool, Value::list({i64(1)})).value()), "True");
  SharedValue v(c_bool);
  v.set_value(i64(7));
  EXPECT_EQ(text(v.value()), "True");
  EXPECT_EQ(v.repr(), "<Synchronized wrapper for c_bool(True)>");
  EXPECT_EQ(SharedValue::raw(c_bool, i64(1)).repr(), "c_bool(True)");
  SharedArray a(c_bool, {i64(1), i64(0), i64(2)});
  EXPECT_EQ(text(Value::list(a.slice())), "[True, False, True]");
  a.set(1, Value::str("x"));
  EXPECT_EQ(text(a.at(1)), "True");
  EXPECT_EQ(message_of<mpc::AttributeError>([] { (void)SharedArray::raw(*mpc::ctype_named("c_bool"), 2).get_lock(); }),
            "'c_bool_Array_2' object has no attribute 'get_lock'");
  // Shared with a child as any other type.
  SharedValue shared(c_bool, Value::boolean(false));
  EXPECT_EQ(run_child([&] { shared.set_value(Value::boolean(true)); }), 0);
  EXPECT_EQ(text(shared.value()), "True");
}
