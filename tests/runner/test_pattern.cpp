// The `match` patterns of case files (harness/runner/pattern.cpp, spec/case-format.md#match-patterns):
// each construct, what is refused and at which column, linear time on the patterns that made
// std::regex backtrack, agreement with std::regex on generated patterns, and the patterns of cases/.
#include <chrono>
#include <filesystem>
#include <random>
#include <regex>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "expect.hpp"
#include "pattern.hpp"

using namespace mpconform;

namespace {

bool matches(const std::string& pattern, const std::string& subject) { return Pattern(pattern).search(subject); }

std::string refusal(const std::string& pattern) {
  try {
    Pattern p(pattern);
  } catch (const PatternError& e) {
    return e.what();
  }
  return "(compiled)";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(Pattern, EachConstruct) {
  struct Row {
    const char* pattern;
    const char* subject;
    bool match;
  };
  const Row rows[] = {
      // literals, searched anywhere
      {"is closed", "handle is closed", true},
      {"is closed", "handle is open", false},
      {"", "", true},
      {"", "anything", true},
      // escapes of punctuation, as the cases write them
      {R"(task_done\(\) called)", "task_done() called too many times", true},
      {R"(offset \+ size)", "buffer length < offset + size", true},
      {R"(offset \+ size)", "buffer length < offsetsize", false},
      {R"(a\.b)", "a.b", true},
      {R"(a\.b)", "axb", false},
      {R"(\\)", R"(a\b)", true},
      {R"(\[\]\{\}\|\^\$\*\?\/\-)", "[]{}|^$*?/-", true},
      // class escapes and control escapes (ASCII)
      {R"(\d\d)", "a12", true},
      {R"(\d\d)", "a1b2", false},
      {R"(\D)", "123", false},
      {R"(\w+)", "_", true},
      {R"(^\W+$)", "-+ .", true},
      {R"(^\W+$)", "-+a.", false},
      {R"(a\sb)", "a\tb", true},
      {R"(a\Sb)", "a b", false},
      {R"(a\nb)", "a\nb", true},
      {R"(a\tb)", "a\tb", true},
      {R"(a\r\f\vb)", "a\r\f\vb", true},
      // dot: anything but a line terminator
      {"a.c", "abc", true},
      {"a.c", "a\nc", false},
      {"a.c", "a\rc", false},
      {"a.c", "ac", false},
      // classes
      {"[abc]", "xxbxx", true},
      {"[abc]", "xyz", false},
      {"^[a-z]+$", "hello", true},
      {"^[a-z]+$", "Hello", false},
      {"[^a-z]", "hello", false},
      {"[^a-z]", "hello!", true},
      {"[^a]", "\n", true},
      {R"([\d.])", "x.", true},
      {R"([\]\\])", "]", true},
      {R"([\]\\])", "\\", true},
      {"[-a]", "-", true},
      {"[a-]", "-", true},
      {R"([a\-z])", "b", false},
      {R"([\D])", "1", false},
      {R"([\Wx])", "x", true},
      {R"([\n])", "\n", true},
      // groups and alternation
      {"(ab)+c", "ababc", true},
      {"(?:ab)+c", "abac", false},
      {"read-only|write-only", "connection is write-only", true},
      {"^(read|write)-only$", "read-only", true},
      {"^(read|write)-only$", "xread-only", false},
      {"a(|b)c", "ac", true},
      {"()", "", true},
      // quantifiers
      {"^ab?c$", "ac", true},
      {"^ab?c$", "abbc", false},
      {"^ab*c$", "abbbc", true},
      {"^ab+c$", "ac", false},
      {"^a{3}$", "aaa", true},
      {"^a{3}$", "aaaa", false},
      {"^a{2,}$", "a", false},
      {"^a{2,}$", "aaaaaa", true},
      {"^a{2,3}$", "aaa", true},
      {"^a{2,3}$", "aaaa", false},
      {"^a{0}b$", "b", true},
      {"^(ab){2}$", "abab", true},
      // anchors of the whole message (no multiline)
      {"^closed", "closed now", true},
      {"^closed", "is closed", false},
      {"closed$", "is closed", true},
      {"closed$", "closed\n", false},
      {"^$", "", true},
      {"^$", "\n", false},
      {"a^b", "ab", false},
      {"a|^b", "cb", false},
      {"a|^b", "bc", true},
      // UTF-8: by code point
      {"^caf.$", "caf\xc3\xa9", true},
      {"^caf\xc3\xa9$", "caf\xc3\xa9", true},
      {"^\xc3\xa9+$", "\xc3\xa9\xc3\xa9", true},
      {"^[\xc3\xa0-\xc3\xbf]$", "\xc3\xa9", true},
      {"^[^\xc3\xa9]$", "\xc3\xa8", true},
      {"^.$", "\xe2\x82\xac", true},  // one character, three bytes
      {"^...$", "\xe2\x82\xac", false},
      // a byte that is not UTF-8 is one character: only . and negated classes match it
      {"^a.b$",
       "a\xff"
       "b",
       true},
      {"^a[^x]b$",
       "a\xff"
       "b",
       true},
      {"^a\\Wb$",
       "a\xff"
       "b",
       true},
      {"\xc3\xa9", "\xc3", false},
  };
  for (const auto& r : rows)
    EXPECT_EQ(matches(r.pattern, r.subject), r.match) << "/" << r.pattern << "/ on \"" << r.subject << "\"";
}

TEST(Pattern, RefusalsNameTheColumnAndWhatIsUnsupported) {
  const std::pair<const char*, const char*> rows[] = {
      {R"((a)\1)", R"(column 4: backreferences (\1) are not supported)"},
      {R"(\k<x>)", R"(column 1: named backreferences (\k) are not supported)"},
      {"a(?=b)", "column 2: lookahead (?=...) is not supported"},
      {"a(?!b)", "column 2: lookahead (?!...) is not supported"},
      {"(?<=a)b", "column 1: lookbehind (?<=...) is not supported"},
      {"(?<!a)b", "column 1: lookbehind (?<!...) is not supported"},
      {"x(?<name>a)", "column 2: named groups (?<name>...) are not supported"},
      {"(?i)abc", "column 1: '(?' other than '(?:' (flags, or other extensions) is not supported"},
      {"ab*?", "column 4: lazy quantifiers (a '?' after a quantifier) are not supported"},
      {"a{2,3}?", "column 7: lazy quantifiers (a '?' after a quantifier) are not supported"},
      {"a**", "column 3: a quantifier after a quantifier (nothing to repeat)"},
      {"*a", "column 1: '*' with nothing to repeat (write \\* for the character)"},
      {"a|+", "column 3: '+' with nothing to repeat (write \\+ for the character)"},
      {"(?)", "column 1: '(?' other than '(?:' (flags, or other extensions) is not supported"},
      {"{2}", "column 1: a quantifier {...} with nothing to repeat"},
      {"a{", "column 2: '{' that is not a quantifier {m}, {m,} or {m,n} (write \\{ for the character)"},
      {"a{,3}", "column 2: '{' that is not a quantifier {m}, {m,} or {m,n} (write \\{ for the character)"},
      {"a}", "column 2: a lone '}' (write \\} for the character)"},
      {"a]", "column 2: a lone ']' (write \\] for the character)"},
      {"^*", "column 2: an anchor (^ or $) cannot be repeated"},
      {"a$+", "column 3: an anchor (^ or $) cannot be repeated"},
      {"a{3,2}", "column 2: {3,2}: the bounds are out of order"},
      {"a{1001}", "column 3: a repeat count past 1000"},
      {"a{2,99999999999999999999}", "column 5: a repeat count past 1000"},
      {"(ab", "column 1: '(' without a ')' after it"},
      {"a(b(c)", "column 2: '(' without a ')' after it"},
      {"ab)", "column 3: ')' without a '(' before it (write \\) for the character)"},
      {"abc\\", "column 4: the pattern ends with a lone '\\'"},
      {"[abc", "column 1: '[' without a ']' after it"},
      {"x[a\\", "column 2: '[' without a ']' after it"},
      {"[]", "column 1: an empty class [] or [^] is not supported"},
      {"[^]", "column 1: an empty class [] or [^] is not supported"},
      {"[[:alpha:]]", "column 2: a '[' inside a class (write \\[ for the character)"},
      {"[z-a]", "column 2: the range 'z'-'a' is out of order"},
      {"[\\d-z]", "column 4: a range with a class escape (\\d \\w \\s ...) at an end"},
      {"[a-c-e]", "column 5: a '-' that is not a range (write \\- for the character)"},
      {"[\\b]", "column 2: \\b in a class (a backspace) is not supported"},
      {"\\bword", "column 1: word boundaries (\\b) are not supported"},
      {"\\x41", "column 1: the escape \\x is not supported (write the character itself)"},
      {"\\u0041", "column 1: the escape \\u is not supported (write the character itself)"},
      {"\\0", "column 1: the escape \\0 is not supported (write the character itself)"},
      {"\\p{L}", "column 1: Unicode property escapes (\\p) are not supported"},
      {"ab\\q",
       "column 3: unknown escape: '\\' before 'q' (escape only ASCII punctuation, or \\d \\w \\s \\D \\W \\S \\n \\t "
       "\\r \\f \\v)"},
      {"caf\xc3\xa9\\\xc3\xa9",
       "column 5: unknown escape: '\\' before U+00E9 (escape only ASCII punctuation, or \\d \\w \\s \\D \\W \\S \\n "
       "\\t \\r \\f \\v)"},
      // columns count characters: the 'é' before is one
      {"\xc3\xa9(?=x)", "column 2: lookahead (?=...) is not supported"},
      {"ab\xff", "column 3: not valid UTF-8"},
      // the bounds on the program and on nesting
      {"(a{1000}){11}",
       "column 10: the pattern compiles to more than 10000 instructions (a repeat copies what it repeats)"},
      {"x(?:(?:a|b){1000}){1000}",
       "column 19: the pattern compiles to more than 10000 instructions (a repeat copies what it repeats)"},
  };
  for (const auto& [pattern, want] : rows) EXPECT_EQ(refusal(pattern), want) << "/" << pattern << "/";

  EXPECT_EQ(refusal(std::string(100, '(') + std::string(100, ')')), "(compiled)");
  EXPECT_EQ(refusal("x" + std::string(101, '(') + std::string(101, ')')), "column 102: groups nested deeper than 100");
  // Just under the bounds is fine.
  EXPECT_EQ(Pattern("a{1000}").size(), 1001u);
  EXPECT_EQ(refusal("(?:a{1000}){9}b{980}"), "(compiled)");
  EXPECT_EQ(refusal("a{2,1000}"), "(compiled)");
}

// std::regex backtracks: each of these against 100 000 'a's took exponential or high-polynomial
// time (a hang past every deadline). Each search here is linear.
TEST(Pattern, BacktrackingPatternsAreLinear) {
  const std::string aaa(100'000, 'a');
  for (const char* p : {"(a*)*b", "(a|a)*b", "a.*b.*c.*d.*e", "(a|aa)*c", "(?:a+)+$b", "^(a?){50}a{50}b", "(.*){20}x",
                        "(?:(?:a*)*)*b"}) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(matches(p, aaa)) << p;
    EXPECT_LT(seconds_since(t0), 0.25) << p;
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(matches("(a*)*b", aaa + "b"));
  EXPECT_TRUE(matches("^(a|a)*$", aaa));
  EXPECT_LT(seconds_since(t0), 0.25);
}

// The step bound of check_outcome (bytes x instructions) keeps the slowest search that it allows
// well under a second: the largest pattern, every instruction live at every character.
TEST(Pattern, TheSlowestSearchCheckOutcomeAllowsIsQuick) {
  Expectation e;
  e.outcome = Expectation::Outcome::Raises;
  e.exc_type = "ValueError";
  e.exc_match = "(?:(?:a*){1000}){3}b";  // 9002 instructions, all live on a run of 'a'
  const std::size_t size = Pattern(e.exc_match).size();
  EXPECT_EQ(size, 9002u);
  Outcome o;
  o.kind = Outcome::Kind::Raised;
  o.exc_type = "ValueError";
  o.exc_message = std::string((std::size_t(1) << 25) / size - 1, 'a');
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(check_outcome(&e, o), "message does not match /" + e.exc_match + "/");
  EXPECT_LT(seconds_since(t0), 1.0);  // some 0.2 s unloaded
  o.exc_message += "aa";              // one step past the bound: refused at once, with the reason
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(check_outcome(&e, o).rfind(
                "message is " + std::to_string(o.exc_message.size()) + " bytes, too long to search with /", 0),
            0u);
  EXPECT_LT(seconds_since(t0), 0.05);
}

// Generated patterns of the dialect and short subjects (where std::regex is safe): both agree.
TEST(Pattern, AgreesWithStdRegexOnGeneratedPatterns) {
  std::mt19937 rng(20261201);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> atoms = {"a",       "b",        "c",       ".",     R"(\.)",     R"(\()", R"(\\)",
                                          R"(\+)",   "1",        " ",       R"(\d)", R"(\w)",     R"(\s)", R"(\D)",
                                          R"(\W)",   R"(\S)",    R"(\n)",   "[ab]",  "[a-c]",     "[^a]",  "[^a-b1]",
                                          R"([\d])", R"([\w.])", R"([\s])", "[.(]",  R"([\]\\])", "[-a]",  R"([^\n])"};
  // `repeated`: inside a repeat, where only ? may be added (std::regex backtracks: nested repeats
  // take it exponential time even on short subjects).
  std::function<std::string(int, bool)> gen = [&](int depth, bool repeated) -> std::string {
    std::string out;
    const int items = 1 + pick(depth > 1 ? 2 : 4);
    for (int i = 0; i < items; ++i) {
      const int q = repeated ? (pick(4) == 0 ? 0 : 9) : pick(12);
      const bool inner = repeated || q < 6;
      std::string atom;
      const int k = pick(10);
      if (k < 6 || depth > 2)
        atom = atoms[pick(static_cast<int>(atoms.size()))];
      else if (k == 6)
        atom = "(" + gen(depth + 1, inner) + ")";
      else if (k == 7)
        atom = "(?:" + gen(depth + 1, inner) + ")";
      else if (k == 8)
        atom = "(" + gen(depth + 1, inner) + "|" + gen(depth + 1, inner) + ")";
      else {
        out += pick(2) ? "^" : "$";  // anchors: never repeated
        continue;
      }
      switch (q) {
        case 0: atom += "?"; break;
        case 1: atom += "*"; break;
        case 2: atom += "+"; break;
        case 3: atom += "{" + std::to_string(pick(3)) + "}"; break;
        case 4: atom += "{" + std::to_string(pick(3)) + ",}"; break;
        case 5: {
          const int m = pick(3);
          atom += "{" + std::to_string(m) + "," + std::to_string(m + pick(3)) + "}";
          break;
        }
        default: break;
      }
      out += atom;
    }
    if (pick(8) == 0) out += "|" + gen(depth + 1, repeated);
    return out;
  };
  const std::string alphabet = "abc1 .(\\+\n_]-";
  int compared = 0, matched = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string p = gen(0, false);
    const Pattern mine(p);
    const std::regex theirs(p, std::regex::ECMAScript);
    for (int j = 0; j < 4; ++j) {
      std::string s;
      for (int n = pick(7); n > 0; --n) s += alphabet[pick(static_cast<int>(alphabet.size()))];
      const bool want = std::regex_search(s, theirs);
      ASSERT_EQ(mine.search(s), want) << "/" << p << "/ on \"" << s << "\"";
      ++compared;
      matched += want;
    }
  }
  // Not a vacuous comparison: both outcomes are common.
  EXPECT_EQ(compared, 8000);
  EXPECT_GT(matched, compared / 5);
  EXPECT_LT(matched, compared * 4 / 5);
}

// Every `raises.match` of cases/ is in the dialect (the loader refuses the file otherwise).
TEST(Pattern, EveryMatchPatternOfTheCasesCompiles) {
  int found = 0;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& file) {
    if (n.IsMap()) {
      for (const auto& kv : n) {
        if (kv.first.as<std::string>() == "raises" && kv.second.IsMap() && kv.second["match"]) {
          const std::string p = kv.second["match"].as<std::string>();
          EXPECT_NO_THROW(Pattern{p}) << file << ": /" << p << "/";
          ++found;
        }
        walk(kv.second, file);
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) walk(item, file);
    }
  };
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(MPC_SOURCE_DIR) + "/cases"))
    if (entry.path().extension() == ".yaml") walk(YAML::LoadFile(entry.path().string()), entry.path().string());
  EXPECT_GE(found, 40) << "fewer match patterns than cases/ holds";
}
