#include <gtest/gtest.h>

#include "case_loader.hpp"

using namespace mpconform;

namespace {

const CaseLoader& loader() {
  static CaseLoader l(std::string(MPC_SOURCE_DIR) + "/spec/case.schema.json");
  return l;
}

const char* kHeader = R"(id: queue.example
title: An example
spec: queue.md#fifo
tags: [ordering]
level: required
)";

Case load(const std::string& body) { return loader().load_text(std::string(kHeader) + body, "cases/queue/example.yaml", "queue.example"); }

// The error message of a malformed case, or "" if it loaded.
std::string error_of(const std::string& body) {
  try {
    load(body);
  } catch (const CaseError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CaseLoader, ReadsObjectsActorsAndSteps) {
  Case c = load(R"(objects:
  - {name: q, type: Queue, kwargs: {maxsize: 2}}
  - {name: [a, b], type: Pipe}
actors:
  - {name: producer, kind: process}
  - {name: waiter, kind: thread}
steps:
  - {actor: producer, call: q.put, args: [1]}
  - {call: q.get, kwargs: {timeout: 0.5}, expect: {returns: 1, elapsed: {max: 2}}}
  - {actor: waiter, call: b.recv, as: r, expect: {blocks: 0.3}}
  - {call: a.send, args: [{$tuple: [1, "x"]}]}
  - {await: r, expect: {returns: {$tuple: [1, "x"]}}}
)");
  ASSERT_EQ(c.objects.size(), 2u);
  EXPECT_EQ(c.objects[1].names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.actors[1].in, "main");
  ASSERT_EQ(c.steps.size(), 5u);
  EXPECT_EQ(c.steps[1].actor, "main");
  EXPECT_EQ(c.steps[1].expects[0].outcome, Expectation::Outcome::Returns);
  EXPECT_EQ(*c.steps[1].expects[0].max_elapsed, 2.0);
  EXPECT_EQ(c.steps[4].actor, "waiter");
  EXPECT_EQ(c.required_ops(), (std::set<std::string>{"Queue.put", "Queue.get", "Connection.recv", "Connection.send"}));
  EXPECT_EQ(c.required_types(), (std::set<std::string>{"Queue", "Pipe", "Process"}));
}

TEST(CaseLoader, ResolvesPlainScalarsLikeYaml12) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - {call: q.put, args: [123456789012345678901234567890, -0.0, .nan, "12", true, null, 0x10, abc, ""]}
)");
  const json& args = c.steps[0].args;
  EXPECT_EQ(args[0], make_int("123456789012345678901234567890"));
  EXPECT_EQ(args[1]["v"], "-0.0");
  EXPECT_EQ(args[2]["v"], "nan");
  EXPECT_EQ(args[3], make_str("12"));
  EXPECT_EQ(args[4], make_bool(true));
  EXPECT_EQ(args[5], make_none());
  EXPECT_EQ(args[6], make_int(16));
  EXPECT_EQ(args[7], make_str("abc"));
  EXPECT_EQ(args[8], make_str(""));
}

TEST(CaseLoader, ReadsDollarForms) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - call: q.put
    args:
      - {$bytes: "a\x00\xff"}
      - {$bytearray_hex: "00 ff"}
      - {$set: [1, 2]}
      - {$dict: [[1, one]]}
      - {$range: [0, 6, 2]}
      - {$payload: {size: 10, seed: 1}}
      - {$unpicklable: null}
      - {$ref: q}
)");
  const json& a = c.steps[0].args;
  EXPECT_EQ(a[0], make_bytes(std::string("a\0\xff", 3)));
  EXPECT_EQ(a[1], make_bytes(std::string("\0\xff", 2), true));
  EXPECT_EQ(a[2]["t"], "set");
  EXPECT_EQ(a[3]["v"][0][0], make_int(1));
  EXPECT_EQ(a[4]["v"].size(), 3u);
  EXPECT_EQ(a[5], (json{{"t", "payload"}, {"size", 10}, {"seed", 1}}));
  EXPECT_EQ(a[6]["t"], "unpicklable");
  EXPECT_EQ(a[7], (json{{"t", "ref"}, {"name", "q"}}));
}

