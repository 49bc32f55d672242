#include "case_loader.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "pattern.hpp"

namespace mpconform {
namespace fs = std::filesystem;

namespace {

// ---- the reading layer: bytes to a YAML tree, under the bounds of Limits ----
//
// Everything a case file holds passes through here once, and every bound is checked here while
// the tree is built (spec/case-format.md#limits): size before parsing, UTF-8 before anything can
// echo a byte, nesting and the node budget (aliases expanded, without expanding them) while
// parsing, duplicate keys and extra documents as they appear. The later stages walk a tree that
// is known to be small enough.

std::string hex_byte(unsigned char c) {
  static const char* digits = "0123456789abcdef";
  return std::string("\\x") + digits[c >> 4] + digits[c & 15];
}

// The text being read, to turn byte offsets into positions (columns count characters) in
// O(log n): positions are asked for every step and node budget check, so a scan would be quadratic.
class Source {
 public:
  Source(std::string file, std::string_view text) : file(std::move(file)), text(text) {}
  std::string file;
  std::string_view text;

  SourcePos at(std::size_t offset) const {
    index();
    offset = std::min(offset, text.size());
    auto line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin();
    const std::size_t start = line_starts_[line - 1];
    return {file, static_cast<int>(line), static_cast<int>(chars_before_[offset] - chars_before_[start] + 1)};
  }
  SourcePos at(const YAML::Mark& m) const {
    if (m.is_null() || m.pos < 0) return {file, 1, 1};
    return at(static_cast<std::size_t>(m.pos));
  }

 private:
  void index() const {
    if (!chars_before_.empty()) return;
    line_starts_.push_back(0);
    chars_before_.reserve(text.size() + 1);
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      chars_before_.push_back(chars);
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
    chars_before_.push_back(chars);
  }
  mutable std::vector<std::size_t> line_starts_;
  mutable std::vector<std::size_t> chars_before_;  // characters before each byte offset
};

struct YNode;
using NodeP = std::shared_ptr<const YNode>;

struct YNode {
  enum class Kind { Null, Scalar, Seq, Map };
  Kind kind = Kind::Null;
  std::string tag;           // "?" for a plain scalar or null, "!" for a quoted one, else the explicit tag
  std::string value;         // Scalar
  std::vector<NodeP> items;  // Seq
  std::vector<std::pair<NodeP, NodeP>> entries;  // Map: scalar keys, no two alike
  std::size_t offset = 0;                        // where it starts in the text
  std::uint64_t size = 1;                        // nodes in this subtree, aliases expanded
  int height = 0;                                // levels of collections in this subtree: a scalar 0, [] 1

  bool is_null() const { return kind == Kind::Null; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_seq() const { return kind == Kind::Seq; }
  bool is_map() const { return kind == Kind::Map; }
  // The value of key in a mapping, or nullptr.
  const YNode* get(std::string_view key) const {
    if (kind != Kind::Map) return nullptr;
    for (const auto& [k, v] : entries)
      if (k->value == key) return v.get();
    return nullptr;
  }
  std::size_t count() const { return kind == Kind::Map ? entries.size() : items.size(); }
};

[[noreturn]] void fail(const Source& src, const YNode* node, const std::string& what) {
  throw CaseError(node ? src.at(node->offset) : SourcePos{src.file, 1, 1}, what);
}

// The node budget of one case: YAML nodes (an alias counts the nodes it stands for) and $range items.
class Budget {
 public:
  explicit Budget(std::uint64_t limit) : limit_(limit) {}
  bool fits(std::uint64_t n) const { return n <= limit_ - used_; }
  void take(std::uint64_t n, const Source& src, std::size_t offset) {
    if (n > limit_ - used_)
      throw CaseError(src.at(offset),
                      "more than " + std::to_string(limit_) +
                          " items (YAML nodes, aliases expanded, and $range items count; --max-generated-items)");
    used_ += n;
  }

 private:
  std::uint64_t limit_, used_ = 0;
};

// The length of the UTF-8 sequence at s[i], or 0 if it is not valid UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF are not); *cp gets the code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, unsigned* cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len;
  unsigned v, min;
  if (c < 0x80) return *cp = c, 1;
  if ((c & 0xE0) == 0xC0)
    len = 2, v = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    len = 3, v = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    len = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

bool valid_utf8(std::string_view s) {
  unsigned cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Runs first, so that no later message can carry a byte that is not UTF-8 into a report. Also
// refuses the control characters YAML does not allow in a stream (they have escapes).
void check_text(const Source& src) {
  const std::string_view s = src.text;
  unsigned cp;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i, &cp);
    if (n == 0)
      throw CaseError(src.at(i), "not valid UTF-8: byte " + hex_byte(static_cast<unsigned char>(s[i])) +
                                     " (a case file is UTF-8 text)");
    bool control = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
                   (cp >= 0x80 && cp < 0xA0 && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF;
    if (control) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", cp);
      throw CaseError(
          src.at(i),
          std::string("control character ") + buf +
              " in the text: YAML allows only tab and line breaks (write it as an escape in a double-quoted string)");
    }
    i += n;
  }
}

// Text of the input in a message, cut short: a key or name can be a megabyte long.
std::string brief(const std::string& text) {
  if (text.size() <= 80) return text;
  std::size_t cut = 60;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return text.substr(0, cut) + "... (" + std::to_string(text.size()) + " bytes)";
}

std::string nesting_error(int limit) {
  return "nested deeper than " + std::to_string(limit) + " levels (--max-case-nesting)";
}

// Builds the tree from yaml-cpp's parser events, checking each bound as the events come.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(const Source& src, Budget& budget, int max_depth) : src_(src), budget_(budget), max_depth_(max_depth) {}
  NodeP root() const { return root_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ > 0)
      throw CaseError(src_.at(mark), "a second YAML document starts here: a case file holds exactly one");
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto n = make(YNode::Kind::Null, mark);
    n->tag = "?";
    finish(n, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    // yaml-cpp registers an anchor when its node starts; ours is complete only when it ends.
    if (it == anchors_.end())
      throw CaseError(src_.at(mark), "an alias inside the node it refers to (a recursive alias)");
    const NodeP& target = it->second;
    if (static_cast<int>(stack_.size()) + target->height > max_depth_)
      throw CaseError(src_.at(mark), nesting_error(max_depth_));
    budget_.take(target->size, src_, mark.pos > 0 ? static_cast<std::size_t>(mark.pos) : 0);
    attach(target, mark.pos > 0 ? static_cast<std::size_t>(mark.pos) : 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    // The text is UTF-8; an escape can still make a string that is not (yaml-cpp refuses most).
    if (!valid_utf8(value)) throw CaseError(src_.at(mark), "this string is not valid UTF-8 once its escapes are read");
    auto n = make(YNode::Kind::Scalar, mark);
    n->tag = tag;
    n->value = value;
    finish(n, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(YNode::Kind::Seq, mark, tag, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(YNode::Kind::Map, mark, tag, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::shared_ptr<YNode> node;
    YAML::anchor_t anchor;
    NodeP key;                                          // a mapping's key waiting for its value
    std::unordered_map<std::string, std::size_t> keys;  // a mapping's keys: where each is
  };

  std::shared_ptr<YNode> make(YNode::Kind kind, const YAML::Mark& mark) {
    auto n = std::make_shared<YNode>();
    n->kind = kind;
    n->offset = mark.pos > 0 ? static_cast<std::size_t>(mark.pos) : 0;
    budget_.take(1, src_, n->offset);
    return n;
  }

  void open(YNode::Kind kind, const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) + 1 > max_depth_) throw CaseError(src_.at(mark), nesting_error(max_depth_));
    auto n = make(kind, mark);
    n->tag = tag;
    n->height = 1;
    stack_.push_back(Open{n, anchor, nullptr, {}});
  }

  void close() {
    if (stack_.back().key) {  // a key with no value: yaml-cpp gives a null, but be sure
      auto null = make(YNode::Kind::Null, YAML::Mark::null_mark());
      null->tag = "?";
      null->offset = stack_.back().key->offset;
      attach(null, null->offset);
    }
    Open o = std::move(stack_.back());
    stack_.pop_back();
    finish(o.node, o.anchor);
  }

  void finish(const NodeP& n, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = n;
    attach(n, n->offset);
  }

  // offset: where n appears here (an alias appears elsewhere than the node it stands for).
  void attach(const NodeP& n, std::size_t offset) {
    if (stack_.empty()) {
      root_ = n;
      return;
    }
    Open& parent = stack_.back();
    YNode& p = *parent.node;
    p.size = n->size > UINT64_MAX - p.size ? UINT64_MAX : p.size + n->size;  // saturates: the budget may be unbounded
    p.height = std::max(p.height, n->height + 1);
    if (p.is_seq()) {
      p.items.push_back(n);
      return;
    }
    if (!parent.key) {
      const SourcePos at = src_.at(offset);
      if (!n->is_scalar()) throw CaseError(at, "a mapping key must be a string or number (use $dict for other keys)");
      auto [it, fresh] = parent.keys.emplace(n->value, offset);
      if (!fresh) {
        const SourcePos first = src_.at(it->second);
        throw CaseError(at, "duplicate key '" + brief(n->value) + "' (first at " + std::to_string(first.line) + ":" +
                                std::to_string(first.column) + ")");
      }
      parent.key = n;
      return;
    }
    p.entries.emplace_back(std::move(parent.key), n);
    parent.key = nullptr;
  }

  const Source& src_;
  Budget& budget_;
  int max_depth_;
  int documents_ = 0;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, NodeP> anchors_;
  NodeP root_;
};

NodeP read_tree(const Source& src, const Limits& limits, Budget& budget) {
  if (src.text.size() > limits.case_file_bytes)
    throw CaseError(SourcePos{src.file, 0, 0}, "the file is " + std::to_string(src.text.size()) + " bytes, more than " +
                                                   std::to_string(limits.case_file_bytes) + " (--max-case-bytes)");
  check_text(src);
  std::istringstream in{std::string(src.text)};
  TreeBuilder builder(src, budget, limits.case_nesting);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder) || !builder.root())
      throw CaseError(SourcePos{src.file, 1, 1}, "the file holds no YAML document: a case is a YAML mapping");
    parser.HandleNextDocument(builder);  // a second document stops in OnDocumentStart
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own recursion bound, reached only if --max-case-nesting is set above it.
    throw CaseError(src.at(e.mark), "nested deeper than yaml-cpp can read (" + std::to_string(e.depth()) + " levels)");
  } catch (const YAML::Exception& e) {
    throw CaseError(src.at(e.mark), "not valid YAML: " + e.msg);
  }
  return builder.root();
}

