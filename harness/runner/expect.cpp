#include "expect.hpp"

#include <algorithm>
#include <regex>

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
    if (!e.is_object() || !e.contains("type") || !e["type"].is_string()) throw ValueError("raised result without exception.type");
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

// std::regex matches recursively, a frame or more per character: a pattern such as `a.*b`
// overflows the stack on a message of some 40 KB, which an adapter decides. A message past this
// is a mismatch with its length given, never searched.
constexpr std::size_t kMatchedMessageBytes = 4096;

std::string check_value_outcome(const Expectation& e, const Outcome& o) {
  using K = Expectation::Outcome;
  switch (e.outcome) {
    case K::Returns:
      return values_equal(o.value, e.value) ? "" : "value differs: " + explain_difference(o.value, e.value);
    case K::ReturnsAny:
      for (const auto& v : e.value)
        if (values_equal(o.value, v)) return "";
      return "value is none of the accepted ones";
    case K::ReturnsInterleaving:
      return check_interleaving(o.value, e.value);
    case K::ReturnsLength: {
      const std::string t = o.value.value("t", std::string());
      std::uint64_t n = 0;
      if (t == "list" || t == "tuple" || t == "set" || t == "frozenset" || t == "dict") n = o.value["v"].size();
      else if (t == "digest") n = o.value["len"].get<std::uint64_t>();
      else if (t == "bytes" || t == "bytearray") n = o.value["v"].get<std::string>().size() / 2;
      else if (t == "str") {
        const auto& s = o.value["v"].get_ref<const std::string&>();
        n = std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; });
      } else return "value has no length";
      return n == e.length ? "" : "length is " + std::to_string(n);
    }
    default:
      return "";
  }
}

}  // namespace

std::string check_outcome(const Expectation* e, const Outcome& o) {
  using K = Expectation::Outcome;
  if (e == nullptr || e->outcome == K::Ok) {
    if (o.kind == Outcome::Kind::Raised) return "expected no exception";
  } else if (e->outcome == K::Blocks) {
    return "expected the call to block";
  } else if (e->outcome == K::Raises) {
    if (o.kind != Outcome::Kind::Raised) return "expected an exception";
    bool type_ok = o.exc_type == e->exc_type ||
                   std::find(o.exc_bases.begin(), o.exc_bases.end(), e->exc_type) != o.exc_bases.end();
    if (!type_ok) return "exception type is not " + e->exc_type + " nor a subclass";
    if (!e->exc_match.empty() && o.exc_message.size() > kMatchedMessageBytes)
      return "message is " + std::to_string(o.exc_message.size()) + " bytes, longer than the " + std::to_string(kMatchedMessageBytes) +
             " bytes a pattern is searched in";
    if (!e->exc_match.empty() && !std::regex_search(o.exc_message, std::regex(e->exc_match, std::regex::ECMAScript)))
      return "message does not match /" + e->exc_match + "/";
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
    if (e->min_elapsed && o.elapsed < *e->min_elapsed) return "returned too early (" + format_float(o.elapsed) + " s)";
    if (e->max_elapsed && o.elapsed > *e->max_elapsed) return "took too long (" + format_float(o.elapsed) + " s)";
  }
  return "";
}

}  // namespace mpconform