TEST(CaseLoader, ChoosesTheExpectationForAVersion) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - call: q.empty
    expect:
      - {versions: "<3.9", raises: OSError}
      - {versions: ">=3.9", returns: true}
)");
  EXPECT_EQ(c.expectation_for(c.steps[0], {3, 8})->outcome, Expectation::Outcome::Raises);
  EXPECT_EQ(c.expectation_for(c.steps[0], {3, 13})->outcome, Expectation::Outcome::Returns);
}

TEST(CaseLoader, AnUncoveredVersionIsACaseError) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - call: q.empty
    expect:
      - {versions: ">=3.9", returns: true}
)");
  EXPECT_THROW(c.expectation_for(c.steps[0], {3, 8}), CaseError);
}

TEST(CaseLoader, SchemaErrorsNameFileLineColumnAndReason) {
  std::string e = error_of("steps:\n  - {call: q.get, expct: {returns: 1}}\n");
  EXPECT_NE(e.find("cases/queue/example.yaml:7:5: schema:"), std::string::npos) << e;
  EXPECT_NE(e.find("expct"), std::string::npos) << e;
}

TEST(CaseLoader, TwoOutcomesAreNamed) {
  std::string e = error_of("objects: [{name: q, type: Queue}]\nsteps:\n  - {call: q.get, expect: {returns: 1, raises: ValueError}}\n");
  EXPECT_NE(e.find(":8:27: expect has 'returns' and 'raises'"), std::string::npos) << e;
}

TEST(CaseLoader, YamlSyntaxErrorsHaveAPosition) {
  try {
    loader().load_text("id: x\ntitle: [oops\n", "f.yaml", "x");
    FAIL() << "loaded";
  } catch (const CaseError& e) {
    EXPECT_EQ(e.pos.file, "f.yaml");
    EXPECT_GT(e.pos.line, 0);
    EXPECT_NE(std::string(e.what()).find("not valid YAML"), std::string::npos);
  }
}

TEST(CaseLoader, IdMustMatchThePath) {
  EXPECT_THROW(loader().load_text(kHeader + std::string("steps: [{call: sleep, args: [0]}]\n"), "f.yaml", "queue.other"), CaseError);
}

TEST(CaseLoader, SemanticMistakesAreCaught) {
  EXPECT_NE(error_of("steps: [{call: q.get}]\n").find("unknown object 'q'"), std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{actor: ghost, call: q.get}]\n").find("unknown actor"), std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.get, expect: {blocks: 0.3}}]\n").find("needs 'as'"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.get, as: g, expect: {blocks: 0.3}}]\n").find("still in flight"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}, {name: q, type: Queue}]\nsteps: [{call: q.get}]\n").find("used twice"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: [a, b], type: Queue}]\nsteps: [{call: a.get}]\n").find("only a Pipe"), std::string::npos);
  EXPECT_NE(error_of("steps: [{await: nothing}]\n").find("not a call in flight"), std::string::npos);
  EXPECT_NE(error_of("steps: [{call: exit}]\n").find("main cannot exit"), std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [{$bytes: \"\\u0100\"}]}]\n").find("0-255"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [{$nope: 1}]}]\n").find("unknown value form"),
            std::string::npos);
}

TEST(CaseLoader, AnActorMakesOneCallAtATime) {
  std::string e = error_of(R"(objects: [{name: q, type: Queue}]
steps:
  - {call: q.get, as: g, expect: {blocks: 0.3}}
  - {call: q.put, args: [1]}
  - {await: g}
)");
  EXPECT_NE(e.find("busy with call 'g'"), std::string::npos) << e;
}

TEST(CaseLoader, EveryCaseInTheTreeLoads) {
  auto loaded = loader().load_tree(std::string(MPC_SOURCE_DIR) + "/cases");
  for (const auto& e : loaded.errors) ADD_FAILURE() << e;
  EXPECT_GE(loaded.cases.size(), 1u);
}