// ---- YAML scalars to typed values (YAML 1.2 core schema resolution for plain scalars) ----

bool all_of_class(std::string_view s, bool (*ok)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), ok); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_oct_digit(char c) { return c >= '0' && c <= '7'; }
std::string_view unsigned_part(std::string_view s) {
  return !s.empty() && (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
}
bool is_int_text(std::string_view s) { return all_of_class(unsigned_part(s), is_digit); }
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float_text(std::string_view s) {
  s = unsigned_part(s);
  std::size_t i = 0, digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t frac = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++frac;
    if (digits == 0 && frac == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!all_of_class(s.substr(std::min(i, s.size())), is_digit)) return false;
    return true;
  }
  return i == s.size();
}
bool is_special_float(std::string_view s) {
  std::string_view u = unsigned_part(s);
  if (u == ".inf" || u == ".Inf" || u == ".INF") return true;
  return s == ".nan" || s == ".NaN" || s == ".NAN";
}

// Python refuses int/str conversions of more digits (sys.int_info.default_max_str_digits); the
// conversion below is quadratic, so the bound also keeps it fast.
constexpr std::size_t kMaxRadixDigits = 4300;

// Arbitrary-size conversion of hex/octal digits to decimal text.
std::string radix_to_decimal(std::string_view digits, unsigned radix) {
  if (digits.size() > kMaxRadixDigits)
    throw ValueError("an integer of more than " + std::to_string(kMaxRadixDigits) + " digits (write it in decimal)");
  std::vector<std::uint32_t> limbs{0};  // base 1e9, little endian
  for (char c : digits) {
    unsigned d = is_digit(c) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    std::uint64_t carry = d;
    for (auto& limb : limbs) {
      std::uint64_t x = std::uint64_t(limb) * radix + carry;
      limb = static_cast<std::uint32_t>(x % 1000000000u);
      carry = x / 1000000000u;
    }
    if (carry) limbs.push_back(static_cast<std::uint32_t>(carry));
  }
  std::string out = std::to_string(limbs.back());
  for (auto it = limbs.rbegin() + 1; it != limbs.rend(); ++it) {
    std::string part = std::to_string(*it);
    out += std::string(9 - part.size(), '0') + part;
  }
  return out;
}

json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return make_none();
  if (s == "true" || s == "True" || s == "TRUE") return make_bool(true);
  if (s == "false" || s == "False" || s == "FALSE") return make_bool(false);
  if (is_int_text(s)) return make_int(s);
  if (s.starts_with("0x") && all_of_class(std::string_view(s).substr(2), is_hex_digit))
    return make_int(radix_to_decimal(std::string_view(s).substr(2), 16));
  if (s.starts_with("0o") && all_of_class(std::string_view(s).substr(2), is_oct_digit))
    return make_int(radix_to_decimal(std::string_view(s).substr(2), 8));
  if (is_float_text(s) || is_special_float(s)) return make_float(parse_float(s));
  return make_str(s);
}

// Decodes UTF-8 text whose code points are all <= 255 into bytes.
std::optional<std::string> latin1_bytes(const std::string& text) {
  std::string out;
  unsigned cp;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = utf8_sequence(text, i, &cp);
    if (n == 0 || cp > 255) return std::nullopt;
    out.push_back(static_cast<char>(cp));
    i += n;
  }
  return out;
}

// len(range(start, stop, step)), for step != 0.
std::uint64_t range_length(std::int64_t start, std::int64_t stop, std::int64_t step) {
  const __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  const __int128 stride = step > 0 ? __int128(step) : -__int128(step);
  return span <= 0 ? 0 : static_cast<std::uint64_t>((span + stride - 1) / stride);  // < 2^64: |span| < 2^64
}

// The length of a well-formed {$range: [start, stop(, step)]} node, or nullopt if n is not one
// (a malformed one is reported by ValueReader when it reads it).
std::optional<std::uint64_t> range_node_length(const YNode* n) {
  if (!n->is_map() || n->entries.size() != 1 || n->entries[0].first->value != "$range") return std::nullopt;
  const YNode* arg = n->entries[0].second.get();
  if (!arg->is_seq() || arg->items.size() < 2 || arg->items.size() > 3) return std::nullopt;
  std::int64_t v[3] = {0, 0, 1};
  for (std::size_t k = 0; k < arg->items.size(); ++k) {
    const YNode* x = arg->items[k].get();
    if (!x->is_scalar() || x->tag != "?") return std::nullopt;
    auto [p, ec] = std::from_chars(x->value.data(), x->value.data() + x->value.size(), v[k]);
    if (ec != std::errc() || p != x->value.data() + x->value.size()) return std::nullopt;
  }
  if (v[2] == 0) return std::nullopt;
  return range_length(v[0], v[1], v[2]);
}

// Charges every $range of the document to the budget before any is expanded, so that several
// that each fit stop at once, at the one that passes the bound. An alias counts its ranges each
// time it appears, as the nodes do; totals are memoised per node, so this visits each node once.
class RangeCharge {
 public:
  RangeCharge(const Source& src, Budget& budget) : src_(src), budget_(budget) {}

  void charge(const YNode* n) {
    const std::uint64_t t = total(n);
    if (t == 0) return;
    if (budget_.fits(t)) return budget_.take(t, src_, n->offset);
    if (range_node_length(n)) budget_.take(t, src_, n->entries[0].second->offset);  // throws: it passes the bound
    for (const auto& item : n->items) charge(item.get());
    for (const auto& [k, v] : n->entries) charge(v.get());
  }

 private:
  std::uint64_t total(const YNode* n) {
    if (n->is_scalar() || n->is_null()) return 0;
    if (auto it = memo_.find(n); it != memo_.end()) return it->second;
    std::uint64_t sum = 0;
    auto add = [&sum](std::uint64_t x) { sum = x > UINT64_MAX - sum ? UINT64_MAX : sum + x; };
    if (auto len = range_node_length(n)) {
      sum = *len;
    } else {
      for (const auto& item : n->items) add(total(item.get()));
      for (const auto& [k, v] : n->entries) add(total(v.get()));
    }
    memo_.emplace(n, sum);
    return sum;
  }

  const Source& src_;
  Budget& budget_;
  std::unordered_map<const YNode*, std::uint64_t> memo_;
};

class ValueReader {
 public:
  ValueReader(const Source& src, const Limits& limits) : src_(src), limits_(limits) {}

  json read(const YNode* n) const {
    if (n->is_null()) return make_none();
    if (n->is_scalar()) {
      const std::string& s = n->value;
      const std::string& tag = n->tag;
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return make_str(s);
      if (tag == "?") {
        try {
          return plain_scalar(s);
        } catch (const ValueError& e) {
          fail(src_, n, e.what());
        }
      }
      fail(src_, n,
           "unsupported YAML tag '" + brief(tag) + "' (values use plain scalars and $-forms; see spec/values.md)");
    }
    if (n->is_seq()) {
      json items = json::array();
      for (const auto& item : n->items) items.push_back(read(item.get()));
      return {{"t", "list"}, {"v", items}};
    }
    bool special = false;
    for (const auto& kv : n->entries)
      if (kv.first->value.starts_with("$")) special = true;
    if (special) return read_special(n);
    json items = json::array();
    for (const auto& [k, v] : n->entries) items.push_back(json::array({make_str(k->value), read(v.get())}));
    return {{"t", "dict"}, {"v", items}};
  }

  // A number of seconds: finite, >= 0 (> 0 unless zero_ok), at most `max` (named by max_what).
  double duration(const YNode* n, const std::string& what, bool zero_ok, double max,
                  const std::string& max_what) const {
    json v = read(n);
    double d = 0;
    if (v["t"] != "int" && v["t"] != "float") fail(src_, n, what + " must be a number of seconds");
    try {
      d = parse_float(v["v"].get<std::string>());
    } catch (const ValueError&) {
      d = HUGE_VAL;  // an integer too large for a double
    }
    if (!std::isfinite(d)) {
      const std::string& shown = v["v"].get_ref<const std::string&>();
      fail(src_, n,
           what + " must be a finite number of seconds, not " +
               (shown.size() > 24 ? "an integer of " + std::to_string(shown.size()) + " digits" : shown));
    }
    if (d < 0 || (d == 0 && !zero_ok))
      fail(src_, n, what + " must be " + (zero_ok ? "at least 0" : "more than 0") + " seconds");
    if (d > max)
      fail(src_, n, what + " of " + format_float(d) + " s is more than " + max_what + " (" + format_float(max) + " s)");
    return d;
  }

  std::uint64_t read_count(const YNode* n, const char* what) const {
    json v = read(n);
    std::uint64_t out = 0;
    if (v["t"] == "int") {
      const std::string& text = v["v"].get_ref<const std::string&>();
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      if (ec == std::errc() && p == text.data() + text.size()) return out;
    }
    fail(src_, n, std::string(what) + " takes an integer from 0 to 2^64-1");
  }

 private:
  json read_list(const YNode* n, const std::string& what) const {
    if (!n->is_seq()) fail(src_, n, what + " takes a sequence");
    json items = json::array();
    for (const auto& item : n->items) items.push_back(read(item.get()));
    return items;
  }

