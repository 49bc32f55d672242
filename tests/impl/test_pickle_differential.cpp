// Differential test of the pickle codec against every CPython 3.8-3.13 found on this machine.
//
// The same named object graphs are built here and by a Python script (kCasesPy, below; the
// names must match). For each interpreter and protocol 0-5:
//  - CPython's bytes decode here to an equal value, re-encode here to the identical bytes, and
//    (where member order is known) our own graph encodes to CPython's bytes directly;
//  - our bytes load in that CPython to an equal value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "mpc/pickle.hpp"

namespace {

namespace fs = std::filesystem;
using mpc::BigInt;
using mpc::Value;

// ---- the cases, Python side

constexpr const char* kCasesPy = R"PY(
import math

# One-character strs are built with chr(): CPython 3.11/3.12 keep 1-char literals apart from
# the latin-1 singletons that chr() and decoding return, and the C++ model always shares them.
def rec_list():
    l = []; l.append(l); return l
def rec_dict():
    d = {}; d['self'] = d; return d
def rec_tuple():
    l = []; t = (l,); l.append(t); return t
def rec_tuple4():
    l = []; t = (l, 1, 2, 3); l.append(t); return t
def rec_list_via_tuple():
    l = []; l.append((l,)); return l
def rec_chain():
    root = []; cur = root
    for _ in range(50):
        n = []; cur.append((n, cur)); cur = n
    return root
def shared_str():
    s = 'shared string'; return [s, s, (s, s)]
def shared_list():
    l = [1]; return [l, l, (l, l), {chr(107): l}]
def shared_bytes():
    b = b'shared bytes'; return [b, b]
def shared_bytearray():
    b = bytearray(b'xy'); return [b, b]
def shared_tuple():
    t = (1, 2); return [t, t]
def shared_frozenset():
    f = frozenset({1}); return [f, f]
def shared_set():
    s = {1, 2}; return [s, s]
def many_memo():
    strs = ['m%d' % i for i in range(300)]; return strs + strs

CASES = {
    'int_0': lambda: 0, 'int_1': lambda: 1, 'int_m1': lambda: -1, 'int_255': lambda: 255,
    'int_256': lambda: 256, 'int_65535': lambda: 65535, 'int_65536': lambda: 65536,
    'int_m65536': lambda: -65536, 'int_2p31m1': lambda: 2**31 - 1, 'int_2p31': lambda: 2**31,
    'int_m2p31': lambda: -2**31, 'int_m2p31m1': lambda: -2**31 - 1, 'int_2p63m1': lambda: 2**63 - 1,
    'int_2p63': lambda: 2**63, 'int_m2p63': lambda: -2**63, 'int_2p64': lambda: 2**64,
    'int_m2p64': lambda: -2**64, 'int_huge': lambda: 10**1000 + 12345,
    'int_huge_neg': lambda: -(7 * 10**999 + 3), 'int_long4': lambda: 2**2100,
    'int_4300_digits': lambda: 10**4300 - 1, 'int_4301_digits': lambda: 10**4300,
    'float_0': lambda: 0.0, 'float_m0': lambda: -0.0, 'float_01': lambda: 0.1,
    'float_1e300': lambda: 1e300, 'float_1e16': lambda: 1e16, 'float_1em5': lambda: 1e-05,
    'float_1e22': lambda: 1e22, 'float_tiny': lambda: 5e-324,
    'float_max': lambda: 1.7976931348623157e308, 'float_inf': lambda: math.inf,
    'float_minf': lambda: -math.inf, 'float_nan': lambda: math.nan,
    'float_mixed': lambda: [1.5, -2.25, 123456789.123, 1e-07, 0.0001],
    'none': lambda: None, 'true': lambda: True, 'false': lambda: False,
    'bools_list': lambda: [True, False, None],
    'str_empty': lambda: str(), 'str_a': lambda: chr(97), 'str_latin1': lambda: chr(0xe9),
    'str_euro': lambda: '\u20ac', 'str_astral': lambda: '\U0001f600',
    'str_surrogate': lambda: '\ud800', 'str_low_surrogate': lambda: '\udfff',
    'str_split_pair': lambda: '\ud83d\ude00', 'str_specials': lambda: 'a\\b\x00c\nd\re\x1af',
    'str_mixed': lambda: 'h\xe9llo w\xf6rld \u20ac \U0001f600 \x7f\x80\xff',
    'str_255': lambda: 'x' * 255, 'str_256': lambda: 'y' * 256, 'str_65536': lambda: 'z' * 65536,
    'str_70000': lambda: 'w' * 70000, 'str_euro_90000': lambda: '\u20ac' * 30000,
    'bytes_empty': lambda: b'', 'bytes_one': lambda: bytes([97]), 'bytes_two': lambda: b'ab',
    'bytes_all': lambda: bytes(range(256)), 'bytes_255': lambda: b'x' * 255,
    'bytes_256': lambda: b'y' * 256, 'bytes_65535': lambda: b'z' * 65535,
    'bytes_65536': lambda: b'v' * 65536, 'bytes_70000': lambda: b'u' * 70000,
    'ba_empty': lambda: bytearray(), 'ba_one': lambda: bytearray(b'a'), 'ba_two': lambda: bytearray(b'ab'),
    'ba_300': lambda: bytearray(b'q' * 300), 'ba_70000': lambda: bytearray(b'r' * 70000),
    'ba_latin1': lambda: bytearray(b'\xe9'),
    'list_empty': lambda: [], 'tuple_empty': lambda: (), 'dict_empty': lambda: {},
    'set_empty': lambda: set(), 'frozenset_empty': lambda: frozenset(),
    'list_one': lambda: [1], 'tuple_1': lambda: (1,), 'tuple_2': lambda: (1, 2),
    'tuple_3': lambda: (1, 2, 3), 'tuple_4': lambda: (1, 2, 3, 4), 'dict_one': lambda: {1: 2},
    'set_one': lambda: {1}, 'frozenset_one': lambda: frozenset({1}),
    'list_1000': lambda: list(range(1000)), 'list_1001': lambda: list(range(1001)),
    'list_2500': lambda: list(range(2500)),
    'dict_1000': lambda: {i: -i for i in range(1000)}, 'dict_1001': lambda: {i: -i for i in range(1001)},
    'dict_2500': lambda: {i: -i for i in range(2500)},
    'set_1000': lambda: set(range(1000)), 'set_1001': lambda: set(range(1001)),
    'set_2500': lambda: set(range(2500)), 'frozenset_1000': lambda: frozenset(range(1000)),
    'frozenset_2500': lambda: frozenset(range(2500)),
    'nested': lambda: [[1, [2, [3, []]]], (1, [2], {3: 4}), {chr(107): (5, 6)}],
    'dict_str_keys': lambda: {'alpha': 1, 'beta': [2], 'gamma': {'delta': None}},
    'dict_tuple_keys': lambda: {(1, 2): chr(120), (3,): chr(121)},
    'set_of_frozensets': lambda: {frozenset({1, 2}), frozenset({3})},
    'set_of_strs': lambda: {'s%d' % i for i in range(50)},
    'frozenset_mixed': lambda: frozenset({1, 'two', (3,)}),
    'shared_str': shared_str, 'shared_list': shared_list, 'shared_bytes': shared_bytes,
    'shared_bytearray': shared_bytearray, 'shared_tuple': shared_tuple,
    'shared_frozenset': shared_frozenset, 'shared_set': shared_set, 'many_memo': many_memo,
    'bytes_pair': lambda: [b'ab', b'cd'], 'bytes_and_char': lambda: [bytes([97]), chr(97)],
    'bytearray_and_char': lambda: [bytearray(b'\xe9'), chr(0xe9)],
    'bytearray_and_bytes': lambda: [bytearray(b'a'), bytes([97])],
    'rec_list': rec_list, 'rec_dict': rec_dict, 'rec_tuple': rec_tuple, 'rec_tuple4': rec_tuple4,
    'rec_list_via_tuple': rec_list_via_tuple, 'rec_chain': rec_chain,
    'many_strs': lambda: [('s%05d' % i) * 5 for i in range(3000)],
    'big_and_small': lambda: [b'x' * 100, b'y' * 70000, 'z' * 100, 'w' * 70000, [1, 2, 3]],
    'frame_edge': lambda: [bytes([i % 256]) * 1000 for i in range(70)],
    'list_of_lists': lambda: [[i, str(i)] for i in range(5000)],
}
)PY";

