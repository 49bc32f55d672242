#include "expect.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "pattern.hpp"

namespace mpconform {

std::string Outcome::describe() const {
  std::string out;
  if (kind == Kind::Returned) {
    out = "returned " + to_python_repr(value);
  } else {
    out = "raised " + exc_type;
    if (!exc_message.empty()) out += ": " + exc_message;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", elapsed);
  return out + " in " + seconds + " s";
}

Outcome outcome_from_result(const json& r) {
  Outcome o;
  if (!r.contains("elapsed") || !r["elapsed"].is_number()) throw ValueError("result without a numeric 'elapsed'");
  o.elapsed = r["elapsed"].get<double>();
  const std::string status = r.value("status", std::string());
  if (status == "returned") {
    if (!r.contains("value")) throw ValueError("returned result without 'value'");
    check_value(r["value"]);
    o.value = r["value"];
  } else if (status == "raised") {
    const json& e = r.contains("exception") ? r["exception"] : json();
    if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
      throw ValueError("raised result without exception.type");
    o.kind = Outcome::Kind::Raised;
    o.exc_type = e["type"].get<std::string>();
    if (e.contains("bases") && e["bases"].is_array())
      for (const auto& b : e["bases"])
        if (b.is_string()) o.exc_bases.push_back(b.get<std::string>());
    if (e.contains("message") && e["message"].is_string()) o.exc_message = e["message"].get<std::string>();
    if (e.contains("args") && e["args"].is_array()) {
      for (const auto& a : e["args"]) check_value(a);
      o.exc_args = e["args"];
    }
  } else {
    throw ValueError("result status '" + status + "' is neither returned nor raised");
  }
  return o;
}

namespace {

// A search costs at most (bytes of the message + 1) x (instructions of the pattern) steps of a few
// nanoseconds (pattern.hpp). The message comes from the adapter (up to --max-frame-bytes), so the
// product is bounded, not the length alone: a literal pattern is searched in a message of some
// megabytes, the largest pattern (10000 instructions) in 3 KB; a search takes at most some 0.2 s.
constexpr std::uint64_t kMaxSearchSteps = std::uint64_t(1) << 25;

}  // namespace

std::string search_message(const std::string& pattern_text, const std::string& text, const std::string& what) {
  std::optional<Pattern> compiled;
  try {
    compiled.emplace(pattern_text);  // the loader compiled it already; an Expectation made elsewhere may not be
  } catch (const PatternError& err) {
    return std::string("bad regular expression /") + pattern_text + "/: " + err.what();
  }
  const Pattern& pattern = *compiled;
  const std::uint64_t steps = (std::uint64_t(text.size()) + 1) * pattern.size();
  if (steps > kMaxSearchSteps)
    return what + " is " + std::to_string(text.size()) + " bytes, too long to search with /" + pattern_text + "/ (" +
           std::to_string(pattern.size()) + " instructions; at most " + std::to_string(kMaxSearchSteps) +
           " steps, bytes x instructions, per search)";
  if (!pattern.search(text)) return what + " does not match /" + pattern_text + "/";
  return "";
}

namespace {

std::string check_value_outcome(const Expectation& e, const Outcome& o) {
  using K = Expectation::Outcome;
  switch (e.outcome) {
    case K::Returns:
      return values_equal(o.value, e.value) ? "" : "value differs: " + explain_difference(o.value, e.value);
    case K::ReturnsAny:
      for (const auto& v : e.value)
        if (values_equal(o.value, v)) return "";
      return "value is none of the accepted ones";
    case K::ReturnsInterleaving: return check_interleaving(o.value, e.value);
    case K::ReturnsLength: {
      const std::string t = o.value.value("t", std::string());
      std::uint64_t n = 0;
      if (t == "list" || t == "tuple" || t == "set" || t == "frozenset" || t == "dict")
        n = o.value["v"].size();
      else if (t == "digest")
        n = o.value["len"].get<std::uint64_t>();
      else if (t == "bytes" || t == "bytearray")
        n = o.value["v"].get<std::string>().size() / 2;
      else if (t == "str") {
        const auto& s = o.value["v"].get_ref<const std::string&>();
        n = std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; });
      } else
        return "value has no length";
      return n == e.length ? "" : "length is " + std::to_string(n);
    }
    case K::ReturnsMatching: {
      std::string t = o.value.value("t", std::string());
      if (t == "digest") t = o.value.value("of", std::string());  // bytes too long to send whole
      if (t != e.match_type) return "value is a " + t + ", not a " + e.match_type;
      try {
        if (e.match_min && compare_numbers(o.value, *e.match_min) < 0)
          return "value is below " + to_python_repr(*e.match_min);
        if (e.match_max && compare_numbers(o.value, *e.match_max) > 0)
          return "value is above " + to_python_repr(*e.match_max);
      } catch (const ValueError& err) {
        return std::string("value has no order: ") + err.what();
      }
      if (!e.value_match.empty() && t == "object")  // an object is matched by its repr
        return search_message(e.value_match, o.value.value("repr", std::string()), "repr");
      if (!e.value_match.empty()) return search_message(e.value_match, o.value["v"].get<std::string>(), "value");
      return "";
    }
    default: return "";
  }
}

}  // namespace

std::string check_outcome(const Expectation* e, const Outcome& o) {
  using K = Expectation::Outcome;
  if (e == nullptr || e->outcome == K::Ok) {
    if (o.kind == Outcome::Kind::Raised) return "expected no exception";
  } else if (e->outcome == K::Blocks) {
    return "expected the call to block";
  } else if (e->outcome == K::Killed) {
    return "expected the call to be in flight when its process was killed";
  } else if (e->outcome == K::Dies) {
    return std::string("expected its process to die before the call completed; the call ") +
           (o.kind == Outcome::Kind::Raised ? "raised" : "returned") + " instead";
  } else if (e->outcome == K::Raises) {
    if (o.kind != Outcome::Kind::Raised) return "expected an exception";
    bool type_ok = o.exc_type == e->exc_type ||
                   std::find(o.exc_bases.begin(), o.exc_bases.end(), e->exc_type) != o.exc_bases.end();
    if (!type_ok) return "exception type is not " + e->exc_type + " nor a subclass";
    if (!e->exc_match.empty())
      if (std::string why = search_message(e->exc_match, o.exc_message, "message"); !why.empty()) return why;
    if (e->exc_args) {
      json observed = {{"t", "tuple"}, {"v", o.exc_args}};
      json expected = {{"t", "tuple"}, {"v", *e->exc_args}};
      if (!values_equal(observed, expected)) return "exception args are " + to_python_repr(observed);
    }
  } else {
    if (o.kind != Outcome::Kind::Returned) return "expected a return, not an exception";
    std::string why = check_value_outcome(*e, o);
    if (!why.empty()) return why;
  }
  if (e) {
    // Said of what the call did: a call that raised did not return.
    const std::string did = o.kind == Outcome::Kind::Raised ? "raised" : "returned";
    if (e->min_elapsed && o.elapsed < *e->min_elapsed)
      return "too early: " + did + " after " + format_float(o.elapsed) + " s, the minimum is " +
             format_float(*e->min_elapsed) + " s";
    if (e->max_elapsed && o.elapsed > *e->max_elapsed)
      return "took too long: " + did + " after " + format_float(o.elapsed) + " s, the maximum is " +
             format_float(*e->max_elapsed) + " s";
  }
  return "";
}

}  // namespace mpconform
