#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

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

Case load(const std::string& body) {
  return loader().load_text(std::string(kHeader) + body, "cases/queue/example.yaml", "queue.example");
}

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

TEST(CaseLoader, ReadsLocalFunctionsAndClassesAsFeatures) {
  Case c = load(R"(objects: [{name: q, type: SimpleQueue}]
steps:
  - call: q.put
    args: [[{$local_function: null}]]
  - call: operator.getitem
    args: [{$class: multiprocessing.queues.Queue}, {$class: int}]
    expect: {returns_matching: {type: object, match: "Queue\\[int\\]"}}
)");
  EXPECT_EQ(c.steps[0].args[0]["v"][0], (json{{"t", "local_function"}}));
  EXPECT_EQ(c.steps[1].args[0], (json{{"t", "class"}, {"v", "multiprocessing.queues.Queue"}}));
  EXPECT_TRUE(c.required_features().contains("local_function"));  // found inside a list
  EXPECT_TRUE(c.required_features().contains("class"));
  EXPECT_TRUE(c.required_ops().contains("operator.getitem"));
  EXPECT_NE(error_of("steps: [{call: operator.getitem, args: [{$class: \"os system\"}, 1]}]\n").find("$class takes"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [{$local_function: 1}]}]\n")
                .find("$local_function takes null"),
            std::string::npos);
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
  std::string e = error_of(
      "objects: [{name: q, type: Queue}]\nsteps:\n  - {call: q.get, expect: {returns: 1, raises: ValueError}}\n");
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
  EXPECT_THROW(
      loader().load_text(kHeader + std::string("steps: [{call: sleep, args: [0]}]\n"), "f.yaml", "queue.other"),
      CaseError);
}

TEST(CaseLoader, SemanticMistakesAreCaught) {
  EXPECT_NE(error_of("steps: [{call: q.get}]\n").find("unknown object 'q'"), std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{actor: ghost, call: q.get}]\n").find("unknown actor"),
            std::string::npos);
  EXPECT_NE(
      error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.get, expect: {blocks: 0.3}}]\n").find("needs 'as'"),
      std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.get, as: g, expect: {blocks: 0.3}}]\n")
                .find("still in flight"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}, {name: q, type: Queue}]\nsteps: [{call: q.get}]\n")
                .find("used twice"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: [a, b], type: Queue}]\nsteps: [{call: a.get}]\n").find("only a Pipe"),
            std::string::npos);
  EXPECT_NE(error_of("steps: [{await: nothing}]\n").find("not a call in flight"), std::string::npos);
  EXPECT_NE(error_of("steps: [{call: exit}]\n").find("main cannot exit"), std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [{$bytes: \"\\u0100\"}]}]\n")
                .find("0-255"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [{$nope: 1}]}]\n")
                .find("unknown value form"),
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

// ---- issue 7, items 9-15: hostile and careless case files ----
//
// Each reproducer is a file in tests/runner/hostile/ (written by its generate.py). Every one must
// be refused with the file, line:column and reason, at once and in little memory.

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  std::string error;  // "" if it loaded
  double seconds = 0;
};

Outcome load_timed(const CaseLoader& l, const std::string& text, const std::string& file) {
  Outcome out;
  auto t0 = std::chrono::steady_clock::now();
  try {
    l.load_text(text, file, "");
  } catch (const CaseError& e) {
    out.error = e.what();
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Outcome hostile(const std::string& name) {
  const std::string text = read_file(std::string(MPC_SOURCE_DIR) + "/tests/runner/hostile/" + name);
  EXPECT_TRUE(name == "empty.yaml" || !text.empty()) << name << " is missing: run tests/runner/hostile/generate.py";
  return load_timed(loader(), text, "hostile/" + name);
}

// Whether every byte of a message is ASCII: a report must never carry a byte from the input.
bool ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

long peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

const char* kCase = R"(id: queue.example
title: An example
spec: queue.md#fifo
tags: [ordering]
level: required
objects: [{name: q, type: Queue}]
)";

}  // namespace

// file -> the start of its error: "hostile/FILE:LINE:COL: reason"
const std::vector<std::pair<std::string, std::string>> kHostile = {
    // 9: an unknown operation on a known type is malformed, not unsupported
    {"unknown_op.yaml", ":8:11: Queue has no operation 'frobnicate' (spec/api.yaml lists cancel_join_thread, close,"},
    // 11: the line of the second key; a second document
    {"duplicate_key_timeout.yaml", ":8:1: duplicate key 'timeout' (first at 6:1)"},
    {"duplicate_key_nested.yaml", ":9:39: duplicate key 'timeout' (first at 9:14)"},
    {"second_document.yaml", ":9:1: a second YAML document starts here: a case file holds exactly one"},
    // 12: durations
    {"timeout_nan.yaml", ":6:10: timeout must be a finite number of seconds, not .nan"},
    {"timeout_1e300.yaml", ":6:10: timeout of 1e+300 s is more than --max-case-timeout (600.0 s)"},
    {"blocks_inf.yaml", ":8:43: blocks must be a finite number of seconds, not .inf"},
    {"blocks_1e300.yaml", ":8:43: blocks of 1e+300 s is more than the case's timeout (30.0 s)"},
    {"blocks_nan.yaml", ":8:43: blocks must be a finite number of seconds, not .nan"},
    {"blocks_past_timeout.yaml", ":9:43: blocks of 6.0 s is more than the case's timeout (5.0 s)"},
    {"elapsed_max_inf.yaml", ":8:60: elapsed.max must be a finite number of seconds, not .inf"},
    {"elapsed_max_nan.yaml", ":8:60: elapsed.max must be a finite number of seconds, not .nan"},
    {"elapsed_min_nan.yaml", ":8:60: elapsed.min must be a finite number of seconds, not .nan"},
    {"sleep_inf.yaml", ":7:26: sleep must be a finite number of seconds, not inf"},
    // 13: payloads past --max-payload-bytes, where the runner would digest them
    {"payload_1e10.yaml", ":9:55: $payload of 10000000000 bytes is more than 268435456 (--max-payload-bytes)"},
    {"payload_1e15.yaml", ":9:55: $payload of 1000000000000000 bytes is more than 268435456 (--max-payload-bytes)"},
    // 14: the node budget stops the expansion before it happens
    {"range_bomb.yaml", ":9:22: more than 1000000 items (YAML nodes, aliases expanded, and $range items count"},
    {"alias_bomb.yaml", ":16:16: more than 1000000 items (YAML nodes, aliases expanded, and $range items count"},
    {"recursive_alias.yaml", ":9:15: an alias inside the node it refers to (a recursive alias)"},
    // 15: nesting, an empty file, bytes that are not UTF-8, control characters
    {"nesting_500.yaml", ":9:72: nested deeper than 64 levels (--max-case-nesting)"},
    {"empty.yaml", ":1:1: the file holds no YAML document: a case is a YAML mapping"},
    {"non_utf8_key.yaml", ":9:17: not valid UTF-8: byte \\xff (a case file is UTF-8 text)"},
    {"non_utf8_string.yaml", ":9:16: not valid UTF-8: byte \\xe9 (a case file is UTF-8 text)"},
    {"nul_byte.yaml", ":9:13: control character U+0000 in the text: YAML allows only tab and line breaks"},
    // a match pattern outside the dialect: the column in the pattern, and what is not supported
    {"match_backreference.yaml", ":9:49: bad regular expression: column 5: backreferences (\\1) are not supported"},
};