constexpr const char* kGeneratePy = R"PY(
import os, pickle, sys
exec(open(sys.argv[1]).read())
out = sys.argv[2]
for name, build in CASES.items():
    for proto in range(6):
        path = os.path.join(out, '%s.%d' % (name, proto))
        try:
            data = pickle.dumps(build(), proto)
        except ValueError as e:
            open(path + '.err', 'w').write(str(e))
        else:
            open(path + '.pkl', 'wb').write(data)
)PY";

constexpr const char* kCheckPy = R"PY(
import math, os, pickle, sys
exec(open(sys.argv[1]).read())
src = sys.argv[2]

def same(a, b, seen):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple, dict)):
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
        if len(a) != len(b):
            return False
        if isinstance(a, dict):
            return all(k in b and same(a[k], b[k], seen) for k in a)
        return all(same(x, y, seen) for x, y in zip(a, b))
    return a == b

checked = 0
for file in sorted(os.listdir(src)):
    name, proto, _ = file.rsplit('.', 2)
    try:
        got = pickle.loads(open(os.path.join(src, file), 'rb').read())
    except Exception as e:
        print('FAIL %s %s: loads raised %r' % (name, proto, e))
        continue
    if not same(got, CASES[name](), set()):
        print('FAIL %s %s: loaded %r' % (name, proto, got if len(repr(got)) < 300 else repr(got)[:300]))
    checked += 1