  std::int64_t read_int64(const YNode* n, const char* what) const {
    json v = read(n);
    if (v["t"] != "int") fail(src_, n, std::string(what) + " takes integers");
    const std::string& text = v["v"].get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || p != text.data() + text.size())
      fail(src_, n, std::string(what) + ": integer out of range");
    return out;
  }

  json read_special(const YNode* n) const {
    if (n->entries.size() != 1) fail(src_, n, "a $-form mapping has exactly one key (spec/values.md)");
    const std::string& key = n->entries[0].first->value;
    const YNode* arg = n->entries[0].second.get();
    if (key == "$bytes" || key == "$bytearray") {
      if (!arg->is_scalar()) fail(src_, arg, key + " takes a string");
      auto data = latin1_bytes(arg->value);
      if (!data) fail(src_, arg, key + ": every character must be a code point 0-255 (use \\xNN escapes)");
      return make_bytes(*data, key == "$bytearray");
    }
    if (key == "$bytes_hex" || key == "$bytearray_hex") {
      if (!arg->is_scalar()) fail(src_, arg, key + " takes a string of hex digits");
      std::string hex = arg->value;
      hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
      std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
      json v = {{"t", key == "$bytes_hex" ? "bytes" : "bytearray"}, {"v", hex}};
      try {
        check_value(v);
      } catch (const ValueError&) {
        fail(src_, arg, key + ": takes an even number of hex digits (spaces allowed)");
      }
      return v;
    }
    if (key == "$tuple" || key == "$set" || key == "$frozenset")
      return {{"t", key.substr(1)}, {"v", read_list(arg, key)}};
    if (key == "$dict") {
      if (!arg->is_seq()) fail(src_, arg, "$dict takes a sequence of [key, value] pairs");
      json items = json::array();
      for (const auto& pair : arg->items) {
        if (!pair->is_seq() || pair->items.size() != 2)
          fail(src_, pair.get(), "$dict item must be a [key, value] pair");
        items.push_back(json::array({read(pair->items[0].get()), read(pair->items[1].get())}));
      }
      return {{"t", "dict"}, {"v", items}};
    }
    if (key == "$range") {
      if (!arg->is_seq() || arg->items.size() < 2 || arg->items.size() > 3)
        fail(src_, arg, "$range takes [start, stop] or [start, stop, step]");
      std::int64_t start = read_int64(arg->items[0].get(), "$range"), stop = read_int64(arg->items[1].get(), "$range");
      std::int64_t step = arg->items.size() == 3 ? read_int64(arg->items[2].get(), "$range") : 1;
      if (step == 0) fail(src_, arg, "$range step must not be 0");
      // Its items were counted against the budget before any $range was expanded (charge_ranges).
      const std::uint64_t count = range_length(start, stop, step);
      json::array_t items;
      items.reserve(count);  // the one large allocation comes first, so that running out of memory is clean
      __int128 i = start;
      for (std::uint64_t k = 0; k < count; ++k, i += step) items.push_back(make_int(static_cast<std::int64_t>(i)));
      return {{"t", "list"}, {"v", json(std::move(items))}};
    }
    if (key == "$payload") {
      const YNode* size_node = arg->get("size");
      const YNode* seed_node = arg->get("seed");
      if (!arg->is_map() || !size_node || !seed_node || arg->entries.size() != 2)
        fail(src_, arg, "$payload takes {size: N, seed: S}");
      std::uint64_t size = read_count(size_node, "$payload size"), seed = read_count(seed_node, "$payload seed");
      if (size > limits_.payload_bytes)
        fail(src_, size_node,
             "$payload of " + std::to_string(size) + " bytes is more than " + std::to_string(limits_.payload_bytes) +
                 " (--max-payload-bytes)");
      return {{"t", "payload"}, {"size", size}, {"seed", seed}};
    }
    if (key == "$unpicklable") return {{"t", "unpicklable"}};
    if (key == "$local_function") {
      if (!arg->is_null()) fail(src_, arg, "$local_function takes null");
      return {{"t", "local_function"}};
    }
    if (key == "$class") {  // a dotted Python name: a builtin, ctypes.NAME or multiprocessing.MODULE.NAME
      auto dotted = [](const std::string& name) {
        bool start = true;
        for (char c : name) {
          const bool letter = std::isalpha(static_cast<unsigned char>(c)) || c == '_';
          if (c == '.' ? start : !(letter || (!start && std::isdigit(static_cast<unsigned char>(c))))) return false;
          start = c == '.';
        }
        return !start;
      };
      if (!arg->is_scalar() || !dotted(arg->value))
        fail(src_, arg, "$class takes a dotted class name (int, ctypes.c_int, multiprocessing.queues.Queue)");
      return {{"t", "class"}, {"v", arg->value}};
    }
    if (key == "$ref") {
      if (!arg->is_scalar()) fail(src_, arg, "$ref takes an object name");
      return {{"t", "ref"}, {"name", arg->value}};
    }
    if (key == "$captured") {  // the runner's own: replaced by the captured value before it is sent or compared
      if (!arg->is_scalar()) fail(src_, arg, "$captured takes the name of a capture");
      return {{"t", "captured"}, {"name", arg->value}};
    }
    fail(src_, n->entries[0].first.get(), "unknown value form '" + brief(key) + "' (see spec/values.md)");
  }

  const Source& src_;
  const Limits& limits_;
};

// The YAML tree as JSON with YAML 1.2 core-schema scalar types, for schema validation.
// (Debian's valijson 1.0 YamlCppAdapter cannot be compiled with validator.hpp: its array iterator
// lacks the operator-- that the uniqueItems check needs; it also types every scalar as a string.)
json schema_view(const YNode* n) {
  if (n->is_map()) {
    json out = json::object();
    for (const auto& [k, v] : n->entries) out[k->value] = schema_view(v.get());
    return out;
  }
  if (n->is_seq()) {
    json out = json::array();
    for (const auto& item : n->items) out.push_back(schema_view(item.get()));
    return out;
  }
  if (n->is_null()) return nullptr;
  const std::string& s = n->value;
  if (n->tag != "?") return s;
  json v;
  try {
    v = plain_scalar(s);
  } catch (const ValueError&) {
    return s;
  }
  const std::string t = v["t"];
  if (t == "none") return nullptr;
  if (t == "bool") return v["v"];
  if (t == "float") {
    // The schema cannot say "finite"; the loader does, with the key's name (durations).
    double d = parse_float(v["v"].get<std::string>());
    return std::isfinite(d) ? json(d) : json(0.0);
  }
  if (t == "int") {
    const std::string& text = v["v"].get_ref<const std::string&>();
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc() && p == text.data() + text.size()) return i;
    return 1e308;  // an integer past int64: big, which is all the schema's number bounds need to know
  }
  return s;
}

// Follows a valijson context ("<root>", "[steps]", "[3]", …) to the node it names.
const YNode* node_at(const YNode* root, const std::vector<std::string>& context) {
  const YNode* node = root;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    std::string key = part.substr(1, part.size() - 2);
    const YNode* next = nullptr;
    if (node->is_seq()) {
      std::size_t index = 0;
      auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      if (ec != std::errc() || p != key.data() + key.size() || index >= node->items.size()) break;
      next = node->items[index].get();
    } else if (node->is_map()) {
      next = node->get(key);
    }
    if (!next) break;
    node = next;
  }
  return node;
}

std::string context_path(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context)
    if (part != "<root>") out += part;
  return out.empty() ? "the document" : out;
}

// Calls fn on each expectation of each step: a step's `expect` is one mapping or a list of them.
// Nested steps (`with`) are visited too; nesting is bounded by --max-case-nesting.
template <class Fn>
void for_each_expectation(const YNode* root, Fn fn) {
  const YNode* steps = root->get("steps");
  if (!steps || !steps->is_seq()) return;
  for (const auto& step : steps->items) {
    if (step->is_map() && step->get("with")) for_each_expectation(step.get(), fn);
    const YNode* expect = step->get("expect");
    for (const YNode* x : {expect, step->get("exactly_one")}) {
      if (!x) continue;
      if (!x->is_seq())
        fn(x);
      else
        for (const auto& e : x->items) fn(e.get());
    }
  }
}

// The schema says "exactly one outcome" with oneOf, whose failure message names no key; this says which.
void check_outcome_keys(const Source& src, const YNode* root) {
  static const char* outcomes[] = {"returns", "returns_any", "returns_interleaving", "returns_length", "ok",
                                   "raises",  "blocks",      "returns_matching",     "killed",         "dies"};
  for_each_expectation(root, [&](const YNode* e) {
    if (!e->is_map()) return;
    std::string found;
    for (const char* key : outcomes)
      if (e->get(key)) found += found.empty() ? std::string(key) : std::string("' and '") + key;
    if (found.find("' and '") != std::string::npos)
      fail(src, e, "expect has '" + found + "': an expectation has exactly one outcome");
  });
}

// Durations must be finite: checked before the schema, which cannot say so (its view of a NaN or
// an infinity would only say "expected a number greater than 0").
void check_finite_durations(const Source& src, const YNode* root) {
  auto check = [&](const YNode* n, const char* what) {
    if (!n || !n->is_scalar() || n->tag != "?") return;
    bool finite = !is_special_float(n->value);
    if (finite && is_float_text(n->value)) {
      try {
        parse_float(n->value);
      } catch (const ValueError&) {
        finite = false;  // 1e400: past the largest double
      }
    }
    if (!finite)
      fail(src, n,
           std::string(what) + " must be a finite number of seconds, not " +
               (n->value.size() > 24 ? n->value.substr(0, 24) + "..." : n->value));
  };
  check(root->get("timeout"), "timeout");
  for_each_expectation(root, [&](const YNode* e) {
    check(e->get("blocks"), "blocks");
    if (const YNode* el = e->get("elapsed")) {
      check(el->get("min"), "elapsed.min");
      check(el->get("max"), "elapsed.max");
    }
  });
}

// Bounds a `match` pattern, so that the column in an error is quickly found in the file.
constexpr std::size_t kMaxPatternChars = 1000;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// ---- semantic checks and construction of the Case ----

class CaseBuilder {
 public:
  CaseBuilder(const Source& src, const YNode* root, const Limits& limits, const ApiRegistry& api)
      : src_(src), root_(root), limits_(limits), api_(api), values_(src, limits) {}

  Case build(const std::string& expected_id) {
    Case c;
    c.file = src_.file;
    c.id = text(root_->get("id"));
    if (!expected_id.empty() && c.id != expected_id)
      fail(src_, root_->get("id"), "id '" + c.id + "' does not match the file's path (expected '" + expected_id + "')");
    c.title = text(root_->get("title"));
    c.spec = text(root_->get("spec"));
    c.level = text(root_->get("level"));
    for (const auto& t : root_->get("tags")->items) c.tags.push_back(text(t.get()));
    if (const YNode* v = root_->get("versions")) c.versions = spec_at(v);
    c.start_methods = strings_at(root_->get("start_methods"));
    if (const YNode* w = root_->get("warnings")) c.warnings = text(w);
    if (const YNode* output = root_->get("output"))
      for (const auto& o : output->items) c.output.push_back(output_at(o.get()));
    c.timeout = std::min(c.timeout, limits_.case_timeout);
    if (const YNode* t = root_->get("timeout"))
      c.timeout = values_.duration(t, "timeout", false, limits_.case_timeout, "--max-case-timeout");
    timeout_ = c.timeout;
    names_.insert("main");
    if (const YNode* objects = root_->get("objects"))
      for (const auto& o : objects->items) c.objects.push_back(object_at(o.get()));
    if (const YNode* actors = root_->get("actors"))
      for (const auto& a : actors->items) c.actors.push_back(actor_at(a.get(), c));
    // What each process holds once setup is done: every object, and in main the Process objects
    // of the process actors setup starts (spec/case-format.md#actors).
    holds_["main"] = object_names(c);
    hold_children_of("main", c);
    for (const auto& a : c.actors)
      if (a.kind == "process" && a.start == "setup") {
        holds_[a.name] = object_names(c);
        hold_children_of(a.name, c);
        started_.insert(a.name);
      }
    for (const auto& a : c.actors)
      if (a.kind == "thread" && (a.in.empty() || a.in == "main" || started_.contains(a.in))) started_.insert(a.name);
    steps_at(root_->get("steps"), c, c.steps);
    if (!in_flight_.empty()) {
      const auto& [label, node] = *in_flight_.begin();
      fail(src_, node, "call '" + label + "' is still in flight at the end of the case: await it");
    }
    return c;
  }