TEST(HostileCases, EachIsRefusedAtOnceWithFileLineColumnAndReason) {
  for (const auto& [name, want] : kHostile) {
    Outcome o = hostile(name);
    EXPECT_EQ(o.error.rfind("hostile/" + name + want, 0), 0u)
        << name << "\n  got:  " << o.error << "\n  want: hostile/" << name << want;
    EXPECT_LT(o.seconds, 0.25) << name;
    EXPECT_TRUE(ascii(o.error)) << name << ": the message carries a byte of the input";
  }
  EXPECT_LT(peak_rss_mib(), 200) << "the hostile files must be refused in little memory";
}

TEST(HostileCases, TheGeneratorWroteEveryFileThatIsChecked) {
  // A reproducer added to generate.py must be checked above; one removed must not linger.
  std::set<std::string> files, checked;
  for (const auto& e : std::filesystem::directory_iterator(std::string(MPC_SOURCE_DIR) + "/tests/runner/hostile"))
    if (e.path().extension() == ".yaml") files.insert(e.path().filename().string());
  for (const auto& [name, want] : kHostile) checked.insert(name);
  EXPECT_EQ(files, checked);
}

TEST(HostileCases, AFileLargerThanTheBoundIsRefusedBeforeParsing) {
  // 14: a 5 MB list of ints took 47 s and 3 GB.
  std::string text = std::string(kCase) + "steps:\n  - call: q.put_many\n    args: [[";
  while (text.size() < 5'000'000) text += "1,";
  text += "1]]\n";
  Outcome o = load_timed(loader(), text, "big.yaml");
  EXPECT_EQ(o.error,
            "big.yaml: the file is " + std::to_string(text.size()) + " bytes, more than 1048576 (--max-case-bytes)");
  EXPECT_LT(o.seconds, 0.1);
}

TEST(HostileCases, ThreeRangesJustUnderTheBoundStillStopAtTheSumOfThem) {
  // Each $range fits alone; their sum does not: the budget is per case, not per form.
  Outcome o = load_timed(loader(),
                         std::string(kCase) +
                             "steps:\n  - {call: q.put_many, args: [[{$range: [0, 400000]}, {$range: [0, 400000]}, "
                             "{$range: [0, 400000]}]]}\n",
                         "r.yaml");
  EXPECT_EQ(o.error.rfind("r.yaml:8:87: more than 1000000 items", 0), 0u) << o.error;
  EXPECT_LT(o.seconds, 1.0);
}

TEST(HostileCases, AnAliasThatNestsTooDeepOnceExpandedIsRefused) {
  // Each anchor nests 40 levels, so the alias inside another 40 would make 80.
  std::string deep = std::string(40, '[') + std::string(40, ']');
  Outcome o = load_timed(loader(),
                         std::string(kCase) + "steps:\n  - {call: q.put, args: [&a " + deep + ", " +
                             std::string(39, '[') + "*a" + std::string(39, ']') + "]}\n",
                         "n.yaml");
  EXPECT_NE(o.error.find("nested deeper than 64 levels"), std::string::npos) << o.error;
}

TEST(HostileCases, ADurationPastTheLargestDoubleIsNotFinite) {
  EXPECT_EQ(error_of("timeout: 1e400\nsteps: [{call: sleep, args: [0]}]\n"),
            "cases/queue/example.yaml:6:10: timeout must be a finite number of seconds, not 1e400");
}

TEST(HostileCases, EscapesThatMakeNoValidUtf8AreRefused) {
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.put, args: [\"\\ud800\"]}]\n").find(":7:"),
            std::string::npos);
}

