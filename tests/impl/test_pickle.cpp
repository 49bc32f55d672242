// The pickle codec: exact bytes for the rules that decide them (expected bytes were taken from
// CPython 3.8-3.13, which agree), Python semantics of loads, and its error reporting.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mpc/pickle.hpp"
#include "support.hpp"

namespace {

using mpc::Kind;
using mpc::Value;
using mpc::pickle::dumps;
using mpc::pickle::loads;

Value I(std::int64_t v) { return Value::integer(v); }
Value S(const std::string& v) { return Value::str(v); }

template <std::size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

Value range_list(int n) {
  Value v = Value::list();
  for (int i = 0; i < n; ++i) v.append(I(i));
  return v;
}

// ---- dumps: protocol handling

TEST(Dumps, DefaultsToProtocolFourLikeMultiprocessing) { EXPECT_EQ(dumps(Value::list()), bytes("\x80\x04]\x94.")); }

TEST(Dumps, NegativeProtocolMeansTheHighest) {
  EXPECT_EQ(dumps(Value::bytearray("x"), -1), dumps(Value::bytearray("x"), 5));
}

TEST(Dumps, ProtocolAboveFiveIsAValueError) { EXPECT_THROW((void)dumps(Value(), 6), mpc::ValueError); }

TEST(Dumps, AnUnpicklableValueIsATypeErrorNamingIt) {
  try {
    (void)dumps(Value::list({I(1), Value::unpicklable()}));
    FAIL() << "no exception";
  } catch (const mpc::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("unpicklable"), std::string::npos);
  }
}

TEST(Dumps, ATupleThatContainsItselfDirectlyIsARecursionErrorNotAHang) {
  Value t = Value::tuple();
  t.append(t);
  for (int proto = 0; proto <= 5; ++proto) EXPECT_THROW((void)dumps(t, proto), mpc::RecursionError);
  Value fs = Value::frozenset();
  fs.append(fs);
  EXPECT_THROW((void)dumps(fs, 4), mpc::RecursionError);
  EXPECT_THROW((void)dumps(fs, 2), mpc::RecursionError);
}

TEST(Dumps, AGraphNestedAHundredThousandDeepPicklesWithoutRecursion) {
  Value root = Value::list();
  Value current = root;
  for (int i = 0; i < 100'000; ++i) {
    Value next = Value::tuple({Value::list()});
    current.append(next);
    current = next.at(0);
  }
  for (const int proto : {0, 2, 4}) {
    const std::string out = dumps(root, proto);
    EXPECT_THROW((void)loads(out), mpc::UnpicklingError);  // deeper than the default limit
    mpc::pickle::Limits deep;
    deep.max_depth = 300'000;
    deep.max_marks = 300'000;
    EXPECT_TRUE(mpc::equal(loads(out, deep), root)) << proto;
  }
}

// ---- dumps: the bytes

TEST(Dumps, SmallIntsUseTheShortestBinaryForm) {
  EXPECT_EQ(dumps(I(255), 2), bytes("\x80\x02K\xff."));
  EXPECT_EQ(dumps(I(256), 2), bytes("\x80\x02M\x00\x01."));
  EXPECT_EQ(dumps(I(65536), 2), bytes("\x80\x02J\x00\x00\x01\x00."));
  EXPECT_EQ(dumps(I(-1), 2), bytes("\x80\x02J\xff\xff\xff\xff."));
  EXPECT_EQ(dumps(I(2147483648LL), 2), bytes("\x80\x02\x8a\x05\x00\x00\x00\x80\x00."));
}

TEST(Dumps, TextProtocolsWriteIntsBoolsAndLongsAsText) {
  EXPECT_EQ(dumps(Value::list({Value::boolean(true), Value::boolean(false)}), 0), "(lp0\nI01\naI00\na.");
  EXPECT_EQ(dumps(I(-5), 0), "I-5\n.");
  EXPECT_EQ(dumps(I(2147483648LL), 1), "L2147483648L\n.");
}

TEST(Dumps, TextLongsOver4300DigitsAreAValueErrorLikeCPython) {
  const Value ok = Value::integer(mpc::BigInt::from_decimal(std::string(4300, '9')));
  const Value too_long = Value::integer(mpc::BigInt::from_decimal("1" + std::string(4300, '0')));
  EXPECT_EQ(dumps(ok, 0).size(), 4304U);
  EXPECT_THROW((void)dumps(too_long, 0), mpc::ValueError);
  EXPECT_THROW((void)dumps(too_long, 1), mpc::ValueError);
  EXPECT_NO_THROW((void)dumps(too_long, 2));
}