 private:
  // A string the schema has checked is there (a missing node or a non-scalar is a loader bug).
  const std::string& text(const YNode* n) const {
    if (!n || !n->is_scalar()) fail(src_, n ? n : root_, "expected a string here");
    return n->value;
  }

  VersionSpec spec_at(const YNode* n) {
    try {
      return VersionSpec::parse(text(n));
    } catch (const std::invalid_argument& e) {
      fail(src_, n, e.what());
    }
  }

  static std::set<std::string> object_names(const Case& c) {
    std::set<std::string> out;
    for (const auto& o : c.objects) out.insert(o.names.begin(), o.names.end());
    return out;
  }

  // The process an actor runs in: itself for main and process actors, its host for a thread.
  std::string process_of(const Case& c, const std::string& actor) const {
    const ActorDecl* a = c.actor(actor);
    if (!a || a->kind == "process") return actor;
    return a->in.empty() ? "main" : a->in;
  }

  // A process holds the Process object of every process actor declared `in` it from its own start
  // on, the children a later step starts included (spec/case-format.md#actors).
  void hold_children_of(const std::string& parent, const Case& c) {
    for (const auto& a : c.actors)
      if (a.kind == "process" && (a.in.empty() ? "main" : a.in) == parent) holds_[parent].insert(a.name);
  }

  // Before its start step a Process object is read, joined or assigned to; starting, closing and
  // signalling it are the start step's and its own.
  void check_before_start(Case& c, const Step& s, const YNode* call) {
    const ActorDecl* a = c.actor(s.target);
    if (!a || a->kind != "process" || a->start != "step" || tried_start_.contains(a->name)) return;
    if (s.method == "start" || s.method == "close" || s.method == "terminate" || s.method == "kill")
      fail(src_, call,
           "'" + a->name +
               "' is not started yet: before its start step its Process object may be read, joined or "
               "assigned to, not " +
               s.method + "ed (use a start step)");
    c.calls_before_start = true;
  }

  void check_held(const Case& c, const std::string& actor, const std::string& name, const YNode* n) {
    const std::string p = process_of(c, actor);
    if (!holds_[p].contains(name))
      fail(src_, n,
           "actor '" + actor + "' does not hold '" + name + "'" +
               (p == actor ? "" : " (its process '" + p + "' does not)") +
               ": a process holds the objects it was given when it started, what its actors bound, and the Process "
               "objects of the "
               "children it started");
  }

  void claim_name(const std::string& name, const YNode* n) {
    if (!names_.insert(name).second)
      fail(src_, n, "name '" + name + "' is used twice (objects and actors share one namespace)");
  }

  // holder: the actor whose call carries the values (its process must hold every $ref); none in setup.
  json args_at(const YNode* n, const Case* c = nullptr, const std::string& holder = "") {
    json out = json::array();
    if (!n) return out;
    for (const auto& a : n->items) out.push_back(checked_value(a.get(), c, holder));
    return out;
  }

  json kwargs_at(const YNode* n, const Case* c = nullptr, const std::string& holder = "") {
    json out = json::object();
    if (!n) return out;
    for (const auto& [k, v] : n->entries) out[k->value] = checked_value(v.get(), c, holder);
    return out;
  }
  json args_at(const YNode* n, const Case& c, const std::string& holder) { return args_at(n, &c, holder); }
  json kwargs_at(const YNode* n, const Case& c, const std::string& holder) { return kwargs_at(n, &c, holder); }
  json checked_value(const YNode* n, const Case& c, const std::string& holder) { return checked_value(n, &c, holder); }

  // A value in args/kwargs: $ref must name a known object or actor (held by the caller's process).
  json checked_value(const YNode* n, const Case* c = nullptr, const std::string& holder = "") {
    json v = values_.read(n);
    check_refs(v, n, c, holder);
    check_captured(v, n);
    return v;
  }

  void check_refs(const json& v, const YNode* n, const Case* c = nullptr, const std::string& holder = "") {
    if (v["t"] == "ref") {
      const std::string name = v["name"].get<std::string>();
      if (!names_.contains(name)) fail(src_, n, "$ref to unknown object '" + brief(name) + "'");
      if (c && !holder.empty()) check_held(*c, holder, name, n);
    }
    if (v.contains("v") && v["v"].is_array())
      for (const auto& item : v["v"]) {
        if (item.is_array())
          for (const auto& x : item) check_refs(x, n, c, holder);
        else
          check_refs(item, n, c, holder);
      }
  }

  ObjectDecl object_at(const YNode* n) {
    ObjectDecl o;
    o.type = text(n->get("type"));
    const ApiRegistry::Type* type = api_.type(o.type);
    if (!type || !type->constructible) {
      std::vector<std::string> known;
      for (const auto& [name, t] : api_.types)
        if (t.constructible) known.push_back(name);
      fail(src_, n->get("type"), "unknown object type '" + brief(o.type) + "' (spec/api.yaml has " + join(known) + ")");
    }
    const YNode* name = n->get("name");
    if (name->is_seq()) {
      for (const auto& x : name->items) o.names.push_back(text(x.get()));
    } else {
      o.names.push_back(text(name));
    }
    const std::size_t wanted = type->makes.empty() ? 1 : type->makes.size();
    if (o.names.size() != wanted)
      fail(src_, name,
           wanted == 1 ? "only a Pipe has two names"
                       : "a " + o.type + " is named by a list of " + std::to_string(wanted) + " names, one per end");
    for (std::size_t i = 0; i < o.names.size(); ++i) {
      claim_name(o.names[i], name);
      o.name_types.push_back(type->makes.empty() ? o.type : type->makes[i]);
    }
    o.args = args_at(n->get("args"));
    o.kwargs = kwargs_at(n->get("kwargs"));
    if (const YNode* ctx = n->get("context")) o.context = text(ctx);
    return o;
  }

  ActorDecl actor_at(const YNode* n, const Case& c) {
    ActorDecl a;
    a.name = text(n->get("name"));
    a.kind = text(n->get("kind"));
    claim_name(a.name, n->get("name"));
    if (const YNode* start = n->get("start")) a.start = text(start);
    if (const YNode* sm = n->get("start_method")) {
      if (a.kind != "process") fail(src_, sm, "only a process actor has a start_method");
      a.start_method = text(sm);
    }
    if (const YNode* d = n->get("daemon")) {
      if (a.kind != "process") fail(src_, d, "only a process actor has a daemon flag");
      const std::string t = text(d);
      if (t != "true" && t != "false") fail(src_, d, "daemon is true or false");
      a.daemon = t == "true";
    }
    if (a.start == "step" && a.kind != "process")
      fail(src_, n->get("start"), "only a process actor is started by a step (a thread starts with its process)");
    if (const YNode* in = n->get("in")) {
      a.in = text(in);
      bool ok = a.in == "main";
      for (const auto& other : c.actors) ok = ok || (other.name == a.in && other.kind == "process");
      if (!ok) fail(src_, in, "'" + a.in + "' is not main or a process actor declared before");
      if (a.kind == "process" && a.in != "main" && a.start != "step")
        fail(src_, in,
             "a process actor started by another process actor has start: step (its parent starts it in a step)");
    } else if (a.kind == "thread") {
      a.in = "main";
    }
    if (a.kind == "thread") thread_host_[a.name] = a.in;
    actors_.insert(a.name);
    return a;
  }

  double window(const YNode* n, const std::string& what, bool zero_ok) {
    return values_.duration(n, what, zero_ok, timeout_, "the case's timeout");
  }

  Expectation expectation_at(const YNode* n) {
    Expectation e;
    if (const YNode* v = n->get("versions")) e.versions = spec_at(v);
    e.start_methods = strings_at(n->get("start_methods"));
    e.platforms = strings_at(n->get("platforms"));
    using O = Expectation::Outcome;
    if (const YNode* r = n->get("returns")) {
      e.outcome = O::Returns;
      e.value = values_.read(r);
    } else if (const YNode* any = n->get("returns_any")) {
      e.outcome = O::ReturnsAny;
      e.value = json::array();
      for (const auto& v : any->items) e.value.push_back(values_.read(v.get()));
    } else if (const YNode* il = n->get("returns_interleaving")) {
      e.outcome = O::ReturnsInterleaving;
      e.value = json::array();
      for (const auto& v : il->items) {
        json seq = values_.read(v.get());
        if (seq["t"] != "list") fail(src_, v.get(), "returns_interleaving takes lists");
        e.value.push_back(std::move(seq));
      }
    } else if (const YNode* len = n->get("returns_length")) {
      e.outcome = O::ReturnsLength;
      e.length = values_.read_count(len, "returns_length");
    } else if (const YNode* r = n->get("raises")) {
      e.outcome = O::Raises;
      if (r->is_scalar()) {
        e.exc_type = r->value;
      } else {
        e.exc_type = text(r->get("type"));
        if (const YNode* m = r->get("match")) {
          e.exc_match = text(m);
          if (e.exc_match.size() > kMaxPatternChars)
            fail(src_, m, "match: a pattern of more than " + std::to_string(kMaxPatternChars) + " characters");
          try {
            Pattern check(e.exc_match);
          } catch (const PatternError& err) {
            fail(src_, m, std::string("bad regular expression: ") + err.what());
          }
        }
        if (const YNode* a = r->get("args")) {
          json args = json::array();
          for (const auto& v : a->items) args.push_back(values_.read(v.get()));
          e.exc_args = args;
        }
      }
    } else if (const YNode* b = n->get("blocks")) {
      e.outcome = O::Blocks;
      e.blocks = window(b, "blocks", false);
    } else if (const YNode* m = n->get("returns_matching")) {
      matching_at(e, m);
    } else if (n->get("killed")) {
      e.outcome = O::Killed;
    } else if (n->get("dies")) {
      e.outcome = O::Dies;
    } else {
      e.outcome = O::Ok;
    }
    if (const YNode* a = n->get("after")) e.after = text(a);
    if (e.outcome == O::Killed && n->get("elapsed"))
      fail(src_, n->get("elapsed"), "elapsed does not go with killed (a killed call has no result)");
    if (e.outcome == O::Dies && n->get("elapsed"))
      fail(src_, n->get("elapsed"), "elapsed does not go with dies (a call whose process dies has no result)");
    check_captured(e.value, n);
    if (const YNode* el = n->get("elapsed")) {
      if (e.outcome == O::Blocks)
        fail(src_, el, "elapsed does not go with blocks (a blocked call has no elapsed time yet)");
      if (const YNode* m = el->get("min")) e.min_elapsed = window(m, "elapsed.min", true);
      if (const YNode* m = el->get("max")) e.max_elapsed = window(m, "elapsed.max", false);
      if (e.min_elapsed && e.max_elapsed && *e.min_elapsed > *e.max_elapsed)
        fail(src_, el, "elapsed min is greater than max");
    }
    return e;
  }

