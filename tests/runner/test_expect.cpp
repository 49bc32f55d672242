#include <gtest/gtest.h>

#include "expect.hpp"

using namespace mpconform;

namespace {

Outcome returned(json v, double elapsed = 0.01) {
  Outcome o;
  o.value = std::move(v);
  o.elapsed = elapsed;
  return o;
}

Outcome raised(std::string type, std::vector<std::string> bases, std::string message, double elapsed = 0.01) {
  Outcome o;
  o.kind = Outcome::Kind::Raised;
  o.exc_type = std::move(type);
  o.exc_bases = std::move(bases);
  o.exc_message = std::move(message);
  o.elapsed = elapsed;
  return o;
}

Expectation raises(std::string type, std::string match = "") {
  Expectation e;
  e.outcome = Expectation::Outcome::Raises;
  e.exc_type = std::move(type);
  e.exc_match = std::move(match);
  return e;
}

}  // namespace

TEST(Expect, NoExpectationMeansNoException) {
  EXPECT_EQ(check_outcome(nullptr, returned(make_int(3))), "");
  EXPECT_NE(check_outcome(nullptr, raised("ValueError", {"Exception"}, "x")), "");
}

TEST(Expect, RaisesAcceptsTheTypeOrASubclass) {
  Expectation e = raises("OSError");
  EXPECT_EQ(check_outcome(&e, raised("OSError", {"Exception"}, "")), "");
  EXPECT_EQ(check_outcome(&e, raised("BrokenPipeError", {"ConnectionError", "OSError", "Exception"}, "")), "");
  EXPECT_NE(check_outcome(&e, raised("ValueError", {"Exception"}, "")), "");
  EXPECT_NE(check_outcome(&e, returned(make_none())), "");
}

TEST(Expect, RaisesMatchSearchesTheMessage) {
  Expectation e = raises("ValueError", "is closed");
  EXPECT_EQ(check_outcome(&e, raised("ValueError", {}, "Queue <q> is closed")), "");
  EXPECT_NE(check_outcome(&e, raised("ValueError", {}, "closed")), "");
}

TEST(Expect, RaisesArgsCompareAsATuple) {
  Expectation e = raises("multiprocessing.BufferTooShort");
  e.exc_args = json::array({make_bytes("hello")});
  Outcome o = raised("multiprocessing.BufferTooShort", {"multiprocessing.ProcessError", "Exception"}, "");
  o.exc_args = json::array({make_bytes("hello")});
  EXPECT_EQ(check_outcome(&e, o), "");
  o.exc_args = json::array({make_bytes("hell")});
  EXPECT_NE(check_outcome(&e, o), "");
}

TEST(Expect, ElapsedWindowIsChecked) {
  Expectation e = raises("queue.Empty");
  e.min_elapsed = 0.2;
  e.max_elapsed = 1.5;
  EXPECT_EQ(check_outcome(&e, raised("queue.Empty", {}, "", 0.2003)), "");
  EXPECT_NE(check_outcome(&e, raised("queue.Empty", {}, "", 0.19)).find("too early"), std::string::npos);
  EXPECT_NE(check_outcome(&e, raised("queue.Empty", {}, "", 1.6)).find("too long"), std::string::npos);
  // Said of what the call did: one that raised did not "return too early".
  EXPECT_EQ(check_outcome(&e, raised("queue.Empty", {}, "", 0.19)),
            "too early: raised after 0.19 s, the minimum is 0.2 s");
  Expectation r;
  r.outcome = Expectation::Outcome::Returns;
  r.value = make_int(5);
  r.min_elapsed = 0.2;
  EXPECT_EQ(check_outcome(&r, returned(make_int(5), 0.1)), "too early: returned after 0.1 s, the minimum is 0.2 s");
}

TEST(Expect, ReturnsComparesValues) {
  Expectation e;
  e.outcome = Expectation::Outcome::Returns;
  e.value = make_int(5);
  EXPECT_EQ(check_outcome(&e, returned(make_int(5))), "");
  EXPECT_NE(check_outcome(&e, returned(make_int(6))), "");
  EXPECT_NE(check_outcome(&e, raised("ValueError", {}, "")), "");
}

TEST(Expect, ReturnsAnyAndLength) {
  Expectation any;
  any.outcome = Expectation::Outcome::ReturnsAny;
  any.value = json::array({make_int(1), make_int(2)});
  EXPECT_EQ(check_outcome(&any, returned(make_int(2))), "");
  EXPECT_NE(check_outcome(&any, returned(make_int(3))), "");
  Expectation len;
  len.outcome = Expectation::Outcome::ReturnsLength;
  len.length = 2;
  EXPECT_EQ(check_outcome(&len, returned(make_str("\xc3\xa9x"))), "");  // two code points
  EXPECT_NE(check_outcome(&len, returned(make_bytes("abc"))), "");
}

TEST(Expect, OutcomeFromResultRejectsMalformedResults) {
  EXPECT_THROW(outcome_from_result(json{{"status", "returned"}}), ValueError);
  EXPECT_THROW(outcome_from_result(json{{"status", "returned"}, {"elapsed", 0.1}}), ValueError);
  EXPECT_THROW(outcome_from_result(json{{"status", "raised"}, {"elapsed", 0.1}, {"exception", 3}}), ValueError);
  Outcome o = outcome_from_result(
      json{{"status", "raised"},
           {"elapsed", 0.1},
           {"exception", {{"type", "EOFError"}, {"bases", {"Exception"}}, {"message", ""}, {"args", json::array()}}}});
  EXPECT_EQ(o.exc_type, "EOFError");
}
