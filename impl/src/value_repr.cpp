// A Python-like repr for messages, without recursion on the C++ stack.
#include <cstdio>
#include <unordered_set>

#include "mpc/value.hpp"
#include "value_impl.hpp"
#include "value_text.hpp"

namespace mpc {
namespace {

using detail::Node;
using detail::ValueAccess;

constexpr char kHex[] = "0123456789abcdef";

// Ints up to CPython's default int_max_str_digits print exactly in decimal; decimal conversion
// is quadratic, so a bigger one prints as its size and the two ends of its (linear) hex form.
constexpr std::size_t kMaxReprDigits = 4300;
constexpr std::size_t kHugeIntEnds = 16;  // hex digits shown at each end

void append_big_int(std::string& out, const BigInt& value) {
  if (value.decimal_digits_upper_bound() <= kMaxReprDigits + 1) {
    std::string decimal = value.to_decimal();
    if (decimal.size() - (value.is_negative() ? 1 : 0) <= kMaxReprDigits) {
      out += decimal;
      return;
    }
  }
  std::string hex = value.to_hex();
  const std::size_t sign = value.is_negative() ? 1 : 0;
  out += "<int of " + std::to_string(value.bit_length()) + " bits: ";
  out += value.is_negative() ? "-0x" : "0x";
  out.append(hex, sign, kHugeIntEnds);
  out += "...";
  out.append(hex, hex.size() - kHugeIntEnds, kHugeIntEnds);
  out += ">";
}

void append_hex_escape(std::string& out, char prefix, std::uint32_t value, int digits) {
  out.push_back('\\');
  out.push_back(prefix);
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(value >> shift) & 0xf]);
}

void append_str_repr(std::string& out, std::string_view utf8) {
  const bool has_single = utf8.find('\'') != std::string_view::npos;
  const bool has_double = utf8.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    std::uint32_t cp = 0;
    const std::size_t start = pos;
    if (!detail::next_code_point(utf8, pos, cp)) {  // not valid: show the byte
      append_hex_escape(out, 'x', static_cast<unsigned char>(utf8[pos]), 2);
      ++pos;
      continue;
    }
    if (cp == static_cast<std::uint32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      append_hex_escape(out, 'x', cp, 2);
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      append_hex_escape(out, 'u', cp, 4);
    } else {
      out.append(utf8.substr(start, pos - start));
    }
  }
  out.push_back(quote);
}

void append_bytes_repr(std::string& out, std::string_view data) {
  const bool has_single = data.find('\'') != std::string_view::npos;
  const bool has_double = data.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back('b');
  out.push_back(quote);
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      append_hex_escape(out, 'x', byte, 2);
    } else {
      out.push_back(c);
    }
  }
  out.push_back(quote);
}

void append_leaf(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::None: out += "None"; break;
    case Kind::Bool: out += ValueAccess::boolean(v) ? "True" : "False"; break;
    case Kind::Int:
      if (const BigInt* big = ValueAccess::big(v)) {
        append_big_int(out, *big);
      } else {
        out += std::to_string(ValueAccess::small(v));
      }
      break;
    case Kind::Float: out += detail::float_repr(ValueAccess::floating(v)); break;
    case Kind::Str: append_str_repr(out, ValueAccess::leaf(v)); break;
    case Kind::Bytes: append_bytes_repr(out, ValueAccess::leaf(v)); break;
    case Kind::ByteArray:
      out += "bytearray(";
      append_bytes_repr(out, ValueAccess::leaf(v));
      out += ")";
      break;
    case Kind::Unpicklable: out += "<unpicklable>"; break;
    case Kind::Connection: {
      char address[32];
      std::snprintf(address, sizeof address, "%p", v.identity());
      out += "<multiprocessing.connection.Connection object at ";
      out += address;
      out += ">";
      break;
    }
    default: break;
  }
}

class Printer {
 public:
  explicit Printer(std::size_t max_chars) : max_chars_(max_chars) {}

  std::string run(const Value& root) {
    begin(root);
    while (!stack_.empty() && out_.size() <= max_chars_) step();
    if (out_.size() > max_chars_) {
      out_.resize(max_chars_);
      out_ += "...";
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    const Node* node;
    Kind kind;
    std::size_t index = 0;
    bool value_next = false;  // dict: the key of entry `index` was printed
  };

  void begin(const Value& v) {
    if (!v.is_container()) {
      append_leaf(out_, v);
      return;
    }
    const Node* node = &ValueAccess::node(v);
    const std::size_t size = v.kind() == Kind::Dict ? node->entries.size() : node->items.size();
    switch (v.kind()) {
      case Kind::List: out_ += active_.count(node) ? "[...]" : "["; break;
      case Kind::Tuple: out_ += active_.count(node) ? "(...)" : "("; break;
      case Kind::Dict: out_ += active_.count(node) ? "{...}" : "{"; break;
      case Kind::Set:
        if (active_.count(node)) {
          out_ += "set(...)";
        } else {
          out_ += size == 0 ? "set(" : "{";
        }
        break;
      case Kind::FrozenSet:
        if (active_.count(node)) {
          out_ += "frozenset(...)";
        } else {
          out_ += size == 0 ? "frozenset(" : "frozenset({";
        }
        break;
      default: break;
    }
    if (active_.count(node)) return;
    active_.insert(node);
    stack_.push_back(Frame{node, v.kind()});
  }

  void finish(const Frame& frame) {
    const std::size_t size = frame.node->items.size();
    switch (frame.kind) {
      case Kind::List: out_ += "]"; break;
      case Kind::Tuple: out_ += size == 1 ? ",)" : ")"; break;
      case Kind::Dict: out_ += "}"; break;
      case Kind::Set: out_ += size == 0 ? ")" : "}"; break;
      case Kind::FrozenSet: out_ += size == 0 ? ")" : "})"; break;
      default: break;
    }
    active_.erase(frame.node);
    stack_.pop_back();
  }

  void step() {
    Frame& frame = stack_.back();
    if (frame.kind == Kind::Dict) {
      const auto& entries = frame.node->entries;
      if (frame.index == entries.size()) return finish(frame);
      const auto& entry = entries[frame.index];
      if (!frame.value_next) {
        if (frame.index > 0) out_ += ", ";
        frame.value_next = true;
        return begin(entry.first);  // may invalidate `frame`
      }
      out_ += ": ";
      frame.value_next = false;
      ++frame.index;
      return begin(entry.second);
    }
    const auto& items = frame.node->items;
    if (frame.index == items.size()) return finish(frame);
    if (frame.index > 0) out_ += ", ";
    const Value& item = items[frame.index++];
    begin(item);
  }

  std::size_t max_chars_;
  std::string out_;
  std::vector<Frame> stack_;
  std::unordered_set<const Node*> active_;
};

}  // namespace

std::string repr(const Value& value, std::size_t max_chars) { return Printer(max_chars).run(value); }

}  // namespace mpc
