#include "pattern.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace mpconform {

namespace {

// Bytes that are not part of valid UTF-8 decode to characters past Unicode, one per byte, so that
// no literal matches them and `.` does.
constexpr char32_t kInvalidByteBase = 0x110000;
constexpr char32_t kMaxChar = kInvalidByteBase + 0xFF;

// Decodes one character of `s` at `i`; returns its length (1 for an invalid byte).
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t len = 0;
  char32_t v = 0, min = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  }
  if (len == 0 || i + len > s.size()) {
    cp = kInvalidByteBase + c;
    return 1;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) {
      cp = kInvalidByteBase + c;
      return 1;
    }
    v = (v << 6) | (b(k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {  // overlong, past Unicode, surrogate
    cp = kInvalidByteBase + c;
    return 1;
  }
  cp = v;
  return len;
}

std::string describe_char(char32_t c) {
  if (c > 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

using Ranges = std::vector<Pattern::Range>;

Ranges normalized(Ranges r) {
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.lo < b.lo; });
  Ranges out;
  for (const auto& x : r) {
    if (!out.empty() && x.lo <= out.back().hi + 1)
      out.back().hi = std::max(out.back().hi, x.hi);
    else
      out.push_back(x);
  }
  return out;
}

Ranges complement(const Ranges& in) {
  Ranges r = normalized(in), out;
  char32_t next = 0;
  for (const auto& x : r) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= kMaxChar) out.push_back({next, kMaxChar});
  return out;
}

// \d \w \s and their complements, ASCII only (as std::regex in the C locale).
Ranges class_escape(char32_t c) {
  Ranges r;
  switch (c | 0x20) {
    case 'd': r = {{'0', '9'}}; break;
    case 'w': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
    case 's': r = {{'\t', '\r'}, {' ', ' '}}; break;
  }
  return (c >= 'A' && c <= 'Z') ? complement(r) : r;
}