print('CHECKED %d' % checked)
)PY";

// ---- the cases, C++ side

Value I(std::int64_t v) { return Value::integer(v); }
Value Big(const std::string& decimal) { return Value::integer(BigInt::from_decimal(decimal)); }
Value F(double v) { return Value::floating(v); }
Value S(const std::string& v) { return Value::str(v); }
Value B(const std::string& v) { return Value::bytes(v); }
Value L(std::vector<Value> items) { return Value::list(std::move(items)); }
Value T(std::vector<Value> items) { return Value::tuple(std::move(items)); }

Value range_list(int n) {
  Value v = Value::list();
  for (int i = 0; i < n; ++i) v.append(I(i));
  return v;
}
Value range_set(int n, bool frozen) {
  Value v = frozen ? Value::frozenset() : Value::set();
  for (int i = 0; i < n; ++i) v.append(I(i));
  return v;
}
Value negating_dict(int n) {
  Value v = Value::dict();
  for (int i = 0; i < n; ++i) v.add(I(i), I(-i));
  return v;
}
std::string repeat(const std::string& unit, std::size_t count) {
  std::string out;
  out.reserve(unit.size() * count);
  for (std::size_t i = 0; i < count; ++i) out += unit;
  return out;
}
std::string pow10_minus_1(int digits) { return std::string(static_cast<std::size_t>(digits), '9'); }

struct Case {
  std::string name;
  std::function<Value()> build;
  bool direct = true;  // our graph's member order is CPython's, so our bytes must equal its bytes
};

