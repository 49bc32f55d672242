// The `match` patterns of case files (spec/case-format.md#match-patterns): a subset of ECMAScript
// regular expressions, compiled to a small program and searched by simulating all its threads at
// once (Thompson's construction, a Pike VM without captures). A search takes
// O(length of the subject × size of the program) time and O(size of the program) memory, with no
// recursion on the subject: std::regex backtracks, and a careless pattern such as `(a*)*b` against
// a message an adapter chose took exponential time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mpconform {

// A pattern outside the dialect or malformed. what() is "column N: reason", N counting the
// pattern's characters (code points) from 1.
class PatternError : public std::runtime_error {
 public:
  PatternError(std::size_t column, const std::string& reason);
  std::size_t column() const { return column_; }

 private:
  std::size_t column_;
};

class Pattern {
 public:
  // Bounds, so that no pattern makes the program (and so each step of a search) large.
  static constexpr std::uint32_t kMaxRepeat = 1000;       // m and n of {m}, {m,}, {m,n}
  static constexpr std::size_t kMaxInstructions = 10000;  // of the compiled program
  static constexpr int kMaxNesting = 100;                 // groups inside groups

  // Compiles `pattern` (UTF-8); throws PatternError.
  explicit Pattern(std::string_view pattern);

  // Whether the pattern matches somewhere in `subject` (as std::regex_search). The subject is
  // matched by code point; a byte that is not part of valid UTF-8 is a character of its own that
  // only `.` and negated classes match.
  bool search(std::string_view subject) const;

  // Instructions of the program: a search costs at most this many steps per character.
  std::size_t size() const { return prog_.size(); }

  struct Range {
    char32_t lo, hi;
  };
  struct Inst {
    enum Op : std::uint8_t { Char, Class, Split, Jmp, Bol, Eol, Match } op;
    std::uint32_t x = 0, y = 0;  // Char: code point; Class: index; Split: both targets; Jmp: x
  };

 private:
  friend class PatternCompiler;
  std::vector<Inst> prog_;
  std::vector<std::vector<Range>> classes_;  // each sorted, disjoint, negation folded in
};

}  // namespace mpconform