TEST(HostileCases, AHexIntegerOfTooManyDigitsIsRefusedAtOnce) {
  // The conversion to decimal is quadratic; Python refuses more than 4300 digits too.
  Outcome o = load_timed(
      loader(), std::string(kCase) + "steps:\n  - {call: q.put, args: [0x" + std::string(500'000, 'f') + "]}\n",
      "h.yaml");
  EXPECT_EQ(o.error.rfind("h.yaml:8:26: an integer of more than 4300 digits", 0), 0u) << o.error.substr(0, 200);
  EXPECT_LT(o.seconds, 0.5);
}

TEST(HostileCases, TheBoundsAreThoseOfTheLimitsGiven) {
  const std::string schema = std::string(MPC_SOURCE_DIR) + "/spec/case.schema.json";
  auto error_with = [&](const Limits& limits, const std::string& body) {
    return load_timed(CaseLoader(schema, limits), std::string(kCase) + body, "l.yaml").error;
  };
  const std::string put = "steps:\n  - {call: q.put, args: [[[1]]]}\n";
  EXPECT_EQ(error_with(Limits{}, put), "");
  EXPECT_EQ(error_with(Limits{.case_nesting = 5}, put).rfind("l.yaml:8:27: nested deeper than 5 levels", 0), 0u);
  EXPECT_EQ(error_with(Limits{.generated_items = 20}, put).rfind("l.yaml:", 0), 0u);
  EXPECT_NE(error_with(Limits{.generated_items = 20}, put).find("more than 20 items"), std::string::npos);
  EXPECT_EQ(error_with(Limits{.case_file_bytes = 100}, put).rfind("l.yaml: the file is", 0), 0u);
  EXPECT_EQ(
      error_with(Limits{.payload_bytes = 10}, "steps:\n  - {call: q.put, args: [{$payload: {size: 11, seed: 1}}]}\n"),
      "l.yaml:8:44: $payload of 11 bytes is more than 10 (--max-payload-bytes)");
  EXPECT_EQ(error_with(Limits{.case_timeout = 10}, "timeout: 11\n" + put),
            "l.yaml:7:10: timeout of 11.0 s is more than --max-case-timeout (10.0 s)");
  // Without a timeout, a case gets the default of 30 s or the bound, whichever is less.
  Case c = CaseLoader(schema, Limits{.case_timeout = 10}).load_text(std::string(kCase) + put, "l.yaml", "");
  EXPECT_EQ(c.timeout, 10.0);
}

TEST(HostileCases, TwoFilesWithOneIdAreBothRefusedNamingEachOther) {
  // 10: queue/x.y.yaml and queue/x/y.yaml both had id queue.x.y.
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("mpconform-ids-" + std::to_string(getpid()));
  fs::create_directories(root / "queue" / "x");
  auto write = [&](const fs::path& p, const std::string& id) {
    std::ofstream(p)
        << "id: " << id
        << "\ntitle: t\nspec: queue.md#fifo\ntags: [ordering]\nlevel: required\nsteps: [{call: sleep, args: [0]}]\n";
  };
  write(root / "queue" / "x.y.yaml", "queue.x.y");
  write(root / "queue" / "x" / "y.yaml", "queue.x.y");
  write(root / "queue" / "a-b.yaml", "queue.a_b");
  write(root / "queue" / "fine.yaml", "queue.fine");
  auto loaded = loader().load_tree(root);
  ASSERT_EQ(loaded.cases.size(), 1u);
  EXPECT_EQ(loaded.cases[0].id, "queue.fine");
  ASSERT_EQ(loaded.errors.size(), 3u);
  const std::string a = (root / "queue" / "x.y.yaml").string(), b = (root / "queue" / "x" / "y.yaml").string();
  EXPECT_EQ(loaded.errors[0],
            (root / "queue" / "a-b.yaml").string() +
                ": path component 'a-b' may hold only a-z, 0-9 and _ (the id is the path below cases/ with / as ., "
                "so a . or any other character would make ids collide or break filters)");
  EXPECT_EQ(loaded.errors[1], b + ": its id 'queue.x.y' is also the id of " + a + ": two cases cannot share an id");
  EXPECT_EQ(loaded.errors[2], a + ": its id 'queue.x.y' is also the id of " + b + ": two cases cannot share an id");
  fs::remove_all(root);
}

TEST(HostileCases, APathComponentWithADotIsRefusedEvenAlone) {
  EXPECT_THROW(case_id_of("queue/x.y.yaml", "f"), CaseError);
  EXPECT_THROW(case_id_of("x.yaml", "f"), CaseError);
  EXPECT_EQ(case_id_of("queue/x/y.yaml", "f"), "queue.x.y");
}

// ---- the API registry (spec/api.yaml) ----

TEST(ApiRegistry, UnknownTypesAndOperationsAreMalformedCases) {
  // The message lists the registry's constructible types, in order (the list grows with the registry).
  const std::string unknown = error_of("objects: [{name: q, type: Queueue}]\nsteps: [{call: q.get}]\n");
  EXPECT_NE(unknown.find(":6:27: unknown object type 'Queueue' (spec/api.yaml has "), std::string::npos) << unknown;
  EXPECT_NE(unknown.find(", JoinableQueue, "), std::string::npos) << unknown;
  EXPECT_NE(unknown.find(", Queue, "), std::string::npos) << unknown;
  EXPECT_EQ(unknown.find("Connection"), std::string::npos) << unknown;  // made by Pipe, not constructible
  EXPECT_NE(error_of("objects: [{name: [a, b], type: Pipe}]\nsteps: [{call: a.put, args: [1]}]\n")
                .find("Connection has no operation 'put'"),
            std::string::npos);
  EXPECT_NE(error_of("actors: [{name: p, kind: process}]\nsteps: [{call: p.frobnicate}]\n")
                .find("Process has no operation 'frobnicate'"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: [a, b], type: Pipe}]\nsteps: [{call: a.closed, args: [1]}]\n")
                .find("Connection.closed is an attribute: it is read with no args or kwargs"),
            std::string::npos);
  // JoinableQueue extends Queue.
  EXPECT_EQ(
      error_of("objects: [{name: q, type: JoinableQueue}]\nsteps: [{call: q.put, args: [1]}, {call: q.task_done}]\n"),
      "");
}

TEST(ApiRegistry, EveryOperationAndExceptionOfTheCasesIsInTheRegistry) {
  auto loaded = loader().load_tree(std::string(MPC_SOURCE_DIR) + "/cases");
  ASSERT_TRUE(loaded.errors.empty());
  const ApiRegistry& api = loader().api();
  std::size_t checked = 0;
  for (const auto& c : loaded.cases)
    for (const auto& s : c.steps) {
      if (s.kind != Step::Kind::Call) continue;
      if (s.target.empty() && !is_function_call(s.method)) continue;
      const std::string type = s.target.empty() ? "" : c.type_of(s.target);
      auto function = api.functions.find(s.method);
      const ApiRegistry::Operation* op =
          s.target.empty() ? (function == api.functions.end() ? nullptr : &function->second) : api.find(type, s.method);
      ASSERT_NE(op, nullptr) << c.id << ": " << type << "." << s.method;
      ++checked;
      for (const auto& e : s.expects)
        if (e.outcome == Expectation::Outcome::Raises)
          EXPECT_NE(std::find(op->raises.begin(), op->raises.end(), e.exc_type), op->raises.end())
              << c.id << ": " << type << "." << s.method << " raises " << e.exc_type
              << ", which spec/api.yaml does not list";
    }
  EXPECT_GT(checked, 100u);
}

namespace {

// The hello of an adapter: started in a process group of its own, given a ROUTER endpoint,
// sent teardown at once, and its group killed at the end.
json hello_of(std::vector<std::string> argv) {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  argv.push_back("--endpoint");
  argv.push_back(router.get(zmq::sockopt::last_endpoint));
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  setpgid(pid, pid);
  json hello;
  zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(30000)) > 0) {
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(router, std::back_inserter(parts));
    if (parts.size() == 2) {
      hello = json::parse(parts[1].to_string(), nullptr, false);
      const std::string teardown = json{{"protocol", 1}, {"type", "teardown"}, {"seq", 1}}.dump();
      router.send(zmq::buffer(parts[0].to_string()), zmq::send_flags::sndmore);
      router.send(zmq::buffer(teardown), zmq::send_flags::none);
      zmq::poll(&item, 1, std::chrono::milliseconds(5000));  // goodbye
    }
  }
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return hello;
}