bool is_class_escape(char32_t c) { return c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S'; }

// The characters that an escape stands for as themselves: ASCII punctuation.
bool is_identity_escape(char32_t c) {
  return c > 0x20 && c < 0x7F && !(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// \n \t \r \f \v, or 0.
char32_t control_escape(char32_t c) {
  switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return 0;
  }
}

struct Node {
  enum Kind { Empty, Char, Class, Bol, Eol, Concat, Alt, Repeat } kind = Empty;
  std::uint32_t value = 0;                  // Char: code point; Class: index
  std::uint32_t min = 0, max = 0;           // Repeat; max == kInfinite for no bound
  std::vector<std::unique_ptr<Node>> kids;  // Concat, Alt, Repeat (one)
  std::uint64_t size = 0;                   // instructions it compiles to
};

constexpr std::uint32_t kInfinite = UINT32_MAX;

}  // namespace

PatternError::PatternError(std::size_t column, const std::string& reason)
    : std::runtime_error("column " + std::to_string(column) + ": " + reason), column_(column) {}

class PatternCompiler {
 public:
  PatternCompiler(std::string_view text, Pattern& out) : out_(out) {
    for (std::size_t i = 0; i < text.size();) {
      char32_t c;
      std::size_t n = decode(text, i, c);
      if (c >= kInvalidByteBase) throw PatternError(chars_.size() + 1, "not valid UTF-8");
      chars_.push_back(c);
      i += n;
    }
  }

  void compile() {
    auto root = alternation(0);
    if (pos_ < chars_.size()) fail(pos_, "')' without a '(' before it (write \\) for the character)");
    emit(*root);
    out_.prog_.push_back({Pattern::Inst::Match});
  }

 private:
  using NodeP = std::unique_ptr<Node>;

  [[noreturn]] void fail(std::size_t at, const std::string& reason) const { throw PatternError(at + 1, reason); }
  bool at_end() const { return pos_ >= chars_.size(); }
  char32_t peek(std::size_t ahead = 0) const { return pos_ + ahead < chars_.size() ? chars_[pos_ + ahead] : 0; }

  NodeP leaf(Node::Kind k, std::uint32_t value = 0) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->value = value;
    n->size = 1;
    return n;
  }

  NodeP class_node(Ranges r) {
    out_.classes_.push_back(normalized(std::move(r)));
    return leaf(Node::Class, static_cast<std::uint32_t>(out_.classes_.size() - 1));
  }

  // A node's program must leave room for the final Match.
  void check_size(const Node& n, std::size_t at) const {
    if (n.size >= Pattern::kMaxInstructions)
      fail(at, "the pattern compiles to more than " + std::to_string(Pattern::kMaxInstructions) +
                   " instructions (a repeat copies what it repeats)");
  }

  NodeP alternation(int depth) {
    const std::size_t start = pos_;
    std::vector<NodeP> branches;
    branches.push_back(sequence(depth));
    while (peek() == '|' && !at_end()) {
      ++pos_;
      branches.push_back(sequence(depth));
    }
    if (branches.size() == 1) return std::move(branches[0]);
    auto n = std::make_unique<Node>();
    n->kind = Node::Alt;
    n->size = 2 * (branches.size() - 1);
    for (auto& b : branches) n->size += b->size;
    n->kids = std::move(branches);
    check_size(*n, start);
    return n;
  }

  NodeP sequence(int depth) {
    auto n = std::make_unique<Node>();
    n->kind = Node::Concat;
    while (!at_end() && peek() != '|' && peek() != ')') {
      const std::size_t at = pos_;
      n->kids.push_back(quantified(depth));
      n->size += n->kids.back()->size;
      check_size(*n, at);
    }
    return n;
  }

  // Reads {m}, {m,} or {m,n} at pos_ into min/max; false (pos_ unchanged) if it is not one.
  bool brace_quantifier(std::uint32_t& min, std::uint32_t& max) {
    std::size_t p = pos_ + 1;
    auto number = [&](std::uint32_t& v) {
      const std::size_t from = p;
      std::uint64_t x = 0;
      while (p < chars_.size() && chars_[p] >= '0' && chars_[p] <= '9') {
        x = std::min<std::uint64_t>(x * 10 + (chars_[p] - '0'), std::uint64_t(Pattern::kMaxRepeat) + 1);
        ++p;
      }
      if (x > Pattern::kMaxRepeat) fail(from, "a repeat count past " + std::to_string(Pattern::kMaxRepeat));
      v = static_cast<std::uint32_t>(x);
      return p > from;
    };
    if (!number(min)) return false;
    if (p < chars_.size() && chars_[p] == '}') {
      max = min;
    } else if (p < chars_.size() && chars_[p] == ',') {
      ++p;
      if (p < chars_.size() && chars_[p] == '}')
        max = kInfinite;
      else if (!number(max) || p >= chars_.size() || chars_[p] != '}')
        return false;
      if (max < min)
        fail(pos_, "{" + std::to_string(min) + "," + std::to_string(max) + "}: the bounds are out of order");
    } else {
      return false;
    }
    pos_ = p + 1;
    return true;
  }

  bool quantifier_ahead() {
    const char32_t c = peek();
    if (c == '*' || c == '+' || c == '?') return true;
    if (c != '{') return false;
    std::size_t save = pos_;
    std::uint32_t a, b;
    bool q = brace_quantifier(a, b);
    pos_ = save;
    return q;
  }

  NodeP quantified(int depth) {
    NodeP atom_node = atom(depth);
    if (!quantifier_ahead()) return atom_node;
    const std::size_t qat = pos_;
    if (atom_node->kind == Node::Bol || atom_node->kind == Node::Eol)
      fail(qat, "an anchor (^ or $) cannot be repeated");
    std::uint32_t min = 0, max = kInfinite;
    const char32_t c = peek();
    if (c == '*')
      ++pos_;
    else if (c == '+')
      min = 1, ++pos_;
    else if (c == '?')
      max = 1, ++pos_;
    else
      brace_quantifier(min, max);
    if (peek() == '?' && !at_end()) fail(pos_, "lazy quantifiers (a '?' after a quantifier) are not supported");
    if (quantifier_ahead()) fail(pos_, "a quantifier after a quantifier (nothing to repeat)");
    auto n = std::make_unique<Node>();
    n->kind = Node::Repeat;
    n->min = min;
    n->max = max;
    const std::uint64_t s = atom_node->size;
    n->size = min * s + (max == kInfinite ? (min == 0 ? s + 2 : 1) : std::uint64_t(max - min) * (s + 1));
    n->kids.push_back(std::move(atom_node));
    check_size(*n, qat);
    return n;
  }

  NodeP atom(int depth) {
    const std::size_t at = pos_;
    const char32_t c = chars_[pos_++];
    switch (c) {
      case '(': {
        if (depth >= Pattern::kMaxNesting)
          fail(at, "groups nested deeper than " + std::to_string(Pattern::kMaxNesting));
        if (peek() == '?') {
          const char32_t k = peek(1), k2 = peek(2);
          if (k == ':')
            pos_ += 2;
          else if (k == '=' || k == '!')
            fail(at, "lookahead (?" + std::string(1, char(k)) + "...) is not supported");
          else if (k == '<' && (k2 == '=' || k2 == '!'))
            fail(at, "lookbehind (?<" + std::string(1, char(k2)) + "...) is not supported");
          else if (k == '<')
            fail(at, "named groups (?<name>...) are not supported");
          else
            fail(at, "'(?' other than '(?:' (flags, or other extensions) is not supported");
        }
        NodeP inner = alternation(depth + 1);
        if (at_end() || peek() != ')') fail(at, "'(' without a ')' after it");
        ++pos_;
        return inner;
      }
      case '[': return char_class(at);
      case '.': return class_node(complement({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}));
      case '^': return leaf(Node::Bol);
      case '$': return leaf(Node::Eol);
      case '\\': return escape(at);
      case '*':
      case '+':
      case '?':
        fail(at, "'" + std::string(1, char(c)) + "' with nothing to repeat (write \\" + std::string(1, char(c)) +
                     " for the character)");
      case '{': {
        --pos_;
        if (quantifier_ahead()) fail(at, "a quantifier {...} with nothing to repeat");
        fail(at, "'{' that is not a quantifier {m}, {m,} or {m,n} (write \\{ for the character)");
      }
      case '}':
      case ']':
        fail(at,
             "a lone '" + std::string(1, char(c)) + "' (write \\" + std::string(1, char(c)) + " for the character)");
      default: return leaf(Node::Char, c);
    }
  }

  // After a '\' outside a class.
  NodeP escape(std::size_t at) {
    if (at_end()) fail(at, "the pattern ends with a lone '\\'");
    const char32_t c = chars_[pos_++];
    if (is_class_escape(c)) return class_node(class_escape(c));
    if (char32_t ctl = control_escape(c)) return leaf(Node::Char, ctl);
    if (is_identity_escape(c)) return leaf(Node::Char, c);
    fail(at, escape_refusal(c));
  }

  std::string escape_refusal(char32_t c) const {
    if (c >= '1' && c <= '9') return "backreferences (\\" + std::string(1, char(c)) + ") are not supported";
    if (c == 'b' || c == 'B') return "word boundaries (\\" + std::string(1, char(c)) + ") are not supported";
    if (c == 'k') return "named backreferences (\\k) are not supported";
    if (c == 'x' || c == 'u' || c == 'c' || c == '0')
      return "the escape \\" + std::string(1, char(c)) + " is not supported (write the character itself)";
    if (c == 'p' || c == 'P') return "Unicode property escapes (\\" + std::string(1, char(c)) + ") are not supported";
    return "unknown escape: '\\' before " + describe_char(c) +
           " (escape only ASCII punctuation, or \\d \\w \\s \\D \\W \\S \\n \\t \\r \\f \\v)";
  }

  // One member of a class: a character (true) or a class escape, added to `set` (false).
  bool class_atom(char32_t& ch, Ranges& set, std::size_t open) {
    if (at_end()) fail(open, "'[' without a ']' after it");
    const std::size_t at = pos_;
    const char32_t c = chars_[pos_++];
    if (c == '[') fail(at, "a '[' inside a class (write \\[ for the character)");
    if (c != '\\') {
      ch = c;
      return true;
    }
    if (at_end()) fail(open, "'[' without a ']' after it");
    const char32_t e = chars_[pos_++];
    if (is_class_escape(e)) {
      Ranges r = class_escape(e);
      set.insert(set.end(), r.begin(), r.end());
      return false;
    }
    if (e == 'b') fail(at, "\\b in a class (a backspace) is not supported");
    if (char32_t ctl = control_escape(e))
      ch = ctl;
    else if (is_identity_escape(e))
      ch = e;
    else
      fail(at, escape_refusal(e));
    return true;
  }

  NodeP char_class(std::size_t open) {
    bool negated = false;
    if (peek() == '^' && !at_end()) negated = true, ++pos_;
    if (peek() == ']' && !at_end()) fail(open, "an empty class [] or [^] is not supported");
    Ranges set;
    bool first = true;
    for (;;) {
      if (at_end()) fail(open, "'[' without a ']' after it");
      if (peek() == ']') {
        ++pos_;
        break;
      }
      const std::size_t at = pos_;
      const bool plain_dash = peek() == '-';
      char32_t lo = 0;
      const bool is_char = class_atom(lo, set, open);
      if (plain_dash && !first && peek() != ']') fail(at, "a '-' that is not a range (write \\- for the character)");
      first = false;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < chars_.size()) {
        const std::size_t dash = pos_++;
        char32_t hi = 0;
        const bool hi_char = class_atom(hi, set, open);
        if (!is_char || !hi_char) fail(dash, "a range with a class escape (\\d \\w \\s ...) at an end");
        if (hi < lo) fail(at, "the range " + describe_char(lo) + "-" + describe_char(hi) + " is out of order");
        set.push_back({lo, hi});
      } else if (is_char) {
        set.push_back({lo, lo});
      }
    }
    return class_node(negated ? complement(set) : set);
  }

  std::uint32_t here() const { return static_cast<std::uint32_t>(out_.prog_.size()); }
  std::uint32_t push(Pattern::Inst::Op op, std::uint32_t x = 0, std::uint32_t y = 0) {
    out_.prog_.push_back({op, x, y});
    return here() - 1;
  }

  void emit(const Node& n) {
    using I = Pattern::Inst;
    switch (n.kind) {
      case Node::Empty: break;
      case Node::Char: push(I::Char, n.value); break;
      case Node::Class: push(I::Class, n.value); break;
      case Node::Bol: push(I::Bol); break;
      case Node::Eol: push(I::Eol); break;
      case Node::Concat:
        for (const auto& k : n.kids) emit(*k);
        break;
      case Node::Alt: {
        std::vector<std::uint32_t> jumps;
        for (std::size_t i = 0; i + 1 < n.kids.size(); ++i) {
          const std::uint32_t split = push(I::Split, here() + 1);
          emit(*n.kids[i]);
          jumps.push_back(push(I::Jmp));
          out_.prog_[split].y = here();
        }
        emit(*n.kids.back());
        for (auto j : jumps) out_.prog_[j].x = here();
        break;
      }
      case Node::Repeat: {
        const Node& e = *n.kids[0];
        if (n.max == kInfinite && n.min > 0) {  // e{min-1} then e+
          for (std::uint32_t i = 0; i + 1 < n.min; ++i) emit(e);
          const std::uint32_t loop = here();
          emit(e);
          push(I::Split, loop, here() + 1);
        } else if (n.max == kInfinite) {  // e*
          const std::uint32_t split = push(I::Split, here() + 1);
          emit(e);
          push(I::Jmp, split);
          out_.prog_[split].y = here();
        } else {  // e{min}, then max-min times an optional e
          for (std::uint32_t i = 0; i < n.min; ++i) emit(e);
          std::vector<std::uint32_t> skips;
          for (std::uint32_t i = n.min; i < n.max; ++i) {
            skips.push_back(push(I::Split, here() + 1));
            emit(e);
          }
          for (auto s : skips) out_.prog_[s].y = here();
        }
        break;
      }
    }
  }

  Pattern& out_;
  std::vector<char32_t> chars_;
  std::size_t pos_ = 0;
};