  std::vector<Expectation> expectations_at(const YNode* n) {
    std::vector<Expectation> out;
    if (!n) return out;
    if (n->is_seq()) {
      for (const auto& item : n->items) out.push_back(expectation_at(item.get()));
    } else {
      for (const char* key : {"versions", "start_methods", "platforms"})
        if (const YNode* v = n->get(key))
          fail(src_, v,
               std::string("a single expectation has no ") + key +
                   "; use a list of keyed expectations (the first that matches applies)");
      out.push_back(expectation_at(n));
    }
    // Every item but the last says what it is for; the last may say nothing (it is for the rest).
    for (std::size_t i = 0; i + 1 < out.size(); ++i)
      if (out[i].keys().empty())
        fail(src_, n->items[i].get(),
             "an expectation of a list that is not the last has versions, start_methods or platforms (else the ones "
             "after it never apply)");
    return out;
  }

  static bool any_blocks(const std::vector<Expectation>& es) {
    return std::any_of(es.begin(), es.end(),
                       [](const Expectation& e) { return e.outcome == Expectation::Outcome::Blocks; });
  }

  // Actor operations: sleep takes one duration within the case's timeout; exit an optional code.
  void check_actor_operation(const Step& s, const YNode* n) {
    const YNode* args = n->get("args");
    if (const YNode* kw = n->get("kwargs"); kw && kw->count() > 0) fail(src_, kw, s.method + " takes no kwargs");
    if (s.method == "sleep") {
      if (!args || args->items.size() != 1) fail(src_, args ? args : n, "sleep takes args: [seconds]");
      window(args->items[0].get(), "sleep", true);
    } else if (s.method == "exit") {
      if (args && args->items.size() > 1) fail(src_, args, "exit takes args: [] or [code]");
      if (!s.args.empty()) {
        const std::string t = s.args[0]["t"];
        if (t != "int" && t != "bool" && t != "none" && t != "str" && t != "list")
          fail(src_, args->items[0].get(), "exit's code is an int, a bool, None, a str or a list (as sys.exit takes)");
      }
    } else if (s.method == "return") {
      if (args && args->items.size() > 0) fail(src_, args, "return takes no args");
    } else if (s.method == "raise") {
      if (!args || args->items.size() != 2 || s.args[0]["t"] != "str" || s.args[1]["t"] != "str")
        fail(src_, args ? args : n, "raise takes args: [TYPE, MESSAGE], two strings (TYPE a portable exception name)");
    }
  }

  const ApiRegistry::Operation* check_operation(const Step& s, const std::string& type, const YNode* n) {
    const ApiRegistry::Operation* op = api_.find(type, s.method);
    if (!op) {
      std::vector<std::string> known;
      if (const auto* t = api_.type(type))
        for (const auto& [name, o] : t->ops) known.push_back(name);
      fail(src_, n->get("call"),
           type + " has no operation '" + s.method + "' (spec/api.yaml lists " +
               (known.empty() ? "none" : join(known)) + ")");
    }
    if (op->attribute && (!s.args.empty() || !s.kwargs.empty()))
      fail(src_, n->get("call"), type + "." + s.method + " is an attribute: it is read with no args or kwargs");
    return op;
  }

  // `start: NAME`: made by NAME's parent actor; NAME is a process actor declared with start: step.
  Step start_step(Step& s, const YNode* n, const YNode* start, Case& c) {
    const std::string name = text(start);
    const ActorDecl* a = c.actor(name);
    if (!a || a->kind != "process" || a->start != "step")
      fail(src_, start, "'" + name + "' is not a process actor declared with start: step");
    if (started_.contains(name) || tried_start_.contains(name))
      fail(src_, start, "actor '" + name + "' is started twice");
    s.actor = a->in.empty() ? "main" : a->in;
    if (const YNode* actor = n->get("actor"); actor && text(actor) != s.actor)
      fail(src_, actor, "'" + name + "' is started by its parent '" + s.actor + "'");
    if (s.actor != "main" && !started_.contains(s.actor))
      fail(src_, start, "its parent '" + s.actor + "' is not started yet");
    if (exited_.contains(s.actor)) fail(src_, start, "its parent '" + s.actor + "' has already exited");
    check_idle(s.actor, n);
    s.method = "start";
    s.args = json::array({make_str(name)});
    for (const auto& e : s.expects)
      if (e.outcome != Expectation::Outcome::Raises && e.outcome != Expectation::Outcome::Ok &&
          e.outcome != Expectation::Outcome::Returns)
        fail(src_, n->get("expect"), "a start step returns None or raises");
    tried_start_.insert(name);
    // Expected to start on some version: later steps may use it (where the start raised, the case
    // has already failed or ended).
    const bool starts = s.expects.empty() || std::any_of(s.expects.begin(), s.expects.end(), [](const Expectation& e) {
                          return e.outcome != Expectation::Outcome::Raises;
                        });
    if (starts) {
      started_.insert(name);
      for (const auto& held : holds_[s.actor])  // every object the parent's process holds now, but Process objects
        if (c.type_of(held) != "Process") holds_[name].insert(held);
      hold_children_of(name, c);  // and the Process objects of its own children
      for (const auto& t : c.actors)
        if (t.kind == "thread" && t.in == name) started_.insert(t.name);
    }
    return s;
  }

  // `bind: NAME` or `bind: [N1, N2]`, typed by `bind_type` or the registry's returns_type.
  void bind_at(Step& s, const YNode* n, Case& c) {
    const YNode* bind = n->get("bind");
    const YNode* bind_type = n->get("bind_type");
    std::vector<std::string> types = returns_type_;
    returns_type_.clear();
    if (!bind) {
      if (bind_type) fail(src_, bind_type, "bind_type without bind");
      return;
    }
    if (s.set_form || (s.target.empty() && !is_function_call(s.method)))
      fail(src_, bind, "only a call of a method or a function binds its result");
    if (bind->is_seq())
      for (const auto& x : bind->items) s.bind.push_back(text(x.get()));
    else
      s.bind.push_back(text(bind));
    if (bind_type) {
      types.clear();
      if (bind_type->is_seq())
        for (const auto& x : bind_type->items) types.push_back(text(x.get()));
      else
        types.push_back(text(bind_type));
      for (const auto& t : types)
        if (!api_.type(t)) fail(src_, bind_type, "bind_type '" + t + "' is not a type of spec/api.yaml");
    }
    if (types.empty())
      fail(src_, bind,
           "bind needs bind_type: spec/api.yaml does not say what " + s.describe_call() + " returns (returns_type)");
    if (types.size() != s.bind.size())
      fail(src_, bind,
           "bind names " + std::to_string(s.bind.size()) + " and the result has " + std::to_string(types.size()) +
               " (" + join(types) + ")");
    const std::string p = process_of(c, s.actor);
    for (std::size_t i = 0; i < s.bind.size(); ++i) {
      claim_name(s.bind[i], bind);
      c.bound_types[s.bind[i]] = types[i];
      holds_[p].insert(s.bind[i]);
    }
    s.bind_types = types;
  }

  // The steps of a list, `with` steps expanded in place: __enter__, the nested steps, __exit__.
  void steps_at(const YNode* list, Case& c, std::vector<Step>& out) {
    for (const auto& item : list->items) {
      const YNode* n = item.get();
      const YNode* with = n->get("with");
      if (with) check_step_keys(n);
      if (!with) {
        out.push_back(step_at(n, c));
        continue;
      }
      Step enter;
      enter.pos = src_.at(n->offset);
      enter.target = text(with);
      if (const YNode* actor = n->get("actor")) enter.actor = text(actor);
      if (enter.actor != "main" && !actors_.contains(enter.actor))
        fail(src_, n->get("actor"), "unknown actor '" + enter.actor + "'");
      const std::string type = c.type_of(enter.target);
      if (type.empty()) fail(src_, with, "unknown object '" + enter.target + "'");
      const ApiRegistry::Type* t = api_.type(type);
      if (!t || !t->context_manager)
        fail(src_, with, type + " is not a context manager in spec/api.yaml (context_manager: true)");
      check_held(c, enter.actor, enter.target, with);
      check_idle(enter.actor, n);
      enter.method = "__enter__";
      enter.expects = expectations_at(n->get("expect"));
      for (const auto& e : enter.expects)
        if (e.outcome == Expectation::Outcome::Blocks) fail(src_, n->get("expect"), "a with step's enter cannot block");
      out.push_back(enter);
      steps_at(n->get("steps"), c, out);
      Step exit = enter;
      exit.method = "__exit__";
      exit.expects.clear();
      check_idle(exit.actor, n);
      out.push_back(exit);
    }
  }

  void check_idle(const std::string& actor, const YNode* n) {
    for (const auto& [label, node] : in_flight_)
      if (label_actor_[label] == actor)
        fail(src_, n, "actor '" + actor + "' is busy with call '" + label + "': await it first");
  }

  // The schema allows every key of a call step on each form; each form takes only its own.
  void check_step_keys(const YNode* n) {
    static const std::map<std::string, std::set<std::string>> allowed = {
        {"call", {"actor", "call", "args", "kwargs", "as", "detach", "expect", "note", "bind", "bind_type", "capture"}},
        {"set", {"actor", "set", "value", "expect", "note"}},
        {"with", {"actor", "with", "steps", "expect", "note"}},
        {"start", {"actor", "start", "expect", "note"}}};
    for (const auto& [form, keys] : allowed) {
      if (!n->get(form)) continue;
      for (const auto& [k, v] : n->entries)
        if (!keys.contains(k->value)) fail(src_, k.get(), "a " + form + " step has no '" + k->value + "'");
    }
  }