void expect_subset_of_registry(const json& hello, const std::string& who) {
  ASSERT_TRUE(hello.is_object() && hello.contains("capabilities")) << who << " sent no hello: " << hello.dump();
  const ApiRegistry& api = loader().api();
  const auto ops = api.all_ops();
  std::size_t n = 0;
  for (const auto& op : hello["capabilities"]["ops"]) {
    EXPECT_TRUE(std::binary_search(ops.begin(), ops.end(), op.get<std::string>()))
        << who << " offers " << op << ", not in spec/api.yaml";
    ++n;
  }
  for (const auto& t : hello["capabilities"]["types"])
    EXPECT_NE(api.type(t.get<std::string>()), nullptr) << who << " offers type " << t << ", not in spec/api.yaml";
  EXPECT_GT(n, 40u) << who;
}

}  // namespace

TEST(ApiRegistry, TheCpythonAdaptersHelloIsASubsetOfTheRegistry) {
  expect_subset_of_registry(
      hello_of({"/usr/bin/python3", std::string(MPC_SOURCE_DIR) + "/harness/adapters/cpython/adapter.py"}),
      "the CPython adapter");
}

#ifdef MPC_CPP_ADAPTER
TEST(ApiRegistry, TheCppAdaptersHelloIsASubsetOfTheRegistry) {
  expect_subset_of_registry(hello_of({MPC_CPP_ADAPTER}), "the C++ adapter");
}
#endif

TEST(HostileCases, RunningOutOfMemoryIsACaseErrorNotACrash) {
  // 14: under a memory cap the alias bomb died on an uncaught std::bad_alloc; the node budget now
  // stops it long before (HostileCases table). With the budget lifted and the address space
  // capped, an allocation that cannot be had must still end in a CaseError. (Not the bomb itself
  // without a budget: it fills the cap, and nlohmann::json's destructor, noexcept, allocates its
  // own stack while unwinding, so no loader can promise more than the budget there.)
  for (const std::string& text :
       {std::string(kCase) + "steps:\n  - {call: q.put, args: [{$range: [0, 1000000000]}]}\n"}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // 128 MiB more address space than now: either needs far more.
      std::size_t pages = 0;
      std::ifstream("/proc/self/statm") >> pages;
      const rlim_t bytes = pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) + (std::size_t(128) << 20);
      rlimit cap{bytes, bytes};
      setrlimit(RLIMIT_AS, &cap);
      Limits unbounded;
      unbounded.generated_items = UINT64_MAX;
      int code = 3;
      try {
        CaseLoader(std::string(MPC_SOURCE_DIR) + "/spec/case.schema.json", unbounded).load_text(text, "m.yaml", "");
        code = 1;
      } catch (const CaseError& e) {
        code = std::string(e.what()) == "m.yaml: out of memory while reading the case" ? 0 : 2;
      }
      _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the loader died: status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: loaded, 2: another CaseError";
  }
}

TEST(HostileCases, InputQuotedInAMessageIsCutShort) {
  // A long key (or name, or number) would otherwise come back whole in the report.
  const std::string key(1000, 'k');  // YAML's longest implicit key is 1024 characters
  std::string e =
      error_of("objects: [{name: q, type: Queue}]\nsteps: [{call: q.get, kwargs: {" + key + ": 1, " + key + ": 2}}]\n");
  EXPECT_EQ(e.rfind("cases/queue/example.yaml:7:", 0), 0u) << e.substr(0, 200);
  EXPECT_NE(e.find("duplicate key 'kkkk"), std::string::npos) << e.substr(0, 200);
  EXPECT_LT(e.size(), 300u);
}

// ---- the case language v2 (spec/case-format.md: bound results, set, with, start steps) ----

TEST(CaseLanguageV2, BindGivesANameOfTheRegistrysOrTheStepsType) {
  Case c = load(R"(objects: [{name: [a, b], type: Pipe}]
steps:
  - {call: b.recv, bind: got, bind_type: Connection}
  - {call: got.send, args: [1]}
  - {call: multiprocessing.parent_process, bind: parent}
  - {call: parent.exitcode}
)");
  ASSERT_EQ(c.steps.size(), 4u);
  EXPECT_EQ(c.steps[0].bind, std::vector<std::string>{"got"});
  EXPECT_EQ(c.steps[0].bind_types, std::vector<std::string>{"Connection"});
  EXPECT_EQ(c.type_of("got"), "Connection");
  EXPECT_EQ(c.type_of("parent"), "Process");
  EXPECT_EQ(c.steps[2].target, "");
  EXPECT_EQ(c.steps[2].method, "multiprocessing.parent_process");
  EXPECT_TRUE(c.required_ops().contains("multiprocessing.parent_process"));
  EXPECT_TRUE(c.required_features().contains("bind"));
}

TEST(CaseLanguageV2, BindErrorsNameTheLine) {
  const std::string pipe = "objects: [{name: [a, b], type: Pipe}]\n";
  EXPECT_NE(error_of(pipe + "steps:\n  - {call: b.recv, bind: got}\n").find(":8:26: bind needs bind_type"),
            std::string::npos)
      << error_of(pipe + "steps:\n  - {call: b.recv, bind: got}\n");
  EXPECT_NE(
      error_of(pipe + "steps:\n  - {call: b.recv, bind: a, bind_type: Connection}\n").find("name 'a' is used twice"),
      std::string::npos);
  EXPECT_NE(
      error_of(pipe + "steps:\n  - {call: got.send, args: [1]}\n  - {call: b.recv, bind: got, bind_type: Connection}\n")
          .find(":8:12: unknown object 'got'"),
      std::string::npos);
  EXPECT_NE(error_of(pipe + "steps:\n  - {call: b.recv, bind: [x, y], bind_type: Connection}\n")
                .find("bind names 2 and the result has 1"),
            std::string::npos);
  EXPECT_NE(error_of(pipe + "steps:\n  - {call: b.recv, bind: x, bind_type: Nothing}\n")
                .find("bind_type 'Nothing' is not a type"),
            std::string::npos);
  // Bound in a child: main does not hold it.
  EXPECT_NE(
      error_of(
          pipe +
          "actors: [{name: p, kind: process}]\nsteps:\n  - {actor: p, call: b.recv, bind: got, bind_type: Connection}\n"
          "  - {call: got.send, args: [1]}\n")
          .find(":10:12: actor 'main' does not hold 'got'"),
      std::string::npos);
}

