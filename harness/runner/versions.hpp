// Python semantics versions (major.minor, with the micro level where it is known) and specifiers such
// as ">=3.9,<3.13" or "<3.11.5" (spec/case-format.md#version-specifiers).
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace mpconform {

struct Version {
  int major = 0;
  int minor = 0;
  int micro = 0;  // 0 where it is not known (a semantics version is major.minor)
  auto operator<=>(const Version&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
  std::string full_str() const { return str() + "." + std::to_string(micro); }
};

// Parses "3.12" (micro 0) or "3.12.1". Throws std::invalid_argument.
Version parse_version(std::string_view text);

// The full version the keys of a case compare against (spec/case-format.md#version-specifiers):
// the semantics version (major.minor) with the micro level of `version` when the implementation's
// language is python and `version` has the semantics' major.minor (CPython 3.11.2: 3.11.2; PyPy
// 3.9.16: 3.9.16); otherwise micro 0 (the C++ reference's semantics 3.12 is 3.12.0, and an
// interpreter judged against semantics it is not, older=run, takes nothing from its own version).
Version full_version(Version semantics, std::string_view language, std::string_view version);

class VersionSpec {
 public:
  // Throws std::invalid_argument naming the bad comparison.
  static VersionSpec parse(std::string_view text);
  bool matches(Version v) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op { Eq, Ne, Ge, Le, Gt, Lt };
  struct Clause {
    Op op;
    Version version;
    bool micro;  // written major.minor.micro: compares the full version; else major.minor only
  };
  std::vector<Clause> clauses_;
  std::string text_;
};

}  // namespace mpconform