  Step step_at(const YNode* n, Case& c) {
    check_step_keys(n);
    Step s;
    s.pos = src_.at(n->offset);
    if (const YNode* sig = n->get("signal")) return signal_step(s, n, sig, c);
    if (const YNode* f = n->get("in_flight")) return in_flight_step(s, f);
    s.expects = expectations_at(n->get("expect"));
    if (const YNode* await = n->get("await")) return await_step(s, n, await);
    if (const YNode* start = n->get("start")) return start_step(s, n, start, c);
    if (const YNode* actor = n->get("actor")) s.actor = text(actor);
    if (s.actor != "main" && !actors_.contains(s.actor)) fail(src_, n->get("actor"), "unknown actor '" + s.actor + "'");
    if (exited_.contains(s.actor)) fail(src_, n, "actor '" + s.actor + "' has already exited");
    check_not_killed(s.actor, n);
    if (s.actor != "main" && !started_.contains(s.actor))
      fail(src_, n, "actor '" + s.actor + "' is not started yet (its start step comes later)");
    const YNode* set_node = n->get("set");
    const YNode* call_node = set_node ? set_node : n->get("call");
    const std::string call = text(call_node);
    auto dot = call.find('.');
    s.args = args_at(n->get("args"), c, s.actor);
    s.kwargs = kwargs_at(n->get("kwargs"), c, s.actor);
    if (set_node) {
      if (dot == std::string::npos) fail(src_, set_node, "set takes OBJECT.ATTRIBUTE");
      s.set_form = true;
      s.target = call.substr(0, dot);
      s.method = call.substr(dot + 1);
      const std::string type = c.type_of(s.target);
      if (type.empty()) fail(src_, set_node, "unknown object '" + s.target + "'");
      check_held(c, s.actor, s.target, set_node);
      const ApiRegistry::Operation* op = api_.find(type, s.method);
      if (!op || !op->attribute || !op->settable)
        fail(src_, set_node, type + "." + s.method + " is not a settable attribute in spec/api.yaml (settable: true)");
      s.value = checked_value(n->get("value"), c, s.actor);
      check_before_start(c, s, set_node);
    } else if (is_function_call(call)) {
      s.method = call;
      auto f = api_.functions.find(call);
      if (f == api_.functions.end()) {
        std::vector<std::string> known;
        for (const auto& [name, fn] : api_.functions) known.push_back(name);
        fail(src_, call_node, "'" + call + "' is not a function of spec/api.yaml (it lists " + join(known) + ")");
      }
      returns_type_ = f->second.returns_type;
    } else if (dot == std::string::npos) {
      s.method = call;
      if (!is_actor_operation(s.method))
        fail(src_, call_node,
             "'" + call +
                 "' is not an actor operation (sleep, exit, return, raise); write OBJECT.METHOD or "
                 "multiprocessing.FUNCTION");
      if (s.method == "start") fail(src_, call_node, "start an actor with `start: NAME`");
      if (is_ending_operation(s.method)) {
        if (s.actor == "main") fail(src_, call_node, "main cannot " + s.method + ": it is the controller");
        const ActorDecl* a = c.actor(s.actor);
        if (s.method != "exit" && a && a->kind != "process")
          fail(src_, call_node, s.method + " ends a process actor's target; '" + s.actor + "' is a thread");
        exited_.insert(s.actor);
        end_daemon_children(c, s);
      }
      check_actor_operation(s, n);
    } else {
      s.target = call.substr(0, dot);
      s.method = call.substr(dot + 1);
      std::string type = c.type_of(s.target);
      if (type.empty()) fail(src_, call_node, "unknown object '" + s.target + "'");
      check_held(c, s.actor, s.target, call_node);
      const ApiRegistry::Operation* op = check_operation(s, type, n);
      returns_type_ = op->returns_type;
      check_before_start(c, s, call_node);
    }
    bind_at(s, n, c);
    if (const YNode* detach = n->get("detach")) s.detach = plain_scalar(text(detach)) == make_bool(true);
    if (const YNode* as = n->get("as")) {
      s.label = text(as);
      if (!labels_.insert(s.label).second) fail(src_, as, "label '" + s.label + "' is used twice");
    }
    const YNode* expect = n->get("expect");
    bool blocks = any_blocks(s.expects);
    if (blocks && !std::all_of(s.expects.begin(), s.expects.end(),
                               [](const Expectation& e) { return e.outcome == Expectation::Outcome::Blocks; }))
      fail(src_, expect, "a step that blocks on one version must block on all (give the outcome in its await)");
    if ((s.detach || blocks) && s.label.empty())
      fail(src_, n, "a call that stays in flight (detach or blocks) needs 'as'");
    if (s.detach && !s.expects.empty()) fail(src_, expect, "a detached call is checked by its await, not here");
    if ((s.detach || blocks) && !s.bind.empty())
      fail(src_, n->get("bind"), "a call that binds is awaited at once (no detach or blocks)");
    capture_at(s, n);
    if (!s.detach && !blocks) check_dies(s, s.expects, n, "");
    // PROC.terminate() and PROC.kill() signal PROC's process, as a signal step does.
    if ((s.method == "terminate" || s.method == "kill") &&
        std::any_of(c.actors.begin(), c.actors.end(),
                    [&](const ActorDecl& a) { return a.name == s.target && a.kind == "process"; })) {
      for (const auto& [label, node] : in_flight_)
        if (process_of_actor(label_actor_[label]) == s.target) signalled_labels_.insert(label);
      signalled_processes_.insert(s.target);
    }
    if (s.detach || blocks) {
      for (const auto& [label, node] : in_flight_)
        if (label_actor_[label] == s.actor)
          fail(src_, n,
               "actor '" + s.actor + "' already has call '" + label + "' in flight: an actor makes one call at a time");
      in_flight_.emplace(s.label, n);
      label_actor_[s.label] = s.actor;
    } else {
      for (const auto& [label, node] : in_flight_)
        if (label_actor_[label] == s.actor)
          fail(src_, n, "actor '" + s.actor + "' is busy with call '" + label + "': await it first");
    }
    return s;
  }

  // ---- case language v2, runner-only forms (spec/case-format.md): keys, output, signals,
  // captures and predicates, ordering ----

  std::vector<std::string> strings_at(const YNode* n) const {
    std::vector<std::string> out;
    if (!n) return out;
    for (const auto& item : n->items) out.push_back(text(item.get()));
    return out;
  }

  Keys keys_at(const YNode* n) {
    Keys k;
    if (const YNode* v = n->get("versions")) k.versions = spec_at(v);
    k.start_methods = strings_at(n->get("start_methods"));
    k.platforms = strings_at(n->get("platforms"));
    return k;
  }

  Pattern checked_pattern(const YNode* m, const std::string& what) {
    const std::string& p = text(m);
    if (p.size() > kMaxPatternChars)
      fail(src_, m, what + ": a pattern of more than " + std::to_string(kMaxPatternChars) + " characters");
    try {
      return Pattern(p);
    } catch (const PatternError& err) {
      fail(src_, m, std::string("bad regular expression: ") + err.what());
    }
  }

  OutputExpectation output_at(const YNode* n) {
    OutputExpectation o;
    o.pos = src_.at(n->offset);
    o.keys = keys_at(n);
    const YNode* m = n->get("match");
    o.must_match = m != nullptr;
    if (!m) m = n->get("not_match");
    checked_pattern(m, o.must_match ? "match" : "not_match");
    o.pattern = text(m);
    return o;
  }

  // returns_matching: {type: T, min: A, max: B, match: RE}; bounds for numbers, match for str (an object's repr).
  void matching_at(Expectation& e, const YNode* m) {
    e.outcome = Expectation::Outcome::ReturnsMatching;
    e.match_type = text(m->get("type"));
    const bool number = e.match_type == "int" || e.match_type == "float";
    for (const char* key : {"min", "max"}) {
      const YNode* b = m->get(key);
      if (!b) continue;
      if (!number)
        fail(src_, b, std::string("returns_matching: ") + key + " goes with type int or float, not " + e.match_type);
      json v = values_.read(b);
      if (v["t"] == "float" && !std::isfinite(parse_float(v["v"].get<std::string>())))
        fail(src_, b, std::string("returns_matching: ") + key + " must be finite");
      (std::string_view(key) == "min" ? e.match_min : e.match_max) = v;
    }
    if (e.match_min && e.match_max && compare_numbers(*e.match_max, *e.match_min) < 0)
      fail(src_, m, "returns_matching: min is greater than max");
    if (const YNode* re = m->get("match")) {
      if (e.match_type != "str" && e.match_type != "object")
        fail(src_, re, "returns_matching: match goes with type str or object, not " + e.match_type);
      checked_pattern(re, "match");
      e.value_match = text(re);
    }
  }

  // Every {$captured: NAME} in a value names a capture made by an earlier step.
  void check_captured(const json& v, const YNode* n) {
    if (v.is_object() && v.value("t", json()) == "captured") {
      const std::string name = v["name"].get<std::string>();
      if (!captures_.contains(name))
        fail(
            src_, n,
            "$captured '" + brief(name) + "' is not captured by an earlier step (capture: NAME on a call or an await)");
      return;
    }
    if (v.is_array() || v.is_object())
      for (const auto& item : v) check_captured(item, n);
  }

  // `capture: NAME` on a call that completes in its step, or on an await of one call.
  void capture_at(Step& s, const YNode* n) {
    const YNode* cap = n->get("capture");
    if (!cap) return;
    if (s.detach) fail(src_, cap, "a detached call's value is captured by its await");
    for (const auto& e : s.expects)
      if (e.outcome == Expectation::Outcome::Raises || e.outcome == Expectation::Outcome::Blocks ||
          e.outcome == Expectation::Outcome::Killed || e.outcome == Expectation::Outcome::Dies)
        fail(src_, cap, "capture keeps a returned value: this step expects no return");
    s.capture = text(cap);
    if (!captures_.insert(s.capture).second) fail(src_, cap, "capture '" + s.capture + "' is made twice");
  }

  // A process actor killed by a SIGKILL of the case makes no more calls (nor do its threads).
  void check_not_killed(const std::string& actor, const YNode* n) {
    auto it = killed_.find(process_of_actor(actor));
    if (it != killed_.end())
      fail(src_, n,
           "actor '" + actor + "' is gone: its process was killed by the signal at line " + std::to_string(it->second) +
               " (or ended with its parent, the daemon it is)");
    auto died = died_.find(process_of_actor(actor));
    if (died != died_.end())
      fail(src_, n,
           "actor '" + actor + "' is gone: its process dies during the call at line " + std::to_string(died->second));
  }

