// The value codec against what CPython computes (expected texts and checksums come from CPython 3.11).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "mpc/value.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

json node(const char* text) { return json::parse(text); }

TEST(FloatRepr, MatchesPythonRepr) {
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"},
      {1.5, "1.5"},
      {1e+16, "1e+16"},
      {1000000000000000.0, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {0.0001, "0.0001"},
      {1e-05, "1e-05"},
      {0.00012345, "0.00012345"},
      {1e+300, "1e+300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e+308, "1.7976931348623157e+308"},
      {-2.5e-07, "-2.5e-07"},
      {123456789.125, "123456789.125"},
      {1.0 / 3, "0.3333333333333333"},
      {100.0, "100.0"},
      {1.152921504606847e+18, "1.152921504606847e+18"},
      {-1e+22, "-1e+22"},
      {1.2345678901234568e+16, "1.2345678901234568e+16"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::nan(""), "nan"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(float_repr(value), text);
}

TEST(FloatRepr, ReadsBackTheSameDouble) {
  std::mt19937_64 random(12345);
  for (int i = 0; i < 100000; ++i) {
    auto bits = random();
    double value = std::bit_cast<double>(bits);
    if (std::isnan(value)) continue;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(parse_float(float_repr(value))), bits) << float_repr(value);
  }
}

TEST(ParseFloat, ReadsSpecialTextsAndRefusesGarbage) {
  EXPECT_TRUE(std::isnan(parse_float("nan")));
  EXPECT_EQ(parse_float("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(parse_float("-inf"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::signbit(parse_float("-0.0")));
  EXPECT_EQ(parse_float("+2.5"), 2.5);
  EXPECT_EQ(parse_float("1e999"), std::numeric_limits<double>::infinity());
  EXPECT_THROW((void)parse_float("1.5x"), ValueFormatError);
  EXPECT_THROW((void)parse_float(""), ValueFormatError);
}

TEST(Crc32, IsZlibs) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
}

TEST(Payload, IsTheSpecsGenerator) {
  std::string p = payload(100000, 42);
  ASSERT_EQ(p.size(), 100000u);
  EXPECT_EQ(static_cast<unsigned char>(p[0]), 0x91);
  EXPECT_EQ(static_cast<unsigned char>(p[7]), 0x27);
  EXPECT_EQ(crc32(p), 1673916937u);
  EXPECT_EQ(crc32(payload(5000, 0)), 0x3e27e909u);
  EXPECT_EQ(payload(0, 1), "");
  EXPECT_EQ(payload(3, 42), p.substr(0, 3));
}

TEST(Codec, RoundTripsEveryKind) {
  const char* text = R"({"t": "list", "v": [
      {"t": "none"}, {"t": "bool", "v": true}, {"t": "int", "v": "-123456789012345678901234567890"},
      {"t": "int", "v": "42"}, {"t": "float", "v": "-0.0"}, {"t": "float", "v": "nan"},
      {"t": "str", "v": "caf\u00e9 \ud83d\ude00"}, {"t": "bytes", "v": "00ff"}, {"t": "bytearray", "v": ""},
      {"t": "tuple", "v": [{"t": "int", "v": "1"}]}, {"t": "set", "v": [{"t": "int", "v": "1"}]},
      {"t": "frozenset", "v": []}, {"t": "dict", "v": [[{"t": "tuple", "v": []}, {"t": "str", "v": "x"}]]},
      {"t": "unpicklable"}]})";
  json original = node(text);
  EXPECT_EQ(encode_value(decode_value(original)), original);
}

TEST(Codec, DigestsBytesOverTheThreshold) {
  EXPECT_EQ(encode_value(mpc::Value::bytes(std::string(1024, 'a')))["t"], "bytes");
  json digest = encode_value(mpc::Value::bytearray(std::string(1025, 'a')));
  EXPECT_EQ(digest["t"], "digest");
  EXPECT_EQ(digest["of"], "bytearray");
  EXPECT_EQ(digest["len"], 1025);
  EXPECT_EQ(digest["crc32"], crc32(std::string(1025, 'a')));
}

TEST(Codec, ExpandsPayloads) {
  mpc::Value v = decode_value(node(R"({"t": "payload", "size": 70000, "seed": 42})"));
  ASSERT_TRUE(v.is(mpc::Kind::Bytes));
  EXPECT_EQ(v.data(), payload(70000, 42));
}

TEST(Codec, CutsCyclesAsObjects) {
  mpc::Value list = mpc::Value::list();
  list.append(list);
  json encoded = encode_value(list);
  EXPECT_EQ(encoded["t"], "list");
  EXPECT_EQ(encoded["v"][0]["t"], "object");
}

TEST(Codec, RefusesMalformedNodes) {
  EXPECT_THROW((void)decode_value(node(R"({"t": "int", "v": "12a"})")), ValueFormatError);
  EXPECT_THROW((void)decode_value(node(R"({"t": "bytes", "v": "0"})")), ValueFormatError);
  EXPECT_THROW((void)decode_value(node(R"({"t": "what"})")), ValueFormatError);
  EXPECT_THROW((void)decode_value(node(R"({"t": "ref", "name": "q"})")), ValueFormatError);
  EXPECT_THROW((void)decode_value(node("[1]")), ValueFormatError);
}

}  // namespace
}  // namespace mpconform::cpp_adapter