TEST(Dumps, ProtocolZeroWritesFloatsAsPythonRepr) {
  const Value floats = Value::list({Value::floating(std::numeric_limits<double>::infinity()),
                                    Value::floating(std::numeric_limits<double>::quiet_NaN()), Value::floating(1e16),
                                    Value::floating(1e-5), Value::floating(-0.0)});
  EXPECT_EQ(dumps(floats, 0), "(lp0\nFinf\naFnan\naF1e+16\naF1e-05\naF-0.0\na.");
}

TEST(Dumps, ProtocolZeroEscapesTextAsRawUnicodeEscape) {
  const Value s = S(bytes("a\\b\0\n\r\x1a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80"));
  EXPECT_EQ(dumps(s, 0), bytes("Va\\u005cb\\u0000\\u000a\\u000d\\u001a\xe9\\u20ac\\U0001f600\\ud800\np0\n."));
}

TEST(Dumps, AListOf1001ItemsIsTwoFullAppendsBatchesEvenForTheLastItem) {
  const std::string out = dumps(range_list(1001), 2);
  EXPECT_EQ(out.substr(out.size() - 7), bytes("e(M\xe8\x03"
                                              "e."));
}

TEST(Dumps, SetsAndDictsOfExactlyAThousandEndWithAnEmptyBatch) {
  Value set = Value::set();
  Value dict = Value::dict();
  for (int i = 0; i < 1000; ++i) {
    set.append(I(i));
    dict.add(I(i), I(i));
  }
  const std::string set_bytes = dumps(set, 4);
  const std::string dict_bytes = dumps(dict, 2);
  EXPECT_EQ(set_bytes.substr(set_bytes.size() - 4), bytes("\x90(\x90."));
  EXPECT_EQ(dict_bytes.substr(dict_bytes.size() - 4), bytes("u(u."));
}

TEST(Dumps, ASharedObjectIsWrittenOnceThenFetchedFromTheMemo) {
  const Value s = S("shared");
  EXPECT_EQ(dumps(Value::list({s, s}), 2), bytes("\x80\x02]q\x00(X\x06\x00\x00\x00sharedq\x01h\x01"
                                                 "e."));
  EXPECT_EQ(dumps(Value::list({S("shared"), S("shared")}), 2),
            bytes("\x80\x02]q\x00(X\x06\x00\x00\x00sharedq\x01X\x06\x00\x00\x00sharedq\x02"
                  "e."));
}

TEST(Dumps, ARecursiveTupleIsPoppedAndFetchedAsCPythonDoes) {
  Value list = Value::list();
  const Value tuple = Value::tuple({list});
  list.append(tuple);
  EXPECT_EQ(dumps(tuple, 0), "((lp0\n(g0\ntp1\na00g1\n.");
  EXPECT_EQ(dumps(tuple, 1), bytes("(]q\x00(h\x00tq\x01"
                                   "a1h\x01."));
  EXPECT_EQ(dumps(tuple, 2), bytes("\x80\x02]q\x00h\x00\x85q\x01"
                                   "a0h\x01."));
}

TEST(Dumps, LowProtocolsReduceSetsAndBytesThroughGlobals) {
  EXPECT_EQ(dumps(Value::set({I(1)}), 2), bytes("\x80\x02"
                                                "c__builtin__\nset\nq\x00]q\x01K\x01"
                                                "a\x85q\x02Rq\x03."));
  EXPECT_EQ(dumps(Value::set({I(1)}), 3), bytes("\x80\x03"
                                                "cbuiltins\nset\nq\x00]q\x01K\x01"
                                                "a\x85q\x02Rq\x03."));
  EXPECT_EQ(dumps(Value::bytes(""), 1), bytes("c__builtin__\nbytes\nq\x00)Rq\x01."));
  // Two bytes objects share the global and the 'latin1' argument.
  EXPECT_EQ(dumps(Value::list({Value::bytes("ab"), Value::bytes("cd")}), 0),
            "(lp0\nc_codecs\nencode\np1\n(Vab\np2\nVlatin1\np3\ntp4\nRp5\nag1\n(Vcd\np6\ng3\ntp7\nRp8\na.");
}

