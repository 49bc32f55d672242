// The decoding and checking of adapter messages (harness/runner/protocol.cpp), issue 7 items 1, 2, 6.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "expect.hpp"
#include "protocol.hpp"

using namespace mpconform;

namespace {

// What decode_message says about a frame ("" if it accepts it).
std::string error_of(std::string_view frame, const Limits& limits = Limits{}) {
  try {
    decode_message(frame, limits);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

std::string result_with(const std::string& fields) {
  return R"({"protocol": 1, "type": "result", "re": 3, "status": "returned", "elapsed": 0.5, )" + fields + "}";
}

std::string nested_list(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += R"({"t": "list", "v": [)";
  out += R"({"t": "none"})";
  for (int i = 0; i < depth; ++i) out += "]}";
  return out;
}

}  // namespace

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_EQ(invalid_utf8_offset(""), std::nullopt);
  EXPECT_EQ(invalid_utf8_offset("plain ascii"), std::nullopt);
  EXPECT_EQ(invalid_utf8_offset("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"), std::nullopt);
}

TEST(Utf8, NamesTheOffsetOfTheFirstBadByte) {
  EXPECT_EQ(invalid_utf8_offset("\xff"), 0u);
  EXPECT_EQ(invalid_utf8_offset("ab\x80"), 2u);            // a lone continuation byte
  EXPECT_EQ(invalid_utf8_offset("ab\xc3"), 2u);            // cut short
  EXPECT_EQ(invalid_utf8_offset("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(invalid_utf8_offset("\xe0\x80\xaf"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(invalid_utf8_offset("x\xed\xa0\x80"), 1u);     // a surrogate, U+D800
  EXPECT_EQ(invalid_utf8_offset("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(invalid_utf8_offset("\xf5\x80\x80\x80"), 0u);
}

TEST(Utf8, ValidUtf8EscapesOnlyTheBadBytes) {
  EXPECT_EQ(valid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(valid_utf8("a\xff\xfe"
                       "b\xc3"),
            "a\\xff\\xfeb\\xc3");
  EXPECT_EQ(invalid_utf8_offset(valid_utf8("\xed\xa0\x80\xf0\x9f")), std::nullopt);
}

TEST(Utf8, ExcerptNeverCutsACodePoint) {
  const std::string euros = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac";  // 3 x 3 bytes
  for (std::size_t n = 0; n <= 9; ++n) EXPECT_EQ(invalid_utf8_offset(excerpt(euros, n)), std::nullopt) << n;
  EXPECT_EQ(excerpt(euros, 4), "\xe2\x82\xac…");
  EXPECT_EQ(excerpt("abc", 3), "abc");
}

TEST(Utf8, PointerToAStringThatIsNotUtf8) {
  json ok = {{"args", {{{"t", "str"}, {"v", "fine"}}}}};
  EXPECT_EQ(invalid_utf8_pointer(ok), std::nullopt);
  json bad = {{"args", {{{"t", "str"}, {"v", "fine"}}, {{"t", "str"}, {"v", "a\xff"}}}}};
  EXPECT_EQ(invalid_utf8_pointer(bad), "/args/1/v");
}

TEST(Nesting, CountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(nesting_exceeds("[[1]]", 2), std::nullopt);
  EXPECT_EQ(nesting_exceeds("[[[1]]]", 2), 2u);
  EXPECT_EQ(nesting_exceeds(R"(["[[[[", "\"[[[["])", 1), std::nullopt);        // brackets in strings, an escaped quote
  EXPECT_EQ(nesting_exceeds(R"([{"a": [1]}, {"b": [2]}])", 3), std::nullopt);  // depth is not the count
}

TEST(Decode, AcceptsWhatTheAdaptersSend) {
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "started", "re": 7})"), "");
  EXPECT_EQ(error_of(result_with(
                R"("value": {"t": "list", "v": [{"t": "int", "v": "-12"}, {"t": "str", "v": "caf\u00e9"}]})")),
            "");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "result", "re": 7, "status": "raised", "elapsed": 0.2,
                         "exception": {"type": "queue.Empty", "bases": ["Exception"], "message": "", "args": []}})"),
            "");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "goodbye", "re": 9, "cleanup": [{"kind": "shm", "name": "/psm_1"}]})"),
            "");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "hello", "role": "actor", "name": "p", "pid": 42, "unknown": [1]})"),
            "");
}

