// The results file's entries (report.cpp) and the comparisons of `mpconform diff` (diff.cpp).
#include <gtest/gtest.h>

#include "diff.hpp"
#include "report.hpp"

namespace mpconform {
namespace {

TEST(Report, EveryVerdictNameReadsBack) {
  for (Verdict v : {Verdict::Pass, Verdict::Fail, Verdict::Differs, Verdict::Skipped, Verdict::Crashed, Verdict::TimedOut,
                    Verdict::ProtocolError, Verdict::AdapterError, Verdict::Leaked, Verdict::CaseError})
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
  s.outcome = {{"kind", "raised"}, {"type", "queue.Empty"}, {"bases", {"Exception"}}, {"message", ""}, {"args", json::array()}};
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
  json doc = results_document(run, {{"cpp", "cpp"}, {"never", "cmd:never=x"}}, {r}, {"/c/queue/bad.yaml:3:5: steps is missing"});
  EXPECT_EQ(doc["format"], "mpconform-results/1");
  EXPECT_EQ(doc["run"]["started"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(doc["run"]["cases"]["git"].is_null());
  EXPECT_EQ(doc["implementations"][0]["implementation"]["semantics"], "3.12");
  EXPECT_TRUE(doc["implementations"][1]["implementation"].is_null());  // no hello seen
  EXPECT_EQ(doc["malformed"][0], (json{{"file", "/c/queue/bad.yaml"}, {"line", 3}, {"error", "/c/queue/bad.yaml:3:5: steps is missing"}}));
}

DiffSide side(const std::string& name, const json& outcome, double elapsed) {
  DiffSide s;
  s.name = name;
  s.implementation = {{"label", name}, {"spec", name}, {"implementation", nullptr}};
  json st = {{"step", 1}, {"line", 5}, {"actor", "main"}, {"call", "q.get()"}, {"expected", "e"}, {"observed", name},
             {"outcome", outcome}, {"elapsed", elapsed}, {"problem", ""}};
  s.results.push_back({{"case", "c.one"}, {"file", "c/one.yaml"}, {"line", 1}, {"verdict", "passed"}, {"reason", ""}, {"trace", {st}}});
  return s;
}

json returned(const json& v) { return {{"kind", "returned"}, {"value", v}}; }
json raised(const std::string& message) {
  return {{"kind", "raised"}, {"type", "ValueError"}, {"bases", json::array()}, {"message", message}, {"args", {{{"t", "str"}, {"v", message}}}}};
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
  EXPECT_NE(diff_results(a, c, {}).text.find("differs: exception message\n"), std::string::npos) << diff_results(a, c, {}).text;
}

TEST(Diff, TruncatedValuesCompareBySizeAndCrc) {
  json big1 = {{"truncated", true}, {"json_bytes", 5000}, {"crc32", "0000abcd"}};
  json big2 = {{"truncated", true}, {"json_bytes", 5000}, {"crc32", "0000abce"}};
  EXPECT_EQ(diff_results(side("a", returned(big1), 0.1), side("b", returned(big1), 0.1), {}).differing, 0);
  EXPECT_EQ(diff_results(side("a", returned(big1), 0.1), side("b", returned(big2), 0.1), {}).differing, 1);
}

TEST(Diff, TimingNeedsBothTheAbsoluteAndTheRelativeThreshold) {
  const json none = returned({{"t", "none"}});
  DiffOptions o;  // 0.1 s and 0.25
  EXPECT_EQ(diff_results(side("a", none, 0.2), side("b", none, 0.5), o).differing, 1);  // 0.3 s, 60 %
  EXPECT_EQ(diff_results(side("a", none, 0.2), side("b", none, 0.29), o).differing, 0);  // 0.09 s
  EXPECT_EQ(diff_results(side("a", none, 5.0), side("b", none, 5.5), o).differing, 0);  // 0.5 s but 9 %
}

}  // namespace
}  // namespace mpconform