TEST(Dumps, TheLatin1TextOfOneByteIsCPythonsSharedOneCharacterStr) {
  EXPECT_EQ(dumps(Value::list({Value::bytes("a"), S("a")}), 2),
            bytes("\x80\x02]q\x00(c_codecs\nencode\nq\x01X\x01\x00\x00\x00"
                  "aq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05h\x02"
                  "e."));
}

TEST(Dumps, ProtocolFiveWritesBytearrayInline) {
  EXPECT_EQ(dumps(Value::bytearray("xy"), 5),
            bytes("\x80\x05\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00xy\x94."));
  EXPECT_EQ(dumps(Value::bytearray("xy"), 4), bytes("\x80\x04\x95\x23\x00\x00\x00\x00\x00\x00\x00\x8c\x08"
                                                    "builtins\x94\x8c\x09"
                                                    "bytearray\x94\x93\x94"
                                                    "C\x02xy\x94\x85\x94R\x94."));
}

TEST(Dumps, PayloadsOf64KiBOrMoreGoOutsideFrames) {
  const std::string data(70000, 'w');
  EXPECT_EQ(dumps(S(data), 4), bytes("\x80\x04X\x70\x11\x01\x00") + data + bytes("\x94."));
  const std::string small(65535, 'w');
  EXPECT_EQ(dumps(Value::bytes(small), 4).substr(0, 3), bytes("\x80\x04\x95"));
}

// A Queue writes a large bytes item as these pieces instead of dumps(): they must be dumps().
TEST(SplitLargeBytes, HeadPayloadAndTailAreExactlyDumpsAroundThe64KiBBoundary) {
  for (std::size_t n : {std::size_t{65536}, std::size_t{65537}, std::size_t{131071}, std::size_t{1} << 20}) {
    for (int protocol : {4, 5}) {
      const Value v = Value::bytes(std::string(n, 'q'));
      auto pieces = mpc::pickle::split_large_bytes(v, protocol);
      ASSERT_TRUE(pieces.has_value()) << n;
      EXPECT_EQ(pieces->payload.data(), v.data().data()) << "the payload is the value's own bytes";
      const std::string whole = pieces->head + std::string(pieces->payload) + std::string(pieces->tail);
      EXPECT_EQ(whole, dumps(v, protocol)) << n << " protocol " << protocol;
      auto layout = mpc::pickle::large_bytes_layout(std::string_view(whole).substr(0, 16), whole.size());
      ASSERT_TRUE(layout.has_value()) << n;
      EXPECT_EQ(layout->payload_offset, pieces->head.size());
      EXPECT_EQ(layout->payload_size, n);
    }
  }
  // What CPython 3.11 writes for pickle.dumps(b'm' * 2**20, 4), checked there.
  auto p = mpc::pickle::split_large_bytes(Value::bytes(std::string(1 << 20, 'm')), 4);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->head, bytes("\x80\x04\x42\x00\x00\x10\x00"));
  EXPECT_EQ(p->tail, bytes("\x94."));
}

TEST(SplitLargeBytes, OtherValuesAndProtocolsArePickledWhole) {
  using mpc::pickle::split_large_bytes;
  EXPECT_FALSE(split_large_bytes(Value::bytes(std::string(65535, 'q'))));  // inside a frame
  EXPECT_FALSE(split_large_bytes(Value::bytes(std::string(70000, 'q')), 3));
  EXPECT_FALSE(split_large_bytes(Value::bytearray(std::string(70000, 'q'))));
  EXPECT_FALSE(split_large_bytes(S(std::string(70000, 'q'))));
  EXPECT_FALSE(split_large_bytes(Value::tuple({Value::bytes(std::string(70000, 'q'))})));
}