// Item 1: a frame that is not UTF-8 is named by its offset, before anything parses it.
TEST(Decode, NotUtf8NamesTheOffset) {
  EXPECT_EQ(error_of("\xff\xfe not json"), "a frame that is not UTF-8: byte 0xff at offset 0 (\\xff\\xfe not json)");
  std::string frame = result_with(R"("value": {"t": "str", "v": "a)"
                                  "\xff"
                                  R"(b"})");
  EXPECT_EQ(
      error_of(frame).rfind("a frame that is not UTF-8: byte 0xff at offset " + std::to_string(frame.find('\xff')), 0),
      0u)
      << error_of(frame);
}

// Item 2: deep messages are refused by the scan, whatever part of the message is deep.
TEST(Decode, DeepMessagesAreRefusedBeforeParsing) {
  EXPECT_EQ(error_of(std::string(100000, '[')),
            "a message nested deeper than 256 levels (at byte 256; --max-message-nesting)");
  EXPECT_NE(error_of(result_with(R"("value": )" + nested_list(30000))).find("nested deeper than 256"),
            std::string::npos);
  Limits tight;
  tight.message_nesting = 4;
  EXPECT_EQ(error_of(result_with(R"("value": )" + nested_list(1)), tight), "");  // 4 levels
  EXPECT_NE(error_of(result_with(R"("value": )" + nested_list(2)), tight), "");
}

TEST(Decode, FramesOverTheLimitAreRefused) {
  Limits tight;
  tight.frame_bytes = 10;
  EXPECT_EQ(error_of(R"({"protocol": 1})", tight), "a frame of 15 bytes, over the limit of 10 (--max-frame-bytes)");
}

TEST(Decode, NotJsonNamesTheByte) {
  EXPECT_EQ(error_of(R"({"protocol": 1,})").rfind("a frame that is not JSON (near byte ", 0), 0u);
  EXPECT_EQ(error_of(R"({"protocol": 1}{"type": "x"})").rfind("a frame that is not JSON", 0), 0u);  // two values
  // nlohmann throws out_of_range, not parse_error, for a number past a double (found by fuzzing).
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "started", "re": 1e1211})"),
            "a frame that is not JSON the runner can read (number overflow parsing '1e1211'): "
            "'{\"protocol\": 1, \"type\": \"started\", \"re\": 1e1211}'");
}

