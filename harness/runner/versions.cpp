#include "versions.hpp"

#include <charconv>
#include <stdexcept>

namespace mpconform {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int parse_number(std::string_view s, std::string_view whole) {
  int n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    throw std::invalid_argument("bad version '" + std::string(whole) + "'");
  return n;
}

}  // namespace

Version parse_version(std::string_view text) {
  std::string_view t = trim(text);
  auto dot = t.find('.');
  if (dot == std::string_view::npos)
    throw std::invalid_argument("bad version '" + std::string(text) + "' (want major.minor)");
  std::string_view rest = t.substr(dot + 1);
  auto dot2 = rest.find('.');
  return Version{parse_number(t.substr(0, dot), text), parse_number(rest.substr(0, dot2), text)};
}

VersionSpec VersionSpec::parse(std::string_view text) {
  VersionSpec spec;
  spec.text_ = std::string(trim(text));
  std::string_view rest = text;
  while (true) {
    auto comma = rest.find(',');
    std::string_view clause = trim(rest.substr(0, comma));
    Op op;
    std::size_t len = 2;
    if (clause.starts_with("=="))
      op = Op::Eq;
    else if (clause.starts_with("!="))
      op = Op::Ne;
    else if (clause.starts_with(">="))
      op = Op::Ge;
    else if (clause.starts_with("<="))
      op = Op::Le;
    else if (clause.starts_with(">"))
      op = Op::Gt, len = 1;
    else if (clause.starts_with("<"))
      op = Op::Lt, len = 1;
    else
      throw std::invalid_argument("bad version comparison '" + std::string(clause) + "' (want e.g. >=3.9)");
    spec.clauses_.emplace_back(op, parse_version(clause.substr(len)));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return spec;
}

bool VersionSpec::matches(Version v) const {
  for (const auto& [op, w] : clauses_) {
    bool ok = false;
    switch (op) {
      case Op::Eq: ok = v == w; break;
      case Op::Ne: ok = v != w; break;
      case Op::Ge: ok = v >= w; break;
      case Op::Le: ok = v <= w; break;
      case Op::Gt: ok = v > w; break;
      case Op::Lt: ok = v < w; break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace mpconform