TEST(CaseLanguageV2, ModuleFunctionsAreTheRegistrys) {
  EXPECT_EQ(error_of("objects: [{name: [a, b], type: Pipe}]\nsteps:\n  - {call: multiprocessing.connection.wait, args: "
                     "[[{$ref: a}], 0.1]}\n"),
            "");
  EXPECT_NE(error_of("steps:\n  - {call: multiprocessing.frobnicate}\n")
                .find(":7:12: 'multiprocessing.frobnicate' is not a function"),
            std::string::npos);
}

TEST(CaseLanguageV2, SetNeedsASettableAttribute) {
  Case c = load("actors: [{name: p, kind: process}]\nsteps:\n  - {set: p.name, value: renamed}\n");
  ASSERT_EQ(c.steps.size(), 1u);
  EXPECT_TRUE(c.steps[0].set_form);
  EXPECT_EQ(c.steps[0].value, make_str("renamed"));
  EXPECT_EQ(c.steps[0].describe_call(), "p.name = 'renamed'");
  EXPECT_NE(error_of("actors: [{name: p, kind: process}]\nsteps:\n  - {set: p.exitcode, value: 1}\n")
                .find("is not a settable attribute"),
            std::string::npos);
  EXPECT_NE(error_of("actors: [{name: p, kind: process}]\nsteps:\n  - {set: p.name, value: x, args: [1]}\n")
                .find("a set step has no 'args'"),
            std::string::npos);
}

TEST(CaseLanguageV2, WithIsFlattenedIntoEnterStepsExit) {
  Case c = load(R"(objects: [{name: [a, b], type: Pipe}]
steps:
  - with: a
    expect: {returns: {$ref: a}}
    steps:
      - {call: a.closed, expect: {returns: false}}
  - {call: a.closed, expect: {returns: true}}
)");
  ASSERT_EQ(c.steps.size(), 4u);
  EXPECT_EQ(c.steps[0].method, "__enter__");
  EXPECT_EQ(c.steps[1].method, "closed");
  EXPECT_EQ(c.steps[2].method, "__exit__");
  EXPECT_TRUE(c.steps[2].expects.empty());
  EXPECT_TRUE(c.required_ops().contains("Connection.__enter__"));
  EXPECT_TRUE(c.required_features().contains("object_names"));
  EXPECT_NE(error_of("objects: [{name: q, type: Queue}]\nsteps:\n  - {with: q, steps: [{call: q.empty}]}\n")
                .find(":8:12: Queue is not a context manager"),
            std::string::npos);
  EXPECT_NE(error_of("objects: [{name: [a, b], type: Pipe}]\nsteps:\n  - {with: a, steps: [{call: a.frobnicate}]}\n")
                .find("no operation 'frobnicate'"),
            std::string::npos);
}

TEST(CaseLanguageV2, DaemonFlagOfProcessActors) {
  Case c = load(
      "actors:\n  - {name: d, kind: process, daemon: true}\n  - {name: n, kind: process}\n"
      "steps:\n  - {call: d.daemon}\n");
  ASSERT_EQ(c.actors.size(), 2u);
  EXPECT_EQ(c.actors[0].daemon, std::optional<bool>(true));
  EXPECT_FALSE(c.actors[1].daemon.has_value());
  EXPECT_NE(error_of("actors:\n  - {name: t, kind: thread, daemon: true}\nsteps:\n  - {call: sleep, args: [0]}\n")
                .find("only a process actor has a daemon flag"),
            std::string::npos);
}

TEST(CaseLanguageV2, ExitTakesWhatSysExitTakes) {
  for (const char* code : {"3", "true", "null", "bye", "[1, 2, 3]"})
    EXPECT_NO_THROW(load(std::string("actors: [{name: c, kind: process}]\nsteps:\n  - {actor: c, call: exit, args: [") +
                         code + "]}\n"))
        << code;
  EXPECT_NE(error_of("actors: [{name: c, kind: process}]\nsteps:\n  - {actor: c, call: exit, args: [{a: 1}]}\n")
                .find("exit's code is"),
            std::string::npos);
}

TEST(CaseLanguageV2, StartStepsAndGrandchildren) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
actors:
  - {name: child, kind: process, start: step}
  - {name: grandchild, kind: process, in: child, start: step, start_method: spawn}
steps:
  - {start: child}
  - {actor: child, call: q.put, args: [1]}
  - {start: grandchild}
  - {actor: grandchild, call: q.get}
  - {actor: child, call: grandchild.join}
)");
  ASSERT_EQ(c.steps.size(), 5u);
  EXPECT_EQ(c.steps[0].actor, "main");
  EXPECT_EQ(c.steps[0].method, "start");
  EXPECT_EQ(c.steps[2].actor, "child");
  EXPECT_TRUE(c.required_features().contains("step_start"));
  EXPECT_TRUE(c.required_contexts().contains("spawn"));
  const std::string actors =
      "objects: [{name: q, type: Queue}]\nactors:\n  - {name: child, kind: process, start: step}\n";
  EXPECT_NE(error_of(actors + "steps:\n  - {actor: child, call: q.put, args: [1]}\n")
                .find("actor 'child' is not started yet"),
            std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {start: child}\n  - {start: child}\n").find("is started twice"),
            std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {start: child}\n  - {actor: child, call: child.join}\n")
                .find("actor 'child' does not hold 'child'"),
            std::string::npos);
  EXPECT_NE(error_of("actors:\n  - {name: c, kind: process}\n  - {name: g, kind: process, in: c}\nsteps: [{call: "
                     "sleep, args: [0]}]\n")
                .find("has start: step"),
            std::string::npos);
  EXPECT_NE(error_of("actors:\n  - {name: t, kind: thread, start: step}\nsteps: [{call: sleep, args: [0]}]\n")
                .find("only a process actor is started by a step"),
            std::string::npos);
}