// Item 6: a field of the wrong type is named as a JSON pointer, never as nlohmann's type_error.
TEST(Decode, WrongFieldsAreNamedByPointer) {
  EXPECT_EQ(error_of(result_with(R"("value": {"t": 5})")), "a bad 'result' message: /value/t must be a string");
  EXPECT_EQ(
      error_of(
          R"({"protocol": 1, "type": "result", "re": "3", "status": "returned", "elapsed": 0, "value": {"t": "none"}})"),
      "a bad 'result' message: /re must be an integer");
  EXPECT_EQ(
      error_of(
          R"({"protocol": 1, "type": "result", "re": 3, "status": "returned", "elapsed": "0", "value": {"t": "none"}})"),
      "a bad 'result' message: /elapsed must be a number of seconds, 0 or more");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "started", "re": 1e300})"),
            "a bad 'started' message: /re must be an integer");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "started", "re": 4294967296})"),
            "a bad 'started' message: /re must be an integer from 0 to 2147483647");
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "list", "v": [{"t": "int", "v": "12x"}]})")),
            "a bad 'result' message: /value/v/0/v must be decimal integer text, not \"12x\"");
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "dict", "v": [[{"t": "none"}]]})")),
            "a bad 'result' message: /value/v/0 must be a [key, value] pair");
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "bytes", "v": "0G"})")),
            "a bad 'result' message: /value/v must be lower-case hex text of even length");
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "digest", "of": "bytes", "len": 3, "crc32": 4294967296})")),
            "a bad 'result' message: /value/crc32 must be an integer from 0 to 4294967295");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "result", "re": 3, "status": "raised", "elapsed": 0,
                         "exception": {"type": "E", "args": [{"t": "object", "repr": 7}]}})"),
            "a bad 'result' message: /exception/args/0/repr must be a string");
  EXPECT_EQ(
      error_of(
          R"({"protocol": 1, "type": "result", "re": 3, "status": "error", "elapsed": 0, "error": {"kind": "internal"}})"),
      "a bad 'result' message: /error/message is missing");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "hello", "role": "controller", "pid": 1,
                         "implementation": {"semantics": "3.12", "family": 3}})"),
            "a bad 'hello' message: /implementation/family must be a string");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "hello", "role": "controller", "pid": 1,
                         "implementation": {"semantics": "3.12"}, "capabilities": {"ops": ["Queue.put", 1]}})"),
            "a bad 'hello' message: /capabilities/ops/1 must be a string");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "goodbye", "re": 2, "cleanup": [{"kind": "file"}]})"),
            "a bad 'goodbye' message: /cleanup/0/path is missing");
  EXPECT_EQ(error_of(R"({"protocol": 2, "type": "started", "re": 1})"), "a message where /protocol must be 1, not 2");
  EXPECT_EQ(error_of(R"({"protocol": 1, "re": 1})"), "a message where /type is missing");
  EXPECT_EQ(error_of(R"([1])"), "a message that is not a JSON object");
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "call", "seq": 1})"),
            "a bad 'call' message: /type \"call\" is not a message an adapter sends");
}

// A payload an adapter chose would make the runner generate its bytes to compare them.
TEST(Decode, RunnerOnlyValuesAreRefused) {
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "payload", "size": 1000000000000000, "seed": 1})")),
            "a bad 'result' message: /value/t \"payload\" is sent by the runner only, never by an adapter");
}

// Whatever decode_message accepts, the rest of the session can use without a library exception.
TEST(Decode, AcceptedResultsBecomeOutcomes) {
  for (
      const std::string& frame :
      {result_with(R"("value": {"t": "digest", "of": "bytearray", "len": 5, "crc32": 7})"),
       result_with(R"("value": {"t": "object", "type": "Connection"})"),
       result_with(R"("value": {"t": "set", "v": [{"t": "float", "v": "nan"}, {"t": "bytes", "v": "00ff"}]})"),
       std::string(
           R"({"protocol": 1, "type": "result", "re": 3, "status": "raised", "elapsed": 1e308, "exception": {"type": "E"}})")}) {
    json m = decode_message(frame, Limits{});
    Outcome o = outcome_from_result(m);
    EXPECT_EQ(invalid_utf8_offset(o.describe()), std::nullopt);
    EXPECT_EQ(check_outcome(nullptr, o).empty(), o.kind == Outcome::Kind::Returned) << frame;
  }
}

// The message of an exception comes from the adapter: std::regex recursed per character (a.*b
// overflowed the stack at some 40 KB). The linear matcher searches a megabyte at once; only a
// message too long for the pattern's size (bytes x instructions past the bound) is not searched.
TEST(Decode, LongExceptionMessagesAreSearchedInBoundedTime) {
  const std::string frame = R"({"protocol": 1, "type": "result", "re": 3, "status": "raised", "elapsed": 0,
                                "exception": {"type": "ValueError", "message": "a)" +
                            std::string(1 << 20, 'a') + R"("}})";
  Outcome o = outcome_from_result(decode_message(frame, Limits{}));
  Expectation e;
  e.outcome = Expectation::Outcome::Raises;
  e.exc_type = "ValueError";
  e.exc_match = "a.*b";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(check_outcome(&e, o), "message does not match /a.*b/");
  o.exc_message += "b";
  EXPECT_EQ(check_outcome(&e, o), "");
  e.exc_match = "(a|b){1000}c";  // 4002 instructions: 4.2 x 10^9 steps on this message, past the bound
  EXPECT_EQ(check_outcome(&e, o),
            "message is 1048578 bytes, too long to search with /(a|b){1000}c/ (4002 instructions; "
            "at most 33554432 steps, bytes x instructions, per search)");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  o.exc_message = "a short message, b";
  EXPECT_EQ(check_outcome(&e, o), "message does not match /(a|b){1000}c/");
}