Pattern::Pattern(std::string_view pattern) { PatternCompiler(pattern, *this).compile(); }

bool Pattern::search(std::string_view subject) const {
  const std::size_t n = prog_.size();
  std::vector<std::uint32_t> cur, next, stack;
  cur.reserve(n), next.reserve(n), stack.reserve(n);
  // mark[pc] == step: pc is already in the list for this position (each pc at most once per step,
  // which is what bounds the work, and what ends loops that match the empty string).
  std::vector<std::uint64_t> mark(n, UINT64_MAX);

  // Follows the empty transitions from pc; adds the instructions that consume a character to
  // `list`. True if the match instruction is reached.
  auto add = [&](std::vector<std::uint32_t>& list, std::uint32_t pc, std::uint64_t step, bool at_start, bool at_end) {
    stack.push_back(pc);
    while (!stack.empty()) {
      const std::uint32_t p = stack.back();
      stack.pop_back();
      if (mark[p] == step) continue;
      mark[p] = step;
      const Inst& in = prog_[p];
      switch (in.op) {
        case Inst::Jmp: stack.push_back(in.x); break;
        case Inst::Split:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case Inst::Bol:
          if (at_start) stack.push_back(p + 1);
          break;
        case Inst::Eol:
          if (at_end) stack.push_back(p + 1);
          break;
        case Inst::Match: stack.clear(); return true;
        default: list.push_back(p);
      }
    }
    return false;
  };

  std::uint64_t step = 0;
  if (add(cur, 0, step, true, subject.empty())) return true;
  for (std::size_t i = 0; i < subject.size();) {
    char32_t c;
    i += decode(subject, i, c);
    ++step;
    const bool end = i == subject.size();
    next.clear();
    for (std::uint32_t p : cur) {
      const Inst& in = prog_[p];
      bool ok = false;
      if (in.op == Inst::Char) {
        ok = in.x == c;
      } else {  // Class
        const auto& r = classes_[in.x];
        auto it = std::upper_bound(r.begin(), r.end(), c, [](char32_t v, const Range& x) { return v < x.lo; });
        ok = it != r.begin() && c <= std::prev(it)->hi;
      }
      if (ok && add(next, p + 1, step, false, end)) return true;
    }
    // A match may start at any position.
    if (add(next, 0, step, false, end)) return true;
    cur.swap(next);
  }
  return false;
}

}  // namespace mpconform
