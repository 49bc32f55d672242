// Python semantics versions (major.minor) and specifiers such as ">=3.9,<3.13".
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace mpconform {

struct Version {
  int major = 0;
  int minor = 0;
  auto operator<=>(const Version&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// Parses "3.12" (or "3.12.1": the patch level is ignored). Throws std::invalid_argument.
Version parse_version(std::string_view text);

class VersionSpec {
 public:
  // Throws std::invalid_argument naming the bad comparison.
  static VersionSpec parse(std::string_view text);
  bool matches(Version v) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op { Eq, Ne, Ge, Le, Gt, Lt };
  std::vector<std::pair<Op, Version>> clauses_;
  std::string text_;
};

}  // namespace mpconform