// After the field checks, the runner validates against spec/protocol/from-adapter.schema.json: what
// only the schema says (an enum, a field the checks do not know) is refused, naming the field.
TEST(Decode, WhatOnlyTheSchemaRefusesIsNamedByPointer) {
  EXPECT_EQ(
      error_of(
          R"({"protocol": 1, "type": "result", "re": 3, "status": "error", "elapsed": 0, "error": {"kind": "oops", "message": "m"}})")
          .rfind("a bad 'result' message: /error/kind does not satisfy spec/protocol/from-adapter.schema.json "
                 "(#/definitions/result_error): ",
                 0),
      0u);
  EXPECT_EQ(error_of(R"({"protocol": 1, "type": "goodbye", "re": 2, "cleanup": [{"kind": "file", "path": 7}]})"),
            "a bad 'goodbye' message: /cleanup/0/path must be a string");  // the field checks come first
  EXPECT_EQ(
      error_of(
          R"({"protocol": 1, "type": "result", "re": 3, "status": "error", "elapsed": 0, "error": {"kind": "internal", "message": "m"}})"),
      "");
}

// Validation is bounded: the deepest message the nesting bound lets through, and a long list, are
// each validated in well under a second (valijson recurses per level; patterns are not run on the
// long text, see protocol.hpp).
TEST(Decode, SchemaValidationIsBounded) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(result_with(R"("value": )" + nested_list(127))), "");  // 256 levels with the message
  std::string items;
  for (int i = 0; i < 100000; ++i) items += std::string(i ? "," : "") + R"({"t": "int", "v": "12345"})";
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "list", "v": [)" + items + "]}")), "");
  EXPECT_EQ(error_of(result_with(R"("value": {"t": "bytes", "v": ")" + std::string(4 << 20, 'a') + "\"}")), "");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

// spec/protocol/from-adapter.schema.json and check_message describe the same messages: every
// frame the real adapters sent (the recorded seeds) is valid under the schema, and whatever the
// schema accepts among all seeds, the runner accepts.
TEST(Schema, AgreesWithTheCheckerOnTheSeedCorpus) {
  namespace fs = std::filesystem;
  const fs::path root(MPC_SOURCE_DIR);
  std::ifstream schema_file(root / "spec" / "protocol" / "from-adapter.schema.json");
  ASSERT_TRUE(schema_file) << "spec/protocol/from-adapter.schema.json";
  const json schema_doc = json::parse(schema_file);
  valijson::Schema schema;
  valijson::SchemaParser(valijson::SchemaParser::kDraft7)
      .populateSchema(valijson::adapters::NlohmannJsonAdapter(schema_doc), schema);
  int real = 0, schema_valid = 0;
  for (const auto& entry : fs::directory_iterator(root / "tests" / "fuzz" / "corpus" / "adapter_message")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = entry.path().filename().string();
    json doc;
    if (invalid_utf8_offset(frame) || nesting_exceeds(frame, Limits{}.message_nesting)) continue;
    try {
      doc = json::parse(frame);
    } catch (const json::exception&) {
      continue;  // not JSON: no schema applies
    }
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    const bool valid = validator.validate(schema, valijson::adapters::NlohmannJsonAdapter(doc), nullptr);
    std::string checker;
    try {
      check_message(doc);
    } catch (const ProtocolError& e) {
      checker = e.what();
    }
    if (name.starts_with("cpython-") || name.starts_with("cpp-")) {
      ++real;
      EXPECT_TRUE(valid) << name << " (recorded from a real adapter) is not valid under the schema";
    }
    if (valid) {
      ++schema_valid;
      EXPECT_EQ(checker, "") << name << " is valid under the schema but refused";
    }
  }
  EXPECT_GT(real, 40);
  EXPECT_GT(schema_valid, real);  // the reproducers that are well formed count too
}