  // `dies` (spec/case-format.md#expectations): on a call step or an await of one call, made by a
  // process actor (or a thread in one) whose process no signal of the case went to; afterwards the
  // process is gone (on every version, as a SIGKILL's: a step per version cannot be written).
  void check_dies(const Step& s, const std::vector<Expectation>& expects, const YNode* n, const std::string& label) {
    const bool dies = std::any_of(expects.begin(), expects.end(),
                                  [](const Expectation& e) { return e.outcome == Expectation::Outcome::Dies; });
    if (!dies) return;
    const YNode* at = n->get("expect") ? n->get("expect") : n;
    const std::string process = process_of_actor(s.actor);
    if (process == "main")
      fail(src_, at,
           "dies: the call is made in main's process, the controller, whose death is a crash of the adapter; "
           "dies goes with a call of a process actor (or of a thread in one)");
    if (s.set_form || s.method == "start" || !s.bind.empty())
      fail(src_, at, "dies goes with a call step (no set, with, start or bind) or an await of one call");
    if (signalled_processes_.contains(process) || (!label.empty() && signalled_labels_.contains(label)))
      fail(src_, at,
           "dies: a signal step of the case goes to the process of '" + s.actor +
               "', whose death is then the case's doing (expect killed: true in an await)");
    died_.emplace(process, s.pos.line);
  }

  // A process actor's end terminates the started children declared daemon: true (CPython's exit
  // handler): for what follows each is as if the case had killed it (spec/case-format.md#call-step).
  void end_daemon_children(const Case& c, const Step& s) {
    for (const auto& a : c.actors) {
      if (a.kind != "process" || a.in != s.actor || a.daemon != true || !started_.contains(a.name)) continue;
      for (const auto& [label, node] : in_flight_)
        if (process_of_actor(label_actor_[label]) == a.name) signalled_labels_.insert(label);
      killed_.emplace(a.name, s.pos.line);
    }
  }

  std::string process_of_actor(const std::string& actor) const {
    auto it = thread_host_.find(actor);
    return it == thread_host_.end() ? actor : it->second;
  }

  Step signal_step(Step& s, const YNode* n, const YNode* sig, const Case& c) {
    s.kind = Step::Kind::Signal;
    s.signal_name = text(sig);
    s.signal = signal_number(s.signal_name);
    if (s.signal == 0)
      fail(src_, sig, "unknown signal '" + brief(s.signal_name) + "' (SIGTERM, SIGKILL, SIGINT, SIGUSR1, ...)");
    s.actor = text(n->get("actor"));
    const YNode* actor = n->get("actor");
    bool process = false;
    for (const auto& a : c.actors) process = process || (a.name == s.actor && a.kind == "process");
    if (!process)
      fail(src_, actor,
           "a signal goes to a process actor; '" + s.actor + "' is " +
               (s.actor == "main"           ? "the controller"
                : actors_.contains(s.actor) ? "a thread"
                                            : "no actor"));
    if (exited_.contains(s.actor)) fail(src_, actor, "actor '" + s.actor + "' has already exited");
    if (!started_.contains(s.actor))
      fail(src_, actor, "actor '" + s.actor + "' is not started yet (its start step comes later)");
    check_not_killed(s.actor, actor);
    for (const auto& [label, node] : in_flight_)
      if (process_of_actor(label_actor_[label]) == s.actor) signalled_labels_.insert(label);
    if (s.signal == SIGKILL) killed_[s.actor] = s.pos.line;
    signalled_processes_.insert(s.actor);
    return s;
  }

  Step in_flight_step(Step& s, const YNode* f) {
    s.kind = Step::Kind::InFlight;
    s.label = text(f);
    if (!in_flight_.contains(s.label))
      fail(src_, f, "'" + s.label + "' is not a call in flight (detach or blocks, not yet awaited)");
    s.actor = label_actor_[s.label];
    return s;
  }

  Step await_step(Step& s, const YNode* n, const YNode* await) {
    s.kind = Step::Kind::Await;
    if (await->is_seq())
      s.group = strings_at(await);
    else
      s.group.push_back(text(await));
    s.label = s.group.front();
    for (std::size_t i = 0; i < s.group.size(); ++i) {
      const YNode* at = await->is_seq() ? await->items[i].get() : await;
      auto it = in_flight_.find(s.group[i]);
      if (it == in_flight_.end())
        fail(src_, at, "'" + s.group[i] + "' is not a call in flight (detach or blocks, not yet awaited)");
      in_flight_.erase(it);
    }
    s.actor = label_actor_[s.label];
    if (any_blocks(s.expects)) fail(src_, n->get("expect"), "an await cannot expect blocks");
    if (const YNode* one = n->get("exactly_one")) {
      if (s.group.size() < 2) fail(src_, one, "exactly_one goes with an await of a list of labels");
      s.exactly_one = expectations_at(one);
      if (any_blocks(s.exactly_one)) fail(src_, one, "an await cannot expect blocks");
    }
    for (const auto* list : {&s.expects, &s.exactly_one})
      for (const auto& e : *list) {
        if (!e.after.empty() && !labels_.contains(e.after))
          fail(src_, n, "after: '" + e.after + "' is not the label ('as') of a call before this step");
        if (!e.after.empty() && std::find(s.group.begin(), s.group.end(), e.after) != s.group.end())
          fail(src_, n, "after: '" + e.after + "' is awaited here: a call completes after its own start");
        if (e.outcome == Expectation::Outcome::Killed)
          for (const auto& label : s.group)
            if (!signalled_labels_.contains(label))
              fail(src_, n,
                   "killed: no signal step goes to the process of '" + label_actor_[label] + "' while '" + label +
                       "' is in flight");
      }
    if (const YNode* cap = n->get("capture")) {
      if (s.group.size() > 1) fail(src_, cap, "capture goes with an await of one call");
      capture_at(s, n);
    }
    for (const auto* list : {&s.expects, &s.exactly_one})
      for (const auto& e : *list)
        if (e.outcome == Expectation::Outcome::Dies && s.group.size() > 1)
          fail(src_, n, "dies goes with a call step or an await of one call");
    check_dies(s, s.expects, n, s.label);
    return s;
  }

  const Source& src_;
  const YNode* root_;
  const Limits& limits_;
  const ApiRegistry& api_;
  ValueReader values_;
  double timeout_ = 30;
  std::set<std::string> names_, actors_, labels_, exited_;
  std::set<std::string> started_, tried_start_;         // actors started (or whose start was tried) by now
  std::map<std::string, std::set<std::string>> holds_;  // process -> the names it holds by now
  std::vector<std::string> returns_type_;               // of the call being read, for bind
  std::map<std::string, const YNode*> in_flight_;
  std::map<std::string, std::string> label_actor_;
  std::set<std::string> captures_;                  // capture names made so far
  std::map<std::string, int> killed_;               // process actors killed by a SIGKILL step -> its line
  std::map<std::string, int> died_;                 // process actors (or main) whose call expects dies -> its line
  std::set<std::string> signalled_processes_;       // process actors a signal step went to
  std::set<std::string> signalled_labels_;          // calls in flight when a signal went to their actor's process
  std::map<std::string, std::string> thread_host_;  // thread actor -> the process actor (or main) it runs in
};

// Reads at most limit + 1 bytes, in chunks, so that a huge file is refused without being read whole.
std::string read_text(const fs::path& p, std::size_t limit) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::string out;
  char chunk[1 << 16];
  while (out.size() <= limit && in.read(chunk, sizeof chunk).gcount() > 0)
    out.append(chunk, static_cast<std::size_t>(in.gcount()));
  return out;
}

// A path as it may appear in a message: bytes that are not UTF-8 (a file name can hold any) are
// shown as \xNN, so that no report carries them.
std::string display_path(const std::string& path) {
  std::string out;
  unsigned cp;
  for (std::size_t i = 0; i < path.size();) {
    std::size_t n = utf8_sequence(path, i, &cp);
    if (n == 0) {
      out += hex_byte(static_cast<unsigned char>(path[i]));
      ++i;
    } else {
      out.append(path, i, n);
      i += n;
    }
  }
  return out;
}

// ---- spec/api.yaml ----

std::vector<std::string> string_list(const Source& src, const YNode* n, const std::string& what) {
  std::vector<std::string> out;
  if (!n) return out;
  if (!n->is_seq()) fail(src, n, what + " is a list of strings");
  for (const auto& item : n->items) {
    if (!item->is_scalar()) fail(src, item.get(), what + " is a list of strings");
    out.push_back(item->value);
  }
  return out;
}

void check_keys(const Source& src, const YNode* n, std::initializer_list<std::string_view> allowed,
                const std::string& what) {
  if (!n->is_map()) fail(src, n, what + " is a mapping");
  for (const auto& [k, v] : n->entries)
    if (std::find(allowed.begin(), allowed.end(), k->value) == allowed.end())
      fail(src, k.get(), what + ": unknown key '" + k->value + "'");
}

// returns_type: one type name, or a list of them (a tuple's items).
std::vector<std::string> returns_types(const Source& src, const YNode* n, const std::string& what) {
  if (!n) return {};
  if (n->is_scalar()) return {n->value};
  return string_list(src, n, what + ".returns_type");
}