TEST(CaseLanguageV2, ProcessEnds) {
  const std::string actors =
      "objects: [{name: q, type: Queue}]\nactors: [{name: p, kind: process}, {name: t, kind: thread}]\n";
  Case c = load(actors + "steps:\n  - {actor: p, call: exit, args: [null]}\n  - {call: p.join}\n");
  EXPECT_TRUE(c.required_features().contains("process_end"));
  EXPECT_FALSE(
      load(actors + "steps:\n  - {actor: p, call: exit, args: [3]}\n").required_features().contains("process_end"));
  EXPECT_EQ(error_of(actors + "steps:\n  - {actor: p, call: raise, args: [ValueError, boom]}\n"), "");
  EXPECT_EQ(error_of(actors + "steps:\n  - {actor: p, call: return}\n"), "");
  EXPECT_NE(error_of(actors + "steps:\n  - {actor: p, call: exit, args: [1.5]}\n")
                .find("exit's code is an int, a bool, None, a str or a list"),
            std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {actor: p, call: raise, args: [ValueError]}\n")
                .find("raise takes args: [TYPE, MESSAGE]"),
            std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {actor: t, call: return}\n").find("'t' is a thread"), std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {call: return}\n").find("main cannot return"), std::string::npos);
  EXPECT_NE(error_of(actors + "steps:\n  - {actor: p, call: return}\n  - {actor: p, call: q.empty}\n")
                .find("has already exited"),
            std::string::npos);
}

// ---- case language v2, runner-only forms (spec/case-format.md) ----

TEST(CaseLanguageV2RunnerForms, KeysChooseTheFirstExpectationThatMatches) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - call: q.empty
    expect:
      - {versions: "<3.9", raises: OSError}
      - {start_methods: [spawn], platforms: [linux], returns: false}
      - {returns: true}
)");
  using O = Expectation::Outcome;
  EXPECT_EQ(c.expectation_for_target(c.steps[0], Target{{3, 8}, "spawn", "linux"})->outcome, O::Raises);
  EXPECT_EQ(c.expectation_for_target(c.steps[0], Target{{3, 12}, "spawn", "linux"})->outcome, O::Returns);
  EXPECT_EQ(c.expectation_for_target(c.steps[0], Target{{3, 12}, "spawn", "linux"})->value, make_bool(false));
  EXPECT_EQ(c.expectation_for_target(c.steps[0], Target{{3, 12}, "fork", "linux"})->value, make_bool(true));
  // An unknown platform matches no platforms key: the catch-all applies.
  EXPECT_EQ(c.expectation_for_target(c.steps[0], Target{{3, 12}, "spawn", ""})->value, make_bool(true));
}

TEST(CaseLanguageV2RunnerForms, AnUncoveredStartMethodIsACaseErrorNamingIt) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - call: q.empty
    expect:
      - {start_methods: [fork], returns: true}
)");
  try {
    c.expectation_for_target(c.steps[0], Target{{3, 12}, "spawn", "linux"});
    FAIL() << "an expectation applied";
  } catch (const CaseError& e) {
    EXPECT_NE(std::string(e.what()).find("start method spawn"), std::string::npos) << e.what();
  }
}

TEST(CaseLanguageV2RunnerForms, MalformedKeysAreRefusedWithTheirPosition) {
  // Only the last item of a list may carry no key.
  std::string e = error_of(
      "objects: [{name: q, type: Queue}]\nsteps:\n  - call: q.empty\n    expect:\n      - {returns: true}\n"
      "      - {versions: \">=3.9\", returns: true}\n");
  EXPECT_NE(e.find(":10:9: an expectation of a list that is not the last"), std::string::npos) << e;
  e = error_of(
      "objects: [{name: q, type: Queue}]\nsteps:\n  - {call: q.empty, expect: {platforms: [linux], returns: true}}\n");
  EXPECT_NE(e.find(":8:41: a single expectation has no platforms"), std::string::npos) << e;
  e = error_of(
      "objects: [{name: q, type: Queue}]\nsteps:\n  - call: q.empty\n    expect:\n      - {start_methods: [vfork], "
      "returns: true}\n      - {returns: true}\n");
  EXPECT_NE(e.find("schema:"), std::string::npos) << e;
  e = error_of("start_methods: [fork, fork]\nsteps: [{call: sleep, args: [0]}]\n");
  EXPECT_NE(e.find(":6:16: schema: at [start_methods]"), std::string::npos) << e;
}

TEST(CaseLanguageV2RunnerForms, ReadsCaseLevelStartMethodsAndOutput) {
  Case c = load(R"(start_methods: [fork, forkserver]
output:
  - {match: "Traceback"}
  - {not_match: "Warning", versions: ">=3.12", platforms: [linux]}
steps: [{call: sleep, args: [0]}]
)");
  EXPECT_EQ(c.start_methods, (std::vector<std::string>{"fork", "forkserver"}));
  ASSERT_EQ(c.output.size(), 2u);
  EXPECT_TRUE(c.output[0].must_match);
  EXPECT_EQ(c.output[0].pattern, "Traceback");
  EXPECT_FALSE(c.output[1].must_match);
  EXPECT_EQ(c.output[1].pos.line, 9);
  EXPECT_TRUE(c.output[1].keys.matches(Target{{3, 12}, "fork", "linux"}));
  EXPECT_FALSE(c.output[1].keys.matches(Target{{3, 11}, "fork", "linux"}));
}

TEST(CaseLanguageV2RunnerForms, MalformedOutputPatternsAreRefused) {
  EXPECT_NE(error_of("output: [{match: \"(a\"}]\nsteps: [{call: sleep, args: [0]}]\n").find(": bad regular expression"),
            std::string::npos);
  EXPECT_NE(error_of("output: [{match: a, not_match: b}]\nsteps: [{call: sleep, args: [0]}]\n").find("schema:"),
            std::string::npos);
  EXPECT_NE(error_of("output: [{versions: \">=3.9\"}]\nsteps: [{call: sleep, args: [0]}]\n").find("schema:"),
            std::string::npos);
}

TEST(CaseLanguageV2RunnerForms, ReadsSignalStepsAndKilledAwaits) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}]
steps:
  - {actor: child, call: q.get, as: g, expect: {blocks: 0.3}}
  - {signal: SIGKILL, actor: child}
  - {await: g, expect: {killed: true}}
)");
  ASSERT_EQ(c.steps.size(), 3u);
  EXPECT_EQ(c.steps[1].kind, Step::Kind::Signal);
  EXPECT_EQ(c.steps[1].signal, SIGKILL);
  EXPECT_EQ(c.steps[1].describe_call(), "signal SIGKILL to child");
  EXPECT_EQ(c.steps[2].expects[0].outcome, Expectation::Outcome::Killed);
}