std::vector<Case> cases() {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Case> c = {
      {"int_0", [] { return I(0); }},
      {"int_1", [] { return I(1); }},
      {"int_m1", [] { return I(-1); }},
      {"int_255", [] { return I(255); }},
      {"int_256", [] { return I(256); }},
      {"int_65535", [] { return I(65535); }},
      {"int_65536", [] { return I(65536); }},
      {"int_m65536", [] { return I(-65536); }},
      {"int_2p31m1", [] { return I(2147483647); }},
      {"int_2p31", [] { return I(2147483648LL); }},
      {"int_m2p31", [] { return I(-2147483648LL); }},
      {"int_m2p31m1", [] { return I(-2147483649LL); }},
      {"int_2p63m1", [] { return I(std::numeric_limits<std::int64_t>::max()); }},
      {"int_2p63", [] { return Big("9223372036854775808"); }},
      {"int_m2p63", [] { return I(std::numeric_limits<std::int64_t>::min()); }},
      {"int_2p64", [] { return Big("18446744073709551616"); }},
      {"int_m2p64", [] { return Big("-18446744073709551616"); }},
      {"int_huge", [] { return Big("1" + std::string(995, '0') + "12345"); }},
      {"int_huge_neg", [] { return Big("-7" + std::string(998, '0') + "3"); }},
      {"int_long4", [] { return Value::integer(BigInt::from_signed_le(std::string(262, '\0') + "\x10")); }},
      {"int_4300_digits", [] { return Big(pow10_minus_1(4300)); }},
      {"int_4301_digits", [] { return Big("1" + std::string(4300, '0')); }},
      {"float_0", [] { return F(0.0); }},
      {"float_m0", [] { return F(-0.0); }},
      {"float_01", [] { return F(0.1); }},
      {"float_1e300", [] { return F(1e300); }},
      {"float_1e16", [] { return F(1e16); }},
      {"float_1em5", [] { return F(1e-05); }},
      {"float_1e22", [] { return F(1e22); }},
      {"float_tiny", [] { return F(5e-324); }},
      {"float_max", [] { return F(1.7976931348623157e308); }},
      {"float_inf", [=] { return F(inf); }},
      {"float_minf", [=] { return F(-inf); }},
      {"float_nan", [] { return F(std::numeric_limits<double>::quiet_NaN()); }},
      {"float_mixed",
       [] {
         return L({F(1.5), F(-2.25), F(123456789.123), F(1e-07), F(0.0001)});
       }},
      {"none", [] { return Value(); }},
      {"true", [] { return Value::boolean(true); }},
      {"false", [] { return Value::boolean(false); }},
      {"bools_list",
       [] {
         return L({Value::boolean(true), Value::boolean(false), Value()});
       }},
      {"str_empty", [] { return S(""); }},
      {"str_a", [] { return S("a"); }},
      {"str_latin1", [] { return S("\xc3\xa9"); }},
      {"str_euro", [] { return S("\xe2\x82\xac"); }},
      {"str_astral", [] { return S("\xf0\x9f\x98\x80"); }},
      {"str_surrogate", [] { return S("\xed\xa0\x80"); }},
      {"str_low_surrogate", [] { return S("\xed\xbf\xbf"); }},
      {"str_split_pair", [] { return S("\xed\xa0\xbd\xed\xb8\x80"); }},
      {"str_specials",
       [] {
         constexpr char text[] =
             "a\\b\0c\nd\re\x1a"
             "f";
         return S(std::string(text, sizeof text - 1));
       }},
      {"str_mixed", [] { return S("h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\xc2\x80\xc3\xbf"); }},
      {"str_255", [] { return S(std::string(255, 'x')); }},
      {"str_256", [] { return S(std::string(256, 'y')); }},
      {"str_65536", [] { return S(std::string(65536, 'z')); }},
      {"str_70000", [] { return S(std::string(70000, 'w')); }},
      {"str_euro_90000", [] { return S(repeat("\xe2\x82\xac", 30000)); }},
      {"bytes_empty", [] { return B(""); }},
      {"bytes_one", [] { return B("a"); }},
      {"bytes_two", [] { return B("ab"); }},
      {"bytes_all",
       [] {
         std::string all;
         for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
         return B(all);
       }},
      {"bytes_255", [] { return B(std::string(255, 'x')); }},
      {"bytes_256", [] { return B(std::string(256, 'y')); }},
      {"bytes_65535", [] { return B(std::string(65535, 'z')); }},
      {"bytes_65536", [] { return B(std::string(65536, 'v')); }},
      {"bytes_70000", [] { return B(std::string(70000, 'u')); }},
      {"ba_empty", [] { return Value::bytearray(""); }},
      {"ba_one", [] { return Value::bytearray("a"); }},
      {"ba_two", [] { return Value::bytearray("ab"); }},
      {"ba_300", [] { return Value::bytearray(std::string(300, 'q')); }},
      {"ba_70000", [] { return Value::bytearray(std::string(70000, 'r')); }},
      {"ba_latin1", [] { return Value::bytearray("\xe9"); }},
      {"list_empty", [] { return L({}); }},
      {"tuple_empty", [] { return T({}); }},
      {"dict_empty", [] { return Value::dict(); }},
      {"set_empty", [] { return Value::set(); }},
      {"frozenset_empty", [] { return Value::frozenset(); }},
      {"list_one", [] { return L({I(1)}); }},
      {"tuple_1", [] { return T({I(1)}); }},
      {"tuple_2",
       [] {
         return T({I(1), I(2)});
       }},
      {"tuple_3",
       [] {
         return T({I(1), I(2), I(3)});
       }},
      {"tuple_4",
       [] {
         return T({I(1), I(2), I(3), I(4)});
       }},
      {"dict_one",
       [] {
         return Value::dict({{I(1), I(2)}});
       }},
      {"set_one", [] { return Value::set({I(1)}); }},
      {"frozenset_one", [] { return Value::frozenset({I(1)}); }},
      {"list_1000", [] { return range_list(1000); }},
      {"list_1001", [] { return range_list(1001); }},
      {"list_2500", [] { return range_list(2500); }},
      {"dict_1000", [] { return negating_dict(1000); }},
      {"dict_1001", [] { return negating_dict(1001); }},
      {"dict_2500", [] { return negating_dict(2500); }},
      {"set_1000", [] { return range_set(1000, false); }},
      {"set_1001", [] { return range_set(1001, false); }},
      {"set_2500", [] { return range_set(2500, false); }},
      {"frozenset_1000", [] { return range_set(1000, true); }},
      {"frozenset_2500", [] { return range_set(2500, true); }},
      {"nested",
       [] {
         return L({L({I(1), L({I(2), L({I(3), L({})})})}), T({I(1), L({I(2)}), Value::dict({{I(3), I(4)}})}),
                   Value::dict({{S("k"), T({I(5), I(6)})}})});
       }},
      {"dict_str_keys",
       [] {
         return Value::dict(
             {{S("alpha"), I(1)}, {S("beta"), L({I(2)})}, {S("gamma"), Value::dict({{S("delta"), Value()}})}});
       }},
      {"dict_tuple_keys",
       [] {
         return Value::dict({{T({I(1), I(2)}), S("x")}, {T({I(3)}), S("y")}});
       }},
      {"set_of_frozensets",
       [] {
         return Value::set({Value::frozenset({I(1), I(2)}), Value::frozenset({I(3)})});
       },
       false},
      {"set_of_strs",
       [] {
         Value v = Value::set();
         for (int i = 0; i < 50; ++i) v.append(S("s" + std::to_string(i)));
         return v;
       },
       false},
      {"frozenset_mixed",
       [] {
         return Value::frozenset({I(1), S("two"), T({I(3)})});
       },
       false},
      {"shared_str",
       [] {
         const Value s = S("shared string");
         return L({s, s, T({s, s})});
       }},
      {"shared_list",
       [] {
         const Value l = L({I(1)});
         return L({l, l, T({l, l}), Value::dict({{S("k"), l}})});
       }},
      {"shared_bytes",
       [] {
         const Value b = B("shared bytes");
         return L({b, b});
       }},
      {"shared_bytearray",
       [] {
         const Value b = Value::bytearray("xy");
         return L({b, b});
       }},
      {"shared_tuple",
       [] {
         const Value t = T({I(1), I(2)});
         return L({t, t});
       }},
      {"shared_frozenset",
       [] {
         const Value f = Value::frozenset({I(1)});
         return L({f, f});
       }},
      {"shared_set",
       [] {
         const Value s = Value::set({I(1), I(2)});
         return L({s, s});
       }},
      {"many_memo",
       [] {
         std::vector<Value> strs;
         for (int i = 0; i < 300; ++i) strs.push_back(S("m" + std::to_string(i)));
         Value v = L(strs);
         for (const auto& s : strs) v.append(s);
         return v;
       }},
      {"bytes_pair",
       [] {
         return L({B("ab"), B("cd")});
       }},
      {"bytes_and_char",
       [] {
         return L({B("a"), S("a")});
       }},
      {"bytearray_and_char",
       [] {
         return L({Value::bytearray("\xe9"), S("\xc3\xa9")});
       }},
      {"bytearray_and_bytes",
       [] {
         return L({Value::bytearray("a"), B("a")});
       }},
      {"rec_list",
       [] {
         Value l = L({});
         l.append(l);
         return l;
       }},
      {"rec_dict",
       [] {
         Value d = Value::dict();
         d.add(S("self"), d);
         return d;
       }},
      {"rec_tuple",
       [] {
         Value l = L({});
         const Value t = T({l});
         l.append(t);
         return t;
       }},
      {"rec_tuple4",
       [] {
         Value l = L({});
         const Value t = T({l, I(1), I(2), I(3)});
         l.append(t);
         return t;
       }},
      {"rec_list_via_tuple",
       [] {
         Value l = L({});
         l.append(T({l}));
         return l;
       }},
      {"rec_chain",
       [] {
         const Value root = L({});
         Value current = root;
         for (int i = 0; i < 50; ++i) {
           Value next = L({});
           current.append(T({next, current}));
           current = next;
         }
         return root;
       }},
      {"many_strs",
       [] {
         Value v = L({});
         char buffer[16];
         for (int i = 0; i < 3000; ++i) {
           std::snprintf(buffer, sizeof buffer, "s%05d", i);
           v.append(S(repeat(buffer, 5)));
         }
         return v;
       }},
      {"big_and_small",
       [] {
         return L({B(std::string(100, 'x')), B(std::string(70000, 'y')), S(std::string(100, 'z')),
                   S(std::string(70000, 'w')), L({I(1), I(2), I(3)})});
       }},
      {"frame_edge",
       [] {
         Value v = L({});
         for (int i = 0; i < 70; ++i) v.append(B(std::string(1000, static_cast<char>(i % 256))));
         return v;
       }},
      {"list_of_lists",
       [] {
         Value v = L({});
         for (int i = 0; i < 5000; ++i) v.append(L({I(i), S(std::to_string(i))}));
         return v;
       }},
  };
  return c;
}