TEST(SplitLargeBytes, TheLayoutIsOnlyFoundInALoneLargeBytesPickle) {
  using mpc::pickle::large_bytes_layout;
  const std::string big(70000, 'q');
  // (b,) and [b] begin like a lone bytes pickle, or not, but are longer than one.
  for (const Value& v : {Value::tuple({Value::bytes(big)}), Value::list({Value::bytes(big)}), S(big),
                         Value::bytes(std::string(65535, 'q')), Value::bytearray(big)}) {
    const std::string p = dumps(v, 4);
    EXPECT_FALSE(large_bytes_layout(std::string_view(p).substr(0, 16), p.size())) << mpc_test::hex_of(p.substr(0, 16));
  }
  // BINBYTES8 (over 4 GiB) without making one: the head alone, and the total it announces.
  const std::string head = bytes("\x80\x04\x8e\x00\x00\x00\x00\x01\x00\x00\x00");
  auto layout = large_bytes_layout(head, head.size() + (std::size_t{1} << 32) + 2);
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->payload_offset, 11u);
  EXPECT_EQ(layout->payload_size, std::size_t{1} << 32);
  EXPECT_FALSE(large_bytes_layout(head.substr(0, 7), head.size() + (std::size_t{1} << 32) + 2));  // cut short
  EXPECT_FALSE(large_bytes_layout(head, head.size() + (std::size_t{1} << 32) + 3));
}

TEST(Dumps, FramesAreCommittedOnceTheyReach64KiB) {
  Value list = Value::list();
  for (int i = 0; i < 200; ++i) list.append(Value::bytes(std::string(1000, 'b')));
  const std::string out = dumps(list, 4);
  // Walk the frames: each but the last holds at least 64 KiB, none much more.
  std::size_t pos = 2;
  int frames = 0;
  while (pos < out.size() && out[pos] == '\x95') {
    std::uint64_t length = 0;
    for (int i = 8; i >= 1; --i)
      length = (length << 8) | static_cast<unsigned char>(out[pos + static_cast<std::size_t>(i)]);
    pos += 9 + length;
    ++frames;
    if (pos < out.size()) {
      EXPECT_GE(length, 65536U);
    }
    EXPECT_LT(length, 65536U + 2000U);
  }
  EXPECT_EQ(pos, out.size());
  EXPECT_EQ(frames, 4);
  EXPECT_TRUE(mpc::equal(loads(out), list));
}

TEST(Dumps, MemoIndicesAbove255UseTheLongForms) {
  std::vector<Value> strs;
  for (int i = 0; i < 300; ++i) strs.push_back(S("s" + std::to_string(i)));
  Value list = Value::list(strs);
  list.append(strs.back());
  const std::string out = dumps(list, 2);
  EXPECT_EQ(out.substr(out.size() - 7), bytes("j\x2c\x01\x00\x00"
                                              "e."));
  EXPECT_NE(out.find(bytes("r\x2c\x01\x00\x00")), std::string::npos);
}

// ---- loads: values and sharing

TEST(Loads, RoundTripsEveryKindAtEveryProtocol) {
  Value self = Value::list();
  self.append(self);
  const Value all = Value::list({
      Value(),
      Value::boolean(true),
      I(-7),
      Value::integer(mpc::BigInt::from_decimal("-123456789012345678901234567890")),
      Value::floating(0.25),
      S("\xe2\x82\xac"),
      Value::bytes("b"),
      Value::bytearray("ba"),
      Value::tuple({I(1)}),
      Value::dict({{S("k"), I(1)}}),
      Value::set({I(2)}),
      Value::frozenset({I(3)}),
      self,
  });
  for (int proto = 0; proto <= 5; ++proto) {
    const std::string out = dumps(all, proto);
    const Value back = loads(out);
    EXPECT_TRUE(mpc::equal(back, all)) << proto << ": " << mpc::repr(back);
    EXPECT_EQ(dumps(back, proto), out) << proto;
  }
}

TEST(Loads, SharedObjectsComeBackShared) {
  const Value back =
      loads(bytes("\x80\x04]\x94(]\x94h\x01"
                  "e."));
  ASSERT_EQ(back.size(), 2U);
  EXPECT_TRUE(back.at(0).is_same(back.at(1)));
}

TEST(Loads, ARecursiveListComesBackRecursive) {
  const Value back =
      loads(bytes("\x80\x02]q\x00h\x00"
                  "a."));
  EXPECT_TRUE(back.at(0).is_same(back));
}

TEST(Loads, OneCharacterStrsAreTheSharedSingletons) {
  EXPECT_TRUE(loads(bytes("\x80\x04\x8c\x01"
                          "a\x94."))
                  .is_same(S("a")));
}