TEST(CaseLanguageV2RunnerForms, MalformedSignalsAreRefusedWithTheirPosition) {
  const std::string decl =
      "objects: [{name: q, type: Queue}]\nactors: [{name: child, kind: process}, {name: t, kind: thread, in: "
      "child}]\nsteps:\n";
  EXPECT_NE(error_of(decl + "  - {signal: SIGNOPE, actor: child}\n").find(": unknown signal 'SIGNOPE'"),
            std::string::npos);
  EXPECT_NE(error_of(decl + "  - {signal: SIGTERM, actor: main}\n")
                .find("a signal goes to a process actor; 'main' is the controller"),
            std::string::npos);
  EXPECT_NE(error_of(decl + "  - {signal: SIGTERM, actor: t}\n").find("'t' is a thread"), std::string::npos);
  EXPECT_NE(error_of(decl + "  - {signal: SIGTERM}\n").find("schema:"), std::string::npos);
  // After SIGKILL the actor and its threads are gone.
  std::string e = error_of(decl + "  - {signal: SIGKILL, actor: child}\n  - {actor: t, call: q.put, args: [1]}\n");
  EXPECT_NE(e.find(":10:5: actor 't' is gone: its process was killed by the signal at line 9"), std::string::npos) << e;
  e = error_of(decl + "  - {signal: SIGKILL, actor: child}\n  - {signal: SIGKILL, actor: child}\n");
  EXPECT_NE(e.find("actor 'child' is gone"), std::string::npos) << e;
  // killed needs a signal to the call's process while it is in flight, and an await.
  e = error_of(
      decl + "  - {actor: child, call: q.get, as: g, expect: {blocks: 0.3}}\n  - {await: g, expect: {killed: true}}\n");
  EXPECT_NE(e.find(":10:5: killed: no signal step goes to the process of 'child' while 'g' is in flight"),
            std::string::npos)
      << e;
  e = error_of(decl +
               "  - {signal: SIGTERM, actor: child}\n  - {actor: child, call: q.get, as: g, expect: {blocks: 0.3}}\n"
               "  - {await: g, expect: {killed: true}}\n");
  EXPECT_NE(e.find("killed: no signal step"), std::string::npos) << e;
  e = error_of(decl +
               "  - {actor: t, call: q.get, as: g, expect: {blocks: 0.3}}\n  - {signal: SIGKILL, actor: child}\n"
               "  - {await: g, expect: {killed: true, elapsed: {max: 1}}}\n");
  EXPECT_NE(e.find("elapsed does not go with killed"), std::string::npos) << e;
}

TEST(CaseLanguageV2RunnerForms, ReadsDiesOnACallAndOnAnAwait) {
  Case c = load(R"(objects: [{name: l, type: Lock}]
actors: [{name: child, kind: process}, {name: other, kind: process}]
steps:
  - {actor: child, call: l.acquire, args: [false], expect: [{versions: "<3.11.5", dies: true}, {returns: true}]}
  - {actor: other, call: l.acquire, as: a, detach: true}
  - {await: a, expect: {dies: true}}
  - {call: child.exitcode, expect: {returns_matching: {type: int}}}
)");
  ASSERT_EQ(c.steps.size(), 4u);
  EXPECT_EQ(c.steps[0].expects[0].outcome, Expectation::Outcome::Dies);
  EXPECT_EQ(c.steps[0].expects[0].describe(),
            "never completes: its process dies first (no signal of the case) (for <3.11.5)");
  EXPECT_EQ(c.steps[2].expects[0].outcome, Expectation::Outcome::Dies);
  EXPECT_EQ(c.expectation_for(c.steps[0], Version{3, 11, 2})->outcome, Expectation::Outcome::Dies);
  EXPECT_EQ(c.expectation_for(c.steps[0], Version{3, 11, 7})->outcome, Expectation::Outcome::Returns);
}

