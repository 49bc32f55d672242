// The results file's entries (report.cpp) and the comparisons of `mpconform diff` (diff.cpp).
#include <gtest/gtest.h>

#include "diff.hpp"
#include "report.hpp"

namespace mpconform {
namespace {

TEST(Report, EveryVerdictNameReadsBack) {
  for (Verdict v : {Verdict::Pass, Verdict::Fail, Verdict::Differs, Verdict::Skipped, Verdict::Crashed,
                    Verdict::TimedOut, Verdict::ProtocolError, Verdict::AdapterError, Verdict::Leaked,
                    Verdict::CaseError, Verdict::RecommendedFail, Verdict::ExpectedDivergence, Verdict::NewlyPassing})
    EXPECT_EQ(verdict_from_name(verdict_name(v)), v) << verdict_name(v);
  EXPECT_THROW(verdict_from_name("fine"), std::invalid_argument);
}

// A shard's journal carries records as results entries: nothing may be lost on the way back.
TEST(Report, ARecordSurvivesTheJournal) {
  StepRecord s;
  s.index = 1;
  s.line = 12;
  s.actor = "main";
  s.call = "q.get(timeout=0.2)";
  s.expected = "raises queue.Empty";
  s.observed = "raised queue.Empty in 0.200 s";
  s.outcome = {
      {"kind", "raised"}, {"type", "queue.Empty"}, {"bases", {"Exception"}}, {"message", ""}, {"args", json::array()}};
  s.elapsed = 0.2003;
  Record r{"cpython", "queue.get_timeout_empty", "required", Verdict::TimedOut, "why", 1.5, json::object(), "details"};
  r.file = "queue/get_timeout_empty.yaml";
  r.line = 12;
  r.title = "t";
  r.spec = "queue.md#get";
  r.tags = {"timing"};
  r.rerun = "mpconform --gtest_filter='cpython.queue.get_timeout_empty'";
  r.trace = trace_to_json({s});
  const json j = record_to_json(r);
  EXPECT_EQ(record_to_json(record_from_json(j)), j);
  EXPECT_EQ(j["trace"][0]["elapsed"], 0.2003);
  EXPECT_EQ(j["trace"][0]["line"], 12);
  EXPECT_EQ(j["verdict"], "timed out");
}

TEST(Report, AStepWithoutResultHasNullElapsed) {
  StepRecord s;
  s.index = 3;
  EXPECT_TRUE(trace_to_json({s})[0]["elapsed"].is_null());
  EXPECT_TRUE(trace_to_json({s})[0]["outcome"].is_null());
}

TEST(Report, TheDocumentNamesItsFormatAndItsMalformedFiles) {
  RunInfo run;
  run.command = {"mpconform"};
  run.started = utc_iso8601(0);
  run.cases_dir = "/nonexistent-case-tree";
  Record r{"cpp", "queue.x", "required", Verdict::Pass, "", 0.1, json{{"name", "mpc"}, {"semantics", "3.12"}}, ""};
  json doc = results_document(run, {{"cpp", "cpp"}, {"never", "cmd:never=x"}}, {r},
                              {"/c/queue/bad.yaml:3:5: steps is missing"});
  EXPECT_EQ(doc["format"], "mpconform-results/1");
  EXPECT_EQ(doc["run"]["started"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(doc["run"]["cases"]["git"].is_null());
  EXPECT_EQ(doc["implementations"][0]["implementation"]["semantics"], "3.12");
  EXPECT_TRUE(doc["implementations"][1]["implementation"].is_null());  // no hello seen
  EXPECT_EQ(doc["malformed"][0],
            (json{{"file", "/c/queue/bad.yaml"}, {"line", 3}, {"error", "/c/queue/bad.yaml:3:5: steps is missing"}}));
}

DiffSide side(const std::string& name, const json& outcome, double elapsed) {
  DiffSide s;
  s.name = name;
  s.implementation = {{"label", name}, {"spec", name}, {"implementation", nullptr}};
  json st = {{"step", 1},        {"line", 5},          {"actor", "main"},    {"call", "q.get()"}, {"expected", "e"},
             {"observed", name}, {"outcome", outcome}, {"elapsed", elapsed}, {"problem", ""}};
  s.results.push_back(
      {{"case", "c.one"}, {"file", "c/one.yaml"}, {"line", 1}, {"verdict", "passed"}, {"reason", ""}, {"trace", {st}}});
  return s;
}

json returned(const json& v) { return {{"kind", "returned"}, {"value", v}}; }
json raised(const std::string& message) {
  return {{"kind", "raised"},
          {"type", "ValueError"},
          {"bases", json::array()},
          {"message", message},
          {"args", {{{"t", "str"}, {"v", message}}}}};
}

TEST(Diff, SetsAreComparedAsValues) {
  json xy = {{"t", "frozenset"}, {"v", {{{"t", "str"}, {"v", "x"}}, {{"t", "str"}, {"v", "y"}}}}};
  json yx = {{"t", "frozenset"}, {"v", {{{"t", "str"}, {"v", "y"}}, {{"t", "str"}, {"v", "x"}}}}};
  EXPECT_EQ(diff_results(side("a", returned(xy), 0.1), side("b", returned(yx), 0.1), {}).differing, 0);
  json xz = {{"t", "frozenset"}, {"v", {{{"t", "str"}, {"v", "x"}}, {{"t", "str"}, {"v", "z"}}}}};
  EXPECT_EQ(diff_results(side("a", returned(xy), 0.1), side("b", returned(xz), 0.1), {}).differing, 1);
}

TEST(Diff, AnObjectAddressInAMessageIsNoDifference) {
  auto a = side("a", raised("Queue <Queue object at 0x7f36237c6950> is closed"), 0.1);
  auto b = side("b", raised("Queue <Queue object at 0x558ed47793e0> is closed"), 0.1);
  EXPECT_EQ(diff_results(a, b, {}).differing, 0) << diff_results(a, b, {}).text;
  auto c = side("c", raised("Queue <mpc::Queue object at 0x558ed47793e0> is closed"), 0.1);
  EXPECT_NE(diff_results(a, c, {}).text.find("differs: exception message\n"), std::string::npos)
      << diff_results(a, c, {}).text;
}

TEST(Diff, ObjectsOfOneTypeAndNameAreTheSameResult) {
  auto object = [](const char* type, const char* name, const char* address) {
    return json{{"t", "object"},
                {"type", type},
                {"name", name},
                {"repr", std::string("<Connection object at ") + address + ">"}};
  };
  auto a = side("a", returned(object("Connection", "sent_w", "0x7fb4197f06d0")), 0.1);
  auto b = side("b", returned(object("Connection", "sent_w", "0x558ed47793e0")), 0.1);
  EXPECT_EQ(diff_results(a, b, {}).differing, 0) << diff_results(a, b, {}).text;
  auto c = side("c", returned(object("Queue", "sent_w", "0x558ed47793e0")), 0.1);
  EXPECT_EQ(diff_results(a, c, {}).differing, 1) << diff_results(a, c, {}).text;
}

TEST(Diff, TruncatedValuesCompareBySizeAndCrc) {
  json big1 = {{"truncated", true}, {"json_bytes", 5000}, {"crc32", "0000abcd"}};
  json big2 = {{"truncated", true}, {"json_bytes", 5000}, {"crc32", "0000abce"}};
  EXPECT_EQ(diff_results(side("a", returned(big1), 0.1), side("b", returned(big1), 0.1), {}).differing, 0);
  EXPECT_EQ(diff_results(side("a", returned(big1), 0.1), side("b", returned(big2), 0.1), {}).differing, 1);
}

TEST(Diff, TimingNeedsBothTheAbsoluteAndTheRelativeThreshold) {
  const json none = returned({{"t", "none"}});
  DiffOptions o;                                                                         // 0.1 s and 0.25
  EXPECT_EQ(diff_results(side("a", none, 0.2), side("b", none, 0.5), o).differing, 1);   // 0.3 s, 60 %
  EXPECT_EQ(diff_results(side("a", none, 0.2), side("b", none, 0.29), o).differing, 0);  // 0.09 s
  EXPECT_EQ(diff_results(side("a", none, 5.0), side("b", none, 5.5), o).differing, 0);   // 0.5 s but 9 %
}

json int_list(std::initializer_list<int> items) {
  json v = json::array();
  for (int i : items) v.push_back({{"t", "int"}, {"v", std::to_string(i)}});
  return {{"t", "list"}, {"v", v}};
}

DiffSide side_expecting(const std::string& name, const std::string& expected, const json& value,
                        const std::string& problem = "") {
  DiffSide s = side(name, returned(value), 0.1);
  s.results[0]["trace"][0]["expected"] = expected;
  s.results[0]["trace"][0]["problem"] = problem;
  if (!problem.empty()) s.results[0]["verdict"] = "failed";
  return s;
}

// Issue 10: producers' items interleaved another way (cases/queue/fifo_many_producers.yaml) are
// no value difference when both met the case's returns_interleaving; likewise returns_any.
TEST(Diff, ValuesThatBothMeetAnExpectationOfSeveralAreAllowed) {
  const std::string interleaving = "returns an interleaving of 2 sequences";
  auto a = side_expecting("a", interleaving, int_list({0, 100, 1, 101}));
  auto b = side_expecting("b", interleaving, int_list({0, 1, 100, 101}));
  DiffReport r = diff_results(a, b, {});
  EXPECT_EQ(r.differing, 0) << r.text;
  EXPECT_EQ(r.allowed_only, 1) << r.text;
  EXPECT_NE(r.text.find("    allowed: returned value (both meet \"returns an interleaving of 2 sequences\")\n"),
            std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("differs:"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("0 of 1 cases differ: 0 in verdict, 0 in the trace only, 0 only in A, 0 only in B; 1 more "
                        "differs only as its case allows\n"),
            std::string::npos)
      << r.text;

  const std::string any = "returns one of 1, 2";
  r = diff_results(side_expecting("a", any, int_list({1})), side_expecting("b", any, int_list({2})), {});
  EXPECT_EQ(r.differing, 0) << r.text;
  EXPECT_EQ(r.allowed_only, 1) << r.text;

  // One side did not meet it: a difference, as before.
  r = diff_results(a, side_expecting("b", interleaving, int_list({1, 0, 100, 101}), "returns_interleaving: 1 before 0"),
                   {});
  EXPECT_EQ(r.differing, 1) << r.text;
  EXPECT_NE(r.text.find("    differs: returned value, mismatch\n"), std::string::npos) << r.text;
  // Other expectations on the two sides (other semantics versions), or one that accepts one value.
  r = diff_results(a, side_expecting("b", "returns an interleaving of 3 sequences", int_list({0, 1, 100, 101})), {});
  EXPECT_EQ(r.differing, 1) << r.text;
  r = diff_results(side_expecting("a", "returns [0, 1]", int_list({0, 1})),
                   side_expecting("b", "returns [0, 1]", int_list({1, 0})), {});
  EXPECT_EQ(r.differing, 1) << r.text;
  EXPECT_EQ(r.allowed_only, 0) << r.text;
}

TEST(Report, TheSummaryNamesEachVerdictClassOnItsOwn) {
  std::vector<Record> records;
  for (Verdict v : {Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::RecommendedFail, Verdict::Crashed,
                    Verdict::TimedOut, Verdict::ProtocolError, Verdict::ProtocolError, Verdict::Differs,
                    Verdict::Skipped, Verdict::ExpectedDivergence, Verdict::NewlyPassing})
    records.push_back(Record{"i", "c", "required", v});
  EXPECT_EQ(summary_line(tally(records), 2.04),
            "2 passed, 1 failed, 1 failed (recommended), 1 crashed, 1 timed out, 2 protocol errors, 1 differs "
            "(cpython-specific), "
            "1 expected divergence, 1 newly passing, 1 skipped in 2.0 s");
  EXPECT_EQ(summary_line(tally({}), 0), "0 passed, 0 failed, 0 skipped in 0.0 s");
}

TEST(Report, WhichVerdictsFailTheRun) {
  for (Verdict v : {Verdict::Pass, Verdict::Skipped, Verdict::Differs, Verdict::ExpectedDivergence}) {
    EXPECT_FALSE(fails_run(v, false)) << verdict_name(v);
    EXPECT_FALSE(fails_run(v, true)) << verdict_name(v);
  }
  for (Verdict v : {Verdict::RecommendedFail, Verdict::NewlyPassing}) {
    EXPECT_FALSE(fails_run(v, false)) << verdict_name(v);
    EXPECT_TRUE(fails_run(v, true)) << verdict_name(v);
  }
  for (Verdict v : {Verdict::Fail, Verdict::Crashed, Verdict::TimedOut, Verdict::ProtocolError, Verdict::AdapterError,
                    Verdict::Leaked, Verdict::CaseError})
    EXPECT_TRUE(fails_run(v, false)) << verdict_name(v);
}

TEST(Report, AFailureIsOneLine) {
  Record r{"cpython", "queue.x", "required", Verdict::Fail};
  r.file = "queue/x.yaml";
  r.line = 9;
  r.rerun = "mpconform --gtest_filter='cpython.queue.x'";
  StepRecord s;
  s.index = 2;
  s.line = 9;
  s.call = "q.get(timeout=0.3)";
  s.expected = "raises queue.Empty, elapsed in [0.3, 2.3] s";
  s.observed = "raised queue.Empty in 0.100 s";
  s.problem = "too early: raised after 0.1 s, the minimum is 0.3 s";
  r.trace = trace_to_json({s});
  EXPECT_EQ(failure_line(r),
            "failed: cpython.queue.x (queue/x.yaml:9): step 2 q.get(timeout=0.3) expected raises queue.Empty, elapsed "
            "in [0.3, 2.3] s; "
            "got raised queue.Empty in 0.100 s (too early: raised after 0.1 s, the minimum is 0.3 s); "
            "rerun: mpconform --gtest_filter='cpython.queue.x'");
  // The runner's own verdict: the step that was running, and its reason; newlines never break the line.
  r.verdict = Verdict::Crashed;
  r.reason = "actor 'p' (pid 7) died\nduring a call";
  s.observed.clear();
  s.problem.clear();
  r.trace = trace_to_json({s});
  EXPECT_EQ(failure_line(r),
            "crashed: cpython.queue.x (queue/x.yaml:9): step 2 q.get(timeout=0.3) expected raises queue.Empty, elapsed "
            "in [0.3, 2.3] s; "
            "got no outcome: actor 'p' (pid 7) died during a call; rerun: mpconform --gtest_filter='cpython.queue.x'");
  r.verdict = Verdict::Leaked;
  r.reason = "left behind by the case: /dev/shm/x";
  r.trace = json::array();
  EXPECT_EQ(failure_line(r),
            "leaked: cpython.queue.x (queue/x.yaml:9): left behind by the case: /dev/shm/x; rerun: mpconform "
            "--gtest_filter='cpython.queue.x'");
}

TEST(Report, ATracebackSeveralCasesPrintedIsShownOnce) {
  auto details = [](const std::string& id, int pid, const std::string& address) {
    return id + " — t\n  verdict: adapter error\n  adapter output:\n    | adapter[" + std::to_string(pid) +
           "]: setup failed:\n    | Traceback (most recent call last):\n    |   File \"a.py\", line 3, in f\n    |     "
           "g()\n"
           "    | ValueError: <Queue object at " +
           address + "> is bad\n    | after\n";
  };
  std::vector<Record> records;
  for (int i = 0; i < 3; ++i) {
    Record r{"cpython", "c.n" + std::to_string(i), "required", Verdict::AdapterError};
    r.details = details(r.case_id, 100 + i, i == 0 ? "0x7f01" : "0x7f02");  // the address is no difference
    records.push_back(r);
  }
  Record alone{"cpython", "c.alone", "required", Verdict::AdapterError};
  alone.details =
      "c.alone — t\n  adapter output:\n    | Traceback (most recent call last):\n    |   File \"b.py\", line 1\n    | "
      "KeyError: 1\n";
  records.push_back(alone);
  const std::string text = full_traces(records);
  auto count = [&](const std::string& what) {
    int n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("Traceback (most recent call last):"), 2) << text;  // the shared one once, the lone one in place
  EXPECT_EQ(count("    |   File \"a.py\", line 3, in f\n"), 1) << text;
  EXPECT_EQ(
      count(
          "    | [traceback #1 (ValueError: <Queue object at 0x7f01> is bad), printed by 3 cases: shown once below]\n"),
      3)
      << text;
  EXPECT_NE(text.find("\nTraceback #1, printed by 3 cases: cpython.c.n0 cpython.c.n1 cpython.c.n2\n    | Traceback "
                      "(most recent call last):\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(count("    | after\n"), 3) << text;  // what follows a traceback is each case's own
  EXPECT_EQ(count("    | adapter[10"), 3) << text;
  EXPECT_NE(text.find("    |   File \"b.py\", line 1\n    | KeyError: 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mpconform