// ---- interpreters and processes

struct Interpreter {
  std::string label;
  std::string path;
};

void PrintTo(const Interpreter& python, std::ostream* os) { *os << python.path; }

std::vector<Interpreter> find_interpreters() {
  std::vector<Interpreter> found;
  std::string root;
  if (const char* env = std::getenv("PYENV_ROOT")) root = env;
  if (root.empty()) {
    if (const char* home = std::getenv("HOME")) root = std::string(home) + "/.pyenv";
  }
  std::error_code ec;
  std::vector<std::string> versions;
  for (const auto& entry : fs::directory_iterator(fs::path(root) / "versions", ec)) {
    versions.push_back(entry.path().filename().string());
  }
  std::sort(versions.begin(), versions.end());
  for (const auto& version : versions) {
    int major = 0;
    int minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) continue;
    if (major != 3 || minor < 8 || minor > 13) continue;
    const fs::path python = fs::path(root) / "versions" / version / "bin" / "python";
    if (!fs::exists(python, ec)) continue;
    std::string label = "pyenv_" + version;
    std::replace(label.begin(), label.end(), '.', '_');
    found.push_back({label, python.string()});
  }
  if (fs::exists("/usr/bin/python3", ec)) found.push_back({"usr_bin_python3", "/usr/bin/python3"});
  return found;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Runs a command; returns its exit status, stdout in `output`.