TEST(CaseLanguageV2RunnerForms, MalformedDiesAreRefusedWithTheirPosition) {
  const std::string decl =
      "objects: [{name: q, type: Queue}]\nactors: [{name: child, kind: process}, {name: t, kind: thread, in: "
      "child}, {name: w, kind: thread}]\nsteps:\n";
  // main's process is the controller; a thread of main is in it.
  std::string e = error_of(decl + "  - {call: q.get, expect: {dies: true}}\n");
  EXPECT_NE(e.find(":9:27: dies: the call is made in main's process"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: w, call: q.get, expect: {dies: true}}\n");
  EXPECT_NE(e.find("dies: the call is made in main's process"), std::string::npos) << e;
  // After the death the process and its threads are gone.
  e = error_of(decl +
               "  - {actor: child, call: q.get, expect: {dies: true}}\n  - {actor: t, call: q.put, args: [1]}\n");
  EXPECT_NE(e.find(":10:5: actor 't' is gone: its process dies during the call at line 9"), std::string::npos) << e;
  // A death the case signals is killed, not dies.
  e = error_of(decl + "  - {signal: SIGTERM, actor: child}\n  - {actor: child, call: q.get, expect: {dies: true}}\n");
  EXPECT_NE(e.find("dies: a signal step of the case goes to the process of 'child'"), std::string::npos) << e;
  e = error_of(decl +
               "  - {actor: child, call: q.get, as: g, detach: true}\n  - {signal: SIGKILL, actor: child}\n"
               "  - {await: g, expect: {dies: true}}\n");
  EXPECT_NE(e.find("dies: a signal step of the case goes to the process of 'child'"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: child, call: q.get, expect: {dies: true, elapsed: {max: 1}}}\n");
  EXPECT_NE(e.find("elapsed does not go with dies"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: child, call: q.get, capture: x, expect: {dies: true}}\n");
  EXPECT_NE(e.find("capture keeps a returned value"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: child, call: q.get, expect: {dies: true, returns: 1}}\n");
  EXPECT_NE(e.find("an expectation has exactly one outcome"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: child, call: q.get, expect: {dies: false}}\n");
  EXPECT_NE(e.find("schema:"), std::string::npos) << e;
}

TEST(CaseLanguageV2RunnerForms, AThreadsCallIsKilledWithItsProcess) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
actors: [{name: child, kind: process}, {name: t, kind: thread, in: child}]
steps:
  - {actor: t, call: q.get, as: g, detach: true}
  - {signal: SIGKILL, actor: child}
  - {await: g, expect: {killed: true}}
)");
  EXPECT_EQ(c.steps[2].actor, "t");
}

TEST(CaseLanguageV2RunnerForms, ReadsCapturesAndPredicates) {
  Case c = load(R"(objects: [{name: q, type: Queue}]
steps:
  - {call: q.qsize, capture: n, expect: {returns_matching: {type: int, min: 0, max: 10}}}
  - {call: q.put, args: [{$captured: n}]}
  - {call: q.get, expect: {returns: {$captured: n}}}
  - {call: q.put, args: [abc]}
  - {call: q.get, expect: {returns_matching: {type: str, match: "^a.c$"}}}
)");
  EXPECT_EQ(c.steps[0].capture, "n");
  const Expectation& e = c.steps[0].expects[0];
  EXPECT_EQ(e.outcome, Expectation::Outcome::ReturnsMatching);
  EXPECT_EQ(e.match_type, "int");
  EXPECT_EQ(*e.match_max, make_int(10));
  EXPECT_EQ(c.steps[1].args[0], (json{{"t", "captured"}, {"name", "n"}}));
  EXPECT_EQ(c.steps[2].expects[0].value, (json{{"t", "captured"}, {"name", "n"}}));
  EXPECT_EQ(c.steps[4].expects[0].value_match, "^a.c$");
}

TEST(CaseLanguageV2RunnerForms, MalformedCapturesAndPredicatesAreRefused) {
  const std::string decl = "objects: [{name: q, type: Queue}]\nsteps:\n";
  std::string e = error_of(decl + "  - {call: q.put, args: [{$captured: x}]}\n");
  EXPECT_NE(e.find(":8:26: $captured 'x' is not captured by an earlier step"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.get, expect: {returns: {$captured: x}}}\n  - {call: q.qsize, capture: x}\n");
  EXPECT_NE(e.find("$captured 'x' is not captured"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, capture: x}\n  - {call: q.qsize, capture: x}\n");
  EXPECT_NE(e.find(":9:30: capture 'x' is made twice"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.get, capture: x, expect: {raises: queue.Empty}}\n");
  EXPECT_NE(e.find("capture keeps a returned value"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.get, as: g, detach: true, capture: x}\n  - {await: g}\n");
  EXPECT_NE(e.find("a detached call's value is captured by its await"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, expect: {returns_matching: {type: str, min: 1}}}\n");
  EXPECT_NE(e.find("min goes with type int or float, not str"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, expect: {returns_matching: {type: int, match: x}}}\n");
  EXPECT_NE(e.find("match goes with type str or object, not int"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, expect: {returns_matching: {type: int, min: 5, max: 1}}}\n");
  EXPECT_NE(e.find("min is greater than max"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, expect: {returns_matching: {type: integer}}}\n");
  EXPECT_NE(e.find("schema:"), std::string::npos) << e;
  e = error_of(decl + "  - {call: q.qsize, expect: {returns_matching: {type: int}, returns: 1}}\n");
  EXPECT_NE(e.find("expect has 'returns' and 'returns_matching'"), std::string::npos) << e;
}

TEST(CaseLanguageV2RunnerForms, ReadsOrderingForms) {
  Case c = load(R"(objects: [{name: q, type: JoinableQueue}]
actors: [{name: w, kind: thread}, {name: a, kind: thread}, {name: b, kind: thread}]
steps:
  - {actor: w, call: q.join, as: j, detach: true}
  - {in_flight: j}
  - {actor: a, call: q.get, as: ga, detach: true}
  - {actor: b, call: q.get, as: gb, detach: true}
  - {call: q.put, args: [1], as: p}
  - {await: [ga, gb], expect: {raises: queue.Empty}, exactly_one: {returns: 1, after: p}}
  - {call: q.task_done, as: done}
  - {await: j, expect: {returns: null, after: done}}
)");
  EXPECT_EQ(c.steps[1].kind, Step::Kind::InFlight);
  EXPECT_EQ(c.steps[1].label, "j");
  EXPECT_EQ(c.steps[5].group, (std::vector<std::string>{"ga", "gb"}));
  EXPECT_EQ(c.steps[5].exactly_one[0].after, "p");
  EXPECT_EQ(c.steps[5].describe_call(), "await ga, gb");
  EXPECT_EQ(c.steps[7].expects[0].after, "done");
}

TEST(CaseLanguageV2RunnerForms, MalformedOrderingFormsAreRefused) {
  const std::string decl =
      "objects: [{name: q, type: Queue}]\nactors: [{name: a, kind: thread}, {name: b, kind: thread}]\nsteps:\n";
  std::string e = error_of(decl + "  - {in_flight: nothing}\n");
  EXPECT_NE(e.find(":9:17: 'nothing' is not a call in flight"), std::string::npos) << e;
  e = error_of(decl +
               "  - {actor: a, call: q.get, as: g, detach: true}\n  - {await: g, expect: {ok: true, after: nope}}\n");
  EXPECT_NE(e.find("after: 'nope' is not the label ('as') of a call before this step"), std::string::npos) << e;
  e = error_of(decl +
               "  - {actor: a, call: q.get, as: g, detach: true}\n  - {await: g, expect: {ok: true, after: g}}\n");
  EXPECT_NE(e.find("after: 'g' is awaited here"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: a, call: q.get, as: g, detach: true}\n  - {await: g, exactly_one: {returns: 1}}\n");
  EXPECT_NE(e.find("exactly_one goes with an await of a list of labels"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: a, call: q.get, as: g, detach: true}\n  - {await: [g, g]}\n");
  EXPECT_NE(e.find("schema:"), std::string::npos) << e;
  e = error_of(decl +
               "  - {actor: a, call: q.get, as: g, detach: true}\n  - {actor: b, call: q.get, as: h, detach: true}\n"
               "  - {await: [g, h], capture: x}\n");
  EXPECT_NE(e.find("capture goes with an await of one call"), std::string::npos) << e;
  e = error_of(decl + "  - {actor: a, call: q.get, as: g, detach: true}\n  - {await: [g, nope]}\n");
  EXPECT_NE(e.find(":10:17: 'nope' is not a call in flight"), std::string::npos) << e;
}