ApiRegistry parse_api(const Source& src, const YNode* root) {
  ApiRegistry api;
  check_keys(src, root, {"version", "types", "functions"}, "the registry");
  const YNode* types = root->get("types");
  if (!types || !types->is_map()) fail(src, root, "the registry needs a mapping 'types'");
  std::map<std::string, std::string> extends;
  for (const auto& [name_node, t] : types->entries) {
    const std::string& name = name_node->value;
    check_keys(src, t.get(), {"constructor", "makes", "made_by", "extends", "methods", "attributes", "context_manager"},
               name);
    ApiRegistry::Type type;
    if (const YNode* cm = t->get("context_manager")) type.context_manager = cm->is_scalar() && cm->value == "true";
    if (const YNode* ctor = t->get("constructor")) {
      check_keys(src, ctor, {"params", "raises"}, name + ".constructor");
      type.constructible = true;
      type.params = string_list(src, ctor->get("params"), name + ".constructor.params");
      type.raises = string_list(src, ctor->get("raises"), name + ".constructor.raises");
    } else if (!t->get("made_by")) {
      fail(src, t.get(), name + " has neither a constructor nor made_by");
    }
    type.makes = string_list(src, t->get("makes"), name + ".makes");
    if (const YNode* e = t->get("extends")) extends[name] = e->value;
    for (const char* group : {"methods", "attributes"}) {
      const YNode* ops = t->get(group);
      if (!ops) continue;
      if (!ops->is_map()) fail(src, ops, name + "." + group + " is a mapping");
      const bool attribute = std::string_view(group) == "attributes";
      for (const auto& [op_name, o] : ops->entries) {
        const std::string what = name + "." + op_name->value;
        ApiRegistry::Operation op;
        op.attribute = attribute;
        if (attribute) {
          check_keys(src, o.get(), {"returns", "raises", "settable"}, what);
          if (const YNode* st = o->get("settable")) op.settable = st->is_scalar() && st->value == "true";
        } else {
          check_keys(src, o.get(), {"params", "raises", "loop", "returns_type"}, what);
          op.params = string_list(src, o->get("params"), what + ".params");
          if (const YNode* loop = o->get("loop")) op.loop = loop->value;
          op.returns_type = returns_types(src, o->get("returns_type"), what);
        }
        op.raises = string_list(src, o->get("raises"), what + ".raises");
        if (!type.ops.emplace(op_name->value, op).second)
          fail(src, op_name.get(), what + " is both a method and an attribute");
      }
    }
    api.types.emplace(name, std::move(type));
  }
  if (const YNode* functions = root->get("functions")) {
    if (!functions->is_map()) fail(src, functions, "functions is a mapping");
    for (const auto& [fn_name, f] : functions->entries) {
      const std::string& what = fn_name->value;
      if (!is_function_call(what))
        fail(src, fn_name.get(),
             "function '" + what + "' is not named from multiprocessing., operator., builtins. or atexit.");
      check_keys(src, f.get(), {"params", "raises", "returns_type"}, what);
      ApiRegistry::Operation op;
      op.params = string_list(src, f->get("params"), what + ".params");
      op.raises = string_list(src, f->get("raises"), what + ".raises");
      op.returns_type = returns_types(src, f->get("returns_type"), what);
      api.functions.emplace(what, std::move(op));
    }
  }
  for (const auto& [name, base] : extends) {
    auto it = api.types.find(base);
    if (it == api.types.end() || extends.contains(base))
      fail(src, types->get(name), name + " extends '" + base + "', which is not a type without extends");
    for (const auto& op : it->second.ops) api.types[name].ops.insert(op);  // its own take precedence
  }
  for (const auto& [name, f] : api.functions)
    for (const auto& r : f.returns_type)
      if (!api.types.contains(r))
        fail(src, root->get("functions")->get(name), name + " returns_type '" + r + "', which is not a type");
  for (const auto& [name, t] : api.types) {
    for (const auto& [op_name, op] : t.ops)
      for (const auto& r : op.returns_type)
        if (!api.types.contains(r))
          fail(src, types->get(name), name + "." + op_name + " returns_type '" + r + "', which is not a type");
    for (const auto& m : t.makes)
      if (!api.types.contains(m)) fail(src, types->get(name), name + " makes '" + m + "', which is not a type");
    for (const auto& [op_name, op] : t.ops)
      if (!op.loop.empty() && !t.ops.contains(op.loop))
        fail(src, types->get(name), name + "." + op_name + " loops over '" + op.loop + "', which it lacks");
  }
  return api;
}

}  // namespace

const ApiRegistry::Type* ApiRegistry::type(const std::string& name) const {
  auto it = types.find(name);
  return it == types.end() ? nullptr : &it->second;
}

const ApiRegistry::Operation* ApiRegistry::find(const std::string& type_name, const std::string& method) const {
  const Type* t = type(type_name);
  if (!t) return nullptr;
  static const Operation context_op{};
  if (t->context_manager && (method == "__enter__" || method == "__exit__")) return &context_op;
  auto it = t->ops.find(method);
  return it == t->ops.end() ? nullptr : &it->second;
}

std::vector<std::string> ApiRegistry::all_ops() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : types) {
    for (const auto& [op, o] : t.ops) out.push_back(name + "." + op);
    if (t.context_manager) {
      out.push_back(name + ".__enter__");
      out.push_back(name + ".__exit__");
    }
  }
  for (const auto& [name, f] : functions) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string case_id_of(const fs::path& relative, const std::string& file) {
  std::vector<std::string> parts;
  for (const auto& part : relative) parts.push_back(part.string());
  if (parts.empty() || !parts.back().ends_with(".yaml"))
    throw CaseError(SourcePos{file, 0, 0}, "a case file's name ends in .yaml");
  parts.back().resize(parts.back().size() - 5);
  if (parts.size() < 2)
    throw CaseError(SourcePos{file, 0, 0}, "a case file lives in a directory below cases/ (its id is DIR.NAME)");
  std::string id;
  for (const auto& part : parts) {
    bool ok = !part.empty() && std::all_of(part.begin(), part.end(),
                                           [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_'; });
    if (!ok) {
      // Never echo a byte that is not UTF-8 (a file name can hold any).
      std::string shown = valid_utf8(part) ? part : "(a name that is not UTF-8)";
      throw CaseError(SourcePos{file, 0, 0},
                      "path component '" + shown +
                          "' may hold only a-z, 0-9 and _ (the id is the path below cases/ with / as ., so a . "
                          "or any other character would make ids collide or break filters)");
    }
    id += (id.empty() ? "" : ".") + part;
  }
  return id;
}

namespace {

// While a case is read, the first allocation that fails frees a reserve and then throws, so that
// the unwinding has memory to run in (nlohmann's json allocates while it destroys large values,
// in noexcept destructors: without memory, a std::bad_alloc would end in std::terminate).
class MemoryReserve {
 public:
  MemoryReserve() : previous_(std::set_new_handler(&on_failure)) { reserve_ = std::malloc(kBytes); }
  ~MemoryReserve() {
    std::set_new_handler(previous_);
    std::free(reserve_);
    reserve_ = nullptr;
  }
  MemoryReserve(const MemoryReserve&) = delete;
  MemoryReserve& operator=(const MemoryReserve&) = delete;

 private:
  static constexpr std::size_t kBytes = 32u << 20;
  static void on_failure() {
    std::free(reserve_);
    reserve_ = nullptr;
    throw std::bad_alloc();
  }
  static inline void* reserve_ = nullptr;
  std::new_handler previous_;
};

}  // namespace

struct CaseLoader::Impl {
  valijson::Schema schema;
  Limits limits;
  ApiRegistry api;
};

CaseLoader::CaseLoader(const fs::path& schema_path, const Limits& limits, const fs::path& api_path)
    : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  json doc;
  try {
    doc = json::parse(read_text(schema_path, std::size_t(16) << 20));
  } catch (const json::exception& e) {
    throw std::runtime_error(schema_path.string() + ": not valid JSON: " + e.what());
  }
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  parser.populateSchema(adapter, impl_->schema);

  const fs::path api_file = api_path.empty() ? schema_path.parent_path() / "api.yaml" : api_path;
  const std::string api_text = read_text(api_file, Limits{}.case_file_bytes);
  const Source src{api_file.string(), api_text};
  try {
    Budget budget(Limits{}.generated_items);
    NodeP root = read_tree(src, Limits{}, budget);
    impl_->api = parse_api(src, root.get());
  } catch (const CaseError& e) {
    throw std::runtime_error(std::string("the API registry: ") + e.what());
  }
}

CaseLoader::~CaseLoader() = default;

const ApiRegistry& CaseLoader::api() const { return impl_->api; }
const Limits& CaseLoader::limits() const { return impl_->limits; }

Case CaseLoader::load_text(const std::string& text, const std::string& file, const std::string& expected_id) const {
  const Source src{file, text};
  try {
    MemoryReserve reserve;
    Budget budget(impl_->limits.generated_items);
    NodeP root = read_tree(src, impl_->limits, budget);
    if (!root->is_map()) fail(src, root.get(), "a case is a YAML mapping");
    check_outcome_keys(src, root.get());
    check_finite_durations(src, root.get());
    RangeCharge(src, budget).charge(root.get());
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    const json view = schema_view(root.get());
    if (!validator.validate(impl_->schema, valijson::adapters::NlohmannJsonAdapter(view), &results)) {
      // The deepest errors are the most specific; a oneOf failure also reports each branch's reason.
      std::vector<valijson::ValidationResults::Error> errors;
      valijson::ValidationResults::Error error;
      while (results.popError(error)) errors.push_back(error);
      std::stable_sort(errors.begin(), errors.end(),
                       [](const auto& a, const auto& b) { return a.context.size() > b.context.size(); });
      const auto& best = errors.front();
      std::string why = best.description;
      std::set<std::string> seen{why};
      for (const auto& e : errors)
        if (e.context == best.context && seen.insert(e.description).second && seen.size() <= 4)
          why += "; " + e.description;
      fail(src, node_at(root.get(), best.context), "schema: at " + context_path(best.context) + ": " + why);
    }
    return CaseBuilder(src, root.get(), impl_->limits, impl_->api).build(expected_id);
  } catch (const std::bad_alloc&) {
    // The budgets keep a case far below any sane memory cap; this is the last line.
    throw CaseError(SourcePos{file, 0, 0}, "out of memory while reading the case");
  }
}

Case CaseLoader::load_file(const fs::path& file, const fs::path& cases_root) const {
  const std::string shown = display_path(file.string());
  const std::string id = case_id_of(fs::relative(file, cases_root), shown);
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (!ec && size > impl_->limits.case_file_bytes)
    throw CaseError(SourcePos{shown, 0, 0}, "the file is " + std::to_string(size) + " bytes, more than " +
                                                std::to_string(impl_->limits.case_file_bytes) + " (--max-case-bytes)");
  return load_text(read_text(file, impl_->limits.case_file_bytes), shown, id);
}

CaseLoader::Loaded CaseLoader::load_tree(const fs::path& root) const {
  Loaded out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  // Ids as the path gives them, before the grammar is checked: two files with one id are both
  // reported, each naming the other, so that neither silently shadows the other.
  std::map<std::string, std::vector<std::size_t>> by_id;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string id = fs::relative(files[i], root).replace_extension().generic_string();
    std::replace(id.begin(), id.end(), '/', '.');
    by_id[id].push_back(i);
  }
  std::vector<std::string> collision(files.size());
  for (const auto& [id, group] : by_id) {
    if (group.size() < 2) continue;
    for (std::size_t i : group) {
      std::string others;
      for (std::size_t j : group)
        if (j != i) others += (others.empty() ? "" : ", ") + display_path(files[j].string());
      const std::string shown = display_path(id);
      collision[i] = display_path(files[i].string()) + ": its id '" + shown + "' is also the id of " + others +
                     ": two cases cannot share an id";
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (!collision[i].empty()) {
      out.errors.push_back(collision[i]);
      continue;
    }
    try {
      out.cases.push_back(load_file(f, root));
    } catch (const CaseError& e) {
      out.errors.push_back(e.what());
    } catch (const std::exception& e) {
      out.errors.push_back(display_path(f.string()) + ": " + e.what());
    }
  }
  return out;
}

}  // namespace mpconform