TEST(Loads, TextIntsFollowCPython) {
  EXPECT_TRUE(mpc::equal(loads("I01\n."), Value::boolean(true)));
  EXPECT_TRUE(mpc::equal(loads("I00\n."), Value::boolean(false)));
  EXPECT_TRUE(mpc::equal(loads("I1\n."), I(1)));
  EXPECT_TRUE(mpc::equal(loads("I-42\n."), I(-42)));
  EXPECT_TRUE(mpc::equal(loads("L12345678901234567890L\n."),
                         Value::integer(mpc::BigInt::from_decimal("12345678901234567890"))));
  EXPECT_TRUE(mpc::equal(loads("L-5\n."), I(-5)));  // Python 3.0's LONG without the L
  EXPECT_THROW((void)loads("I" + std::string(4301, '1') + "\n."), mpc::ValueError);
  EXPECT_THROW((void)loads("L" + std::string(4301, '1') + "L\n."), mpc::ValueError);
  EXPECT_NO_THROW((void)loads("L-" + std::string(4300, '1') + "L\n."));
  EXPECT_THROW((void)loads("Ix\n."), mpc::ValueError);
}

TEST(Loads, TextFloatsIncludeInfAndNan) {
  EXPECT_TRUE(mpc::equal(loads("Finf\n."), Value::floating(std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(mpc::equal(loads("F-inf\n."), Value::floating(-std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(std::isnan(loads("Fnan\n.").as_float()));
  EXPECT_TRUE(mpc::equal(loads("F1e-05\n."), Value::floating(1e-5)));
  EXPECT_THROW((void)loads("F1.0.0\n."), mpc::ValueError);
}

TEST(Loads, Utf8SurrogatesAreAcceptedAndInvalidUtf8IsNot) {
  EXPECT_EQ(loads(bytes("X\x03\x00\x00\x00\xed\xa0\x80.")).data(), bytes("\xed\xa0\x80"));
  EXPECT_THROW((void)loads(bytes("X\x01\x00\x00\x00\xff.")), mpc::ValueError);
  EXPECT_THROW((void)loads(bytes("X\x02\x00\x00\x00\xc0\x80.")), mpc::ValueError);  // overlong
}

TEST(Loads, RawUnicodeEscapeDecodesLikeCPython) {
  EXPECT_EQ(loads("V\\u20ac\\U0001f600\n.").data(), "\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(loads("Vab\\\\u0041\n.").data(), "ab\\\\u0041");
  EXPECT_EQ(loads(bytes("V\xe9\n.")).data(), "\xc3\xa9");
  EXPECT_THROW((void)loads("V\\u12\n."), mpc::ValueError);
}

TEST(Loads, Python2StringsDecodeAsAscii) {
  EXPECT_EQ(loads("U\x03"
                  "abc.")
                .data(),
            "abc");
  EXPECT_THROW((void)loads(bytes("U\x01\xe9.")), mpc::ValueError);
}

TEST(Loads, EqualDictKeysMergeAsInPython) {
  // {1: 'a', True: 'b', 1.0: 'c'} is {1: 'c'}
  const Value d =
      loads(bytes("}(K\x01X\x01\x00\x00\x00"
                  "a\x88X\x01\x00\x00\x00"
                  "bG?\xf0\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00"
                  "cu."));
  ASSERT_EQ(d.size(), 1U);
  EXPECT_TRUE(mpc::equal(d.key(0), I(1)));
  EXPECT_EQ(d.value(0).data(), "c");
}

TEST(Loads, EqualSetMembersMerge) {
  const Value s = loads(bytes("\x8f(K\x01K\x01\x88K\x02(K\x01t(K\x01t\x90."));
  EXPECT_EQ(s.size(), 3U);  // {1, 2, (1,)}
}

TEST(Loads, NanKeysStayDistinct) {
  const Value d = loads(bytes("}(G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x01G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x02u."));
  EXPECT_EQ(d.size(), 2U);
}

TEST(Loads, UnhashableKeysAndMembersAreATypeError) {
  EXPECT_THROW((void)loads("}(]K\x01u."), mpc::TypeError);
  EXPECT_THROW((void)loads("\x8f(]\x90."), mpc::TypeError);
  EXPECT_THROW((void)loads("(}\x91."), mpc::TypeError);
  EXPECT_THROW((void)loads("}(]\x85K\x01u."), mpc::TypeError);  // a tuple holding a list
}

TEST(Loads, BytesAfterStopAreIgnoredAsCPythonDoes) { EXPECT_TRUE(mpc::equal(loads("N.garbage"), Value())); }

TEST(Loads, EmptyInputIsAnEOFError) { EXPECT_THROW((void)loads(""), mpc::EOFError); }

TEST(Loads, AFrameWithoutProtoIsAccepted) {
  EXPECT_TRUE(mpc::equal(loads(bytes("\x95\x02\x00\x00\x00\x00\x00\x00\x00N.")), Value()));
}

TEST(Loads, ErrorsNameTheOpcodeAndItsOffset) {
  try {
    (void)loads(bytes("\x80\x04]h\x05."));
    FAIL() << "no exception";
  } catch (const mpc::UnpicklingError& e) {
    EXPECT_NE(std::string(e.what()).find("BINGET at byte 3"), std::string::npos) << e.what();
    EXPECT_EQ(e.python_type(), "pickle.UnpicklingError");
  }
}

TEST(Loads, OtherGlobalsAreRefusedNotExecuted) {
  try {
    (void)loads("cos\nsystem\n(S'true'\ntR.");
    FAIL() << "no exception";
  } catch (const mpc::UnpicklingError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("os.system"), std::string::npos) << message;
    EXPECT_NE(message.find("GLOBAL at byte 0"), std::string::npos) << message;
  }
}

TEST(Loads, PickleErrorIsTheBaseOfTheCodecsOwnErrors) {
  EXPECT_THROW((void)loads("]"), mpc::pickle::Error);  // truncated
  EXPECT_THROW((void)loads("]"), mpc::Error);
}

TEST(Loads, LimitsAreConfigurable) {
  mpc::pickle::Limits tight;
  tight.max_objects = 3;
  EXPECT_NO_THROW((void)loads("(]]l.", tight));  // three lists
  EXPECT_THROW((void)loads("(]]]l.", tight), mpc::UnpicklingError);
  tight = {};
  tight.max_depth = 3;
  EXPECT_NO_THROW((void)loads("]]]aa.", tight));
  EXPECT_THROW((void)loads("]]]]aaa.", tight), mpc::UnpicklingError);
  tight = {};
  tight.max_stack = 4;
  EXPECT_THROW((void)loads("(NNNNNl.", tight), mpc::UnpicklingError);
  tight = {};
  tight.max_marks = 2;
  EXPECT_THROW((void)loads("(((", tight), mpc::UnpicklingError);
  tight = {};
  tight.max_memo = 2;
  EXPECT_THROW((void)loads(bytes("Nq\x00q\x01q\x02."), tight), mpc::UnpicklingError);
}

}  // namespace

// A lone scalar takes a shortcut (pickle_scalar.cpp); these pin its edges to the general codec.
TEST(ScalarShortcut, BoundariesOfTheBinIntFormsAndFrames) {
  EXPECT_EQ(dumps(I(255), 4), bytes("\x80\x04K\xff."));  // 3 bytes after PROTO: no frame
  EXPECT_EQ(dumps(I(256), 4), bytes("\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00M\x00\x01."));
  EXPECT_EQ(dumps(I(65536), 3), bytes("\x80\x03J\x00\x00\x01\x00."));  // protocol 3: never framed
  EXPECT_EQ(dumps(I(-1), 5), bytes("\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xff."));
  EXPECT_EQ(dumps(I(2147483648LL), 2), bytes("\x80\x02\x8a\x05\x00\x00\x00\x80\x00."));  // LONG1
  EXPECT_EQ(dumps(Value::floating(-0.0), 4),
            bytes("\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00G\x80\x00\x00\x00\x00\x00\x00\x00."));
  EXPECT_EQ(dumps(Value::boolean(true), 1), bytes("I01\n."));  // below 2: the general path
}

TEST(ScalarShortcut, AnythingOffTheExactShapeGoesToTheGeneralDecoder) {
  EXPECT_EQ(loads(bytes("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x07.")).to_int64(), 7);
  // A frame length that does not cover the rest exactly: the general decoder's verdict.
  EXPECT_THROW((void)loads(bytes("\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00K\x07.")), mpc::UnpicklingError);
  EXPECT_THROW((void)loads(bytes("\x80\x04K\x07")), mpc::UnpicklingError);  // no STOP
  EXPECT_EQ(loads(bytes("\x80\x04K\x07..")).to_int64(), 7);                 // as CPython: reading ends at STOP
}
