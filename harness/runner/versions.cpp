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

namespace {

// major.minor or major.minor.micro; `micro` says which.
Version parse_parts(std::string_view text, bool* micro) {
  std::string_view t = trim(text);
  auto dot = t.find('.');
  if (dot == std::string_view::npos)
    throw std::invalid_argument("bad version '" + std::string(text) + "' (want major.minor or major.minor.micro)");
  std::string_view rest = t.substr(dot + 1);
  auto dot2 = rest.find('.');
  Version v{parse_number(t.substr(0, dot), text), parse_number(rest.substr(0, dot2), text)};
  *micro = dot2 != std::string_view::npos;
  if (*micro) v.micro = parse_number(rest.substr(dot2 + 1), text);
  return v;
}

}  // namespace

Version parse_version(std::string_view text) {
  bool micro = false;
  return parse_parts(text, &micro);
}

Version full_version(Version semantics, std::string_view language, std::string_view version) {
  Version out{semantics.major, semantics.minor};
  if (language != "python") return out;
  // "3.11.2", or a pre-release "3.13.0rc1": the micro level is the leading digits of the third part.
  const std::string prefix = semantics.str() + ".";
  if (!version.starts_with(prefix)) return out;
  std::string_view micro = version.substr(prefix.size());
  std::size_t digits = 0;
  while (digits < micro.size() && digits < 6 && micro[digits] >= '0' && micro[digits] <= '9') ++digits;
  if (digits == 0) return out;
  std::from_chars(micro.data(), micro.data() + digits, out.micro);
  return out;
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
    bool micro = false;
    Version v = parse_parts(clause.substr(len), &micro);
    spec.clauses_.push_back({op, v, micro});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return spec;
}

bool VersionSpec::matches(Version v) const {
  for (const auto& [op, w, micro] : clauses_) {
    // A clause of two parts compares major.minor only: ==3.12 holds for 3.12.1, <=3.12 too.
    const Version have = micro ? v : Version{v.major, v.minor};
    bool ok = false;
    switch (op) {
      case Op::Eq: ok = have == w; break;
      case Op::Ne: ok = have != w; break;
      case Op::Ge: ok = have >= w; break;
      case Op::Le: ok = have <= w; break;
      case Op::Gt: ok = have > w; break;
      case Op::Lt: ok = have < w; break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace mpconform