int run(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  return pclose(pipe);
}

fs::path make_temp_dir(const std::string& label) {
  std::string pattern = (fs::temp_directory_path() / ("mpc-pickle-" + label + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& label) : path(make_temp_dir(label)) {}
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Where two byte strings first differ, with a little context, for failure messages.
std::string first_difference(const std::string& want, const std::string& got) {
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const std::size_t from = i < 16 ? 0 : i - 16;
  return "lengths " + std::to_string(want.size()) + " (CPython) / " + std::to_string(got.size()) +
         " (ours), first difference at byte " + std::to_string(i) + ": CPython " +
         mpc::repr(Value::bytes(want.substr(from, 48))) + " vs ours " + mpc::repr(Value::bytes(got.substr(from, 48)));
}

class PickleDifferential : public testing::TestWithParam<Interpreter> {};

TEST_P(PickleDifferential, CPythonBytesDecodeEqualAndReencodeIdentically) {
  const Interpreter& python = GetParam();
  const TempDir dir(python.label);
  write_file(dir.path / "cases.py", kCasesPy);
  write_file(dir.path / "generate.py", kGeneratePy);
  fs::create_directory(dir.path / "out");
  std::string output;
  const int status = run(python.path + " " + (dir.path / "generate.py").string() + " " +
                             (dir.path / "cases.py").string() + " " + (dir.path / "out").string() + " 2>&1",
                         output);
  ASSERT_EQ(status, 0) << output;

  int checked = 0;
  int failures = 0;
  for (const auto& c : cases()) {
    for (int proto = 0; proto <= 5; ++proto) {
      const std::string where = c.name + " protocol " + std::to_string(proto) + " (" + python.label + ")";
      const fs::path base = dir.path / "out" / (c.name + "." + std::to_string(proto));
      const Value expected = c.build();
      if (fs::exists(base.string() + ".err")) {
        EXPECT_THROW((void)mpc::pickle::dumps(expected, proto), mpc::ValueError) << where;
        ++checked;
        continue;
      }
      ASSERT_TRUE(fs::exists(base.string() + ".pkl")) << "the Python side has no case " << where;
      const std::string cpython = read_file(base.string() + ".pkl");
      std::string problem;
      try {
        const Value decoded = mpc::pickle::loads(cpython);
        if (!mpc::equal(decoded, expected)) {
          problem = "decodes to " + mpc::repr(decoded, 300) + ", want " + mpc::repr(expected, 300);
        } else if (const std::string again = mpc::pickle::dumps(decoded, proto); again != cpython) {
          problem = "the decoded graph re-encodes differently: " + first_difference(cpython, again);
        } else if (c.direct) {
          if (const std::string ours = mpc::pickle::dumps(expected, proto); ours != cpython) {
            problem = "our graph encodes differently: " + first_difference(cpython, ours);
          }
        }
      } catch (const mpc::Error& e) {
        problem = std::string("threw ") + std::string(e.python_type()) + ": " + e.what();
      }
      if (!problem.empty()) {
        ++failures;
        if (failures <= 20) ADD_FAILURE() << where << ": " << problem;
      }
      ++checked;
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(checked, static_cast<int>(cases().size()) * 6);
  std::printf("[          ] %s: %d (case, protocol) pairs checked\n", python.label.c_str(), checked);
}

TEST_P(PickleDifferential, OurBytesLoadInCPythonAsEqualValues) {
  const Interpreter& python = GetParam();
  const TempDir dir(python.label);
  write_file(dir.path / "cases.py", kCasesPy);
  write_file(dir.path / "check.py", kCheckPy);
  fs::create_directory(dir.path / "ours");
  int written = 0;
  for (const auto& c : cases()) {
    for (int proto = 0; proto <= 5; ++proto) {
      std::string data;
      try {
        data = mpc::pickle::dumps(c.build(), proto);
      } catch (const mpc::ValueError&) {
        continue;  // over 4300 digits in text: CPython refuses the same (checked above)
      }
      write_file(dir.path / "ours" / (c.name + "." + std::to_string(proto) + ".pkl"), data);
      ++written;
    }
  }
  std::string output;
  const int status = run(python.path + " " + (dir.path / "check.py").string() + " " + (dir.path / "cases.py").string() +
                             " " + (dir.path / "ours").string() + " 2>&1",
                         output);
  ASSERT_EQ(status, 0) << output;
  EXPECT_EQ(output.find("FAIL"), std::string::npos) << output.substr(0, 4000);
  EXPECT_NE(output.find("CHECKED " + std::to_string(written)), std::string::npos) << output.substr(0, 4000);
  std::printf("[          ] %s: loaded %d of our pickles\n", python.label.c_str(), written);
}

INSTANTIATE_TEST_SUITE_P(EveryCPython, PickleDifferential, testing::ValuesIn(find_interpreters()),
                         [](const testing::TestParamInfo<Interpreter>& info) { return info.param.label; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PickleDifferential);

}  // namespace
