// pickle.loads for the plain data model: a stack machine that builds values only. The only
// callables it knows are builtins set/frozenset/bytearray/bytes and _codecs.encode, and it
// applies them itself; the one object form it reads is a Connection as ForkingPickler writes it
// (rebuild_connection of a resource_sharer.DupFd), which it rebuilds itself too. Every other
// global, every other object-building opcode and every extension is refused. All lengths are
// checked against the bytes left before anything is allocated.
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "mpc/connection.hpp"
#include "mpc/pickle.hpp"
#include "mpc/resource_sharer.hpp"
#include "pickle_keys.hpp"
#include "pickle_opcodes.hpp"
#include "pickle_scalar.hpp"
#include "value_impl.hpp"
#include "value_text.hpp"

namespace mpc::pickle {
namespace {

using mpc::detail::Arena;
using mpc::detail::Node;
using mpc::detail::ValueAccess;

constexpr std::size_t kMaxStrDigits = 4300;

// RebuildConnection, DupFdClass and DupFd (an instance awaiting its BUILD) read the one object
// form beyond plain data: a Connection, as ForkingPickler writes it (pickle_dump.cpp).
enum class Callable : std::int8_t {
  None = -1,
  Set,
  FrozenSet,
  ByteArray,
  Bytes,
  CodecsEncode,
  RebuildConnection,
  DupFdClass,
  DupFd
};

// A stack or memo entry: a value, or one of the known callables (a GLOBAL's result).
struct Slot {
  Value value;
  Callable callable = Callable::None;
};

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 80)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 15]);
    }
  }
  if (text.size() > 80) out += "...";
  return out;
}

class Unpickler {
 public:
  Unpickler(std::string_view data, const Limits& limits)
      : data_(data), limits_(limits), arena_(ValueAccess::new_arena()) {}

  Value run() {
    if (data_.empty()) throw EOFError("Ran out of input");
    for (;;) {
      if (pos_ >= data_.size()) {
        opcode_offset_ = pos_;
        opcode_ = '\0';
        fail("pickle data was truncated (no STOP)");
      }
      opcode_offset_ = pos_;
      opcode_ = data_[pos_++];
      if (opcode_ == op::STOP) break;
      dispatch();
    }
    // As CPython: the result is the top of the stack; values below it and MARKs below it
    // are ignored (`NN.` and `(N.` give None), a MARK above it is an error.
    if (stack_.size() <= fence()) fail(marks_.empty() ? "unpickling stack underflow" : "unexpected MARK found");
    Slot result = std::move(stack_.back());
    if (result.callable != Callable::None) fail("the result is a global, not a value");
    if (!pending_dupfds_.empty()) refuse("a DupFd outside rebuild_connection");
    check_depth(result.value);
    return ValueAccess::owned(result.value, arena_);
  }

 private:
  // ---- errors

  [[noreturn]] void fail(const std::string& message) const {
    std::string where =
        " (opcode " + std::string(op::name(opcode_)) + " at byte " + std::to_string(opcode_offset_) + ")";
    throw UnpicklingError(message + where);
  }
  [[noreturn]] void refuse(const std::string& what) const {
    fail("refused: " + what +
         "; only plain data (None, bool, int, float, str, bytes, "
         "bytearray, list, tuple, dict, set, frozenset) is accepted");
  }
  template <typename E>
  [[noreturn]] void fail_as(const std::string& message) const {
    throw E(message + " (opcode " + std::string(op::name(opcode_)) + " at byte " + std::to_string(opcode_offset_) +
            ")");
  }

  // ---- input

  std::string_view read(std::size_t count) {
    if (count > data_.size() - pos_) fail("pickle data was truncated");
    const std::string_view out = data_.substr(pos_, count);
    pos_ += count;
    return out;
  }
  std::uint64_t read_le(std::size_t count) {
    const std::string_view bytes = read(count);
    std::uint64_t value = 0;
    for (std::size_t i = count; i-- > 0;) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    return value;
  }
  // A declared length, checked against what is left before anyone allocates it.
  std::size_t read_length(std::size_t width) {
    const std::uint64_t length = read_le(width);
    if (length > data_.size() - pos_) {
      fail("declared length " + std::to_string(length) + " exceeds the " + std::to_string(data_.size() - pos_) +
           " bytes left (pickle data was truncated)");
    }
    return static_cast<std::size_t>(length);
  }
  std::string_view read_line() {
    const std::size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) fail("pickle data was truncated (no end of line)");
    const std::string_view line = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  // ---- stack

  std::size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(Slot slot) {
    if (stack_.size() >= limits_.max_stack) fail("stack limit exceeded");
    stack_.push_back(std::move(slot));
  }
  void push(Value value) { push(Slot{std::move(value)}); }

  Slot pop_slot() {
    if (stack_.size() <= fence()) fail("unpickling stack underflow");
    Slot slot = std::move(stack_.back());
    stack_.pop_back();
    return slot;
  }
  Value pop_value() {
    Slot slot = pop_slot();
    if (slot.callable != Callable::None) refuse("a global used as a value");
    return std::move(slot.value);
  }
  Slot& top() {
    if (stack_.size() <= fence()) fail("unpickling stack underflow");
    return stack_.back();
  }
  // The values above the innermost MARK; the MARK is removed.
  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail("could not find MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items;
    items.reserve(stack_.size() - mark);
    for (std::size_t i = mark; i < stack_.size(); ++i) {
      if (stack_[i].callable != Callable::None) refuse("a global used as a value");
      items.push_back(std::move(stack_[i].value));
    }
    stack_.resize(mark);
    return items;
  }

  // ---- objects

  void count_object() {
    if (++objects_ > limits_.max_objects) fail("object limit exceeded");
  }
  Value new_container(Kind kind) {
    count_object();
    return ValueAccess::new_node(*arena_, kind);
  }
  Value new_leaf(Kind kind, std::string data) {
    count_object();
    return ValueAccess::make_leaf(kind, std::move(data));
  }
  Node& node_of(const Value& v) { return ValueAccess::mutable_node(v); }

  Value make_sequence(Kind kind, std::vector<Value> items) {
    Value v = new_container(kind);
    Node& node = node_of(v);
    node.items = std::move(items);
    return v;
  }

  Value make_set(Kind kind, const std::vector<Value>& members) {
    Value v = new_container(kind);
    Node& node = node_of(v);
    for (const auto& member : members) {
      add_member(node, member);
    }
    if (kind == Kind::FrozenSet) keys_.seal_frozenset(node);
    return v;
  }

  void dict_set(const Value& dict, const Value& key, const Value& value) {
    Node& node = node_of(dict);
    try {
      keys_.dict_set(node, key, value);
    } catch (const TypeError& e) {
      fail_as<TypeError>(e.what());
    }
  }

  void add_member(Node& set, const Value& member) {
    try {
      keys_.set_add(set, member);
    } catch (const TypeError& e) {
      fail_as<TypeError>(e.what());
    }
  }

  // ---- memo

  void memo_put(std::uint64_t index) {
    const Slot& value = top();
    auto it = memo_.find(index);
    if (it != memo_.end()) {
      it->second = value;
      return;
    }
    if (memo_.size() >= limits_.max_memo) fail("memo limit exceeded");
    memo_.emplace(index, value);
  }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("Memo value not found at index " + std::to_string(index));
    push(it->second);
  }
  std::uint64_t text_index(std::string_view line) {
    std::uint64_t index = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), index);
    if (ec != std::errc() || end != line.data() + line.size() || line.empty()) {
      fail("bad memo index '" + printable(line) + "'");
    }
    return index;
  }

  // ---- text numbers (protocols 0 and 1)

  // The line of a text INT/LONG as C sees it: CPython's C unpickler parses a NUL-terminated
  // string, so text after a NUL byte is ignored.
  static std::string_view c_string(std::string_view line) { return line.substr(0, line.find('\0')); }

  // Python's int(text, 0), as both text opcodes fall back to, with the 4300-digit limit.
  BigInt parse_literal(std::string_view text, const char* message) {
    try {
      return BigInt::from_literal(text, kMaxStrDigits);
    } catch (const ValueError& e) {
      const std::string what = e.what();
      if (what.starts_with("Exceeds")) fail_as<ValueError>(what);
      fail_as<ValueError>(std::string(message) + ": '" + printable(text) + "'");
    }
  }

  // C's strtol(text, &end, 0) where it succeeds: leading whitespace, a sign, then 0x hex,
  // 0 octal or decimal, ending exactly at the end of text, within a C long. nullopt where C
  // would fail (no digits but text left, trailing text, overflow).
  static std::optional<std::int64_t> c_strtol(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r'))) ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    int base = 10;
    const auto hex_digit = [](char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); };
    if (i + 2 < text.size() && text[i] == '0' && (text[i + 1] | 0x20) == 'x' && hex_digit(text[i + 2])) {
      base = 16;
      i += 2;
    } else if (i < text.size() && text[i] == '0') {
      base = 8;
    }
    const std::size_t digits_begin = i;
    std::uint64_t magnitude = 0;
    bool overflow = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      const int d = c >= '0' && c <= '9' ? c - '0' : hex_digit(c) ? (c | 0x20) - 'a' + 10 : 99;
      if (d >= base) break;
      if (magnitude > (std::uint64_t{1} << 63) / static_cast<unsigned>(base)) overflow = true;
      magnitude = magnitude * static_cast<unsigned>(base) + static_cast<unsigned>(d);
      if (magnitude > (std::uint64_t{1} << 63)) overflow = true;
    }
    if (i == digits_begin) return text.empty() ? std::optional<std::int64_t>(0) : std::nullopt;
    if (i != text.size() || overflow) return std::nullopt;
    if (!negative && magnitude > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  }

  // CPython's C load_int: strtol, else int(text, 0); a two-character line worth 0 or 1 is a
  // bool (what protocol 0 writes for True/False is `I01`/`I00`, and C keeps the rule loose).
  void load_int() {
    const std::string_view line = read_line();
    if (line.empty()) fail("pickle data was truncated");
    const std::string_view text = c_string(line);
    if (const auto small = c_strtol(text)) {
      if (line.size() == 2 && (*small == 0 || *small == 1)) {
        push(Value::boolean(*small == 1));
      } else {
        push(Value::integer(*small));
      }
      return;
    }
    push_int(parse_literal(text, "could not convert string to int"));
  }

  // CPython's C load_long: int(text, 0) without a trailing 'L'.
  void load_long() {
    std::string_view line = read_line();
    if (line.empty()) fail("pickle data was truncated");
    if (line.back() == 'L') line.remove_suffix(1);
    push_int(parse_literal(c_string(line), "invalid literal for int() with base 0"));
  }

  void push_int(const BigInt& value) {
    if (!value.to_int64()) count_object();
    push(Value::integer(value));
  }

  // CPython's PyOS_string_to_double on the C string: optional sign, decimal (with exponent),
  // inf/infinity/nan in any case; no whitespace, underscores or hex; overflow is OverflowError.
  void load_float_text() {
    const std::string_view line = read_line();
    if (line.empty()) fail("pickle data was truncated");  // as CPython's bad_readline()
    std::string_view text = c_string(line);
    const auto bad = [&] { fail_as<ValueError>("could not convert string to float: '" + printable(line) + "'"); };
    bool negative = false;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
      negative = text[0] == '-';
      text.remove_prefix(1);
    }
    // from_chars would also take a second sign, "nan(chars)" and hex without 0x.
    if (text.empty() || text[0] == '+' || text[0] == '-' || text.find('(') != std::string_view::npos ||
        text.find_first_of("pP") != std::string_view::npos) {
      bad();
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (end != text.data() + text.size()) bad();
    if (ec == std::errc::result_out_of_range) {
      // Underflow rounds to zero (or a subnormal) as strtod does; overflow raises.
      const std::string copy(text);
      value = std::strtod(copy.c_str(), nullptr);
      if (std::isinf(value)) fail_as<OverflowError>("value too large to convert to float: '" + printable(line) + "'");
    } else if (ec != std::errc()) {
      bad();
    }
    push(Value::floating(negative ? -value : value));
  }

  // ---- text

  Value make_str(std::string_view utf8) {
    if (!mpc::detail::is_valid_utf8(utf8)) {
      fail_as<ValueError>("'utf-8' codec can't decode the str data (invalid UTF-8)");
    }
    return new_leaf(Kind::Str, std::string(utf8));
  }

  // raw-unicode-escape, as the UNICODE opcode carries text.
  Value decode_raw_unicode_escape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    std::size_t i = 0;
    while (i < raw.size()) {
      const auto c = static_cast<unsigned char>(raw[i++]);
      if (c != '\\' || i >= raw.size() || (raw[i] != 'u' && raw[i] != 'U')) {
        mpc::detail::append_utf8(out, c);
        if (c == '\\' && i < raw.size()) {  // '\\' and the next byte stay as they are
          mpc::detail::append_utf8(out, static_cast<unsigned char>(raw[i++]));
        }
        continue;
      }
      const int count = raw[i++] == 'u' ? 4 : 8;
      std::uint32_t cp = 0;
      for (int k = 0; k < count; ++k) {
        if (i >= raw.size()) fail_as<ValueError>("truncated \\uXXXX escape in UNICODE text");
        const char h = raw[i++];
        std::uint32_t digit = 0;
        if (h >= '0' && h <= '9') {
          digit = static_cast<std::uint32_t>(h - '0');
        } else if (h >= 'a' && h <= 'f') {
          digit = static_cast<std::uint32_t>(h - 'a' + 10);
        } else if (h >= 'A' && h <= 'F') {
          digit = static_cast<std::uint32_t>(h - 'A' + 10);
        } else {
          fail_as<ValueError>("truncated \\uXXXX escape in UNICODE text");
        }
        cp = cp * 16 + digit;
      }
      if (cp > 0x10ffff) fail_as<ValueError>("\\Uxxxxxxxx out of range in UNICODE text");
      mpc::detail::append_utf8(out, cp);
    }
    return new_leaf(Kind::Str, std::move(out));
  }

  // Protocol 0 STRING (what Python 2 writes for str): a quoted line with Python's bytes escapes
  // (PyBytes_DecodeEscape), then ASCII like the binary forms.
  Value load_string() {
    std::string_view line = read_line();
    if (line.size() < 2 || line.front() != line.back() || (line.front() != '\'' && line.front() != '"')) {
      fail("the STRING opcode argument must be quoted");
    }
    line = line.substr(1, line.size() - 2);
    std::string out;
    out.reserve(line.size());
    const auto hex_value = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      const char lower = static_cast<char>(c | 0x20);
      return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    };
    for (std::size_t i = 0; i < line.size();) {
      const char c = line[i++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i == line.size()) fail_as<ValueError>("Trailing \\ in string");
      const char e = line[i++];
      switch (e) {
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 't': out.push_back('\t'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 'v': out.push_back('\v'); break;
        case 'a': out.push_back('\a'); break;
        case 'x': {
          if (i + 1 >= line.size() || hex_value(line[i]) < 0 || hex_value(line[i + 1]) < 0) {
            fail_as<ValueError>("invalid \\x escape at position " + std::to_string(i - 2));
          }
          out.push_back(static_cast<char>(hex_value(line[i]) * 16 + hex_value(line[i + 1])));
          i += 2;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            // Up to three octal digits; CPython keeps the low 8 bits of \400 and up.
            unsigned value = static_cast<unsigned>(e - '0');
            for (int k = 0; k < 2 && i < line.size() && line[i] >= '0' && line[i] <= '7'; ++k) {
              value = value * 8 + static_cast<unsigned>(line[i++] - '0');
            }
            out.push_back(static_cast<char>(value & 0xff));
          } else {
            out.push_back('\\');  // an unknown escape stays as it is
            --i;
          }
      }
    }
    return make_ascii_str(out);
  }

  // Python 2 str (BINSTRING, SHORT_BINSTRING): decoded as ASCII, pickle's default.
  Value make_ascii_str(std::string_view data) {
    for (const char c : data) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        fail_as<ValueError>("'ascii' codec can't decode a Python 2 str byte >= 0x80");
      }
    }
    return new_leaf(Kind::Str, std::string(data));
  }

  // ---- globals and REDUCE

  Callable find_global(std::string_view module, std::string_view name) const {
    if (module == "builtins" || module == "__builtin__") {
      if (name == "set") return Callable::Set;
      if (name == "frozenset") return Callable::FrozenSet;
      if (name == "bytearray") return Callable::ByteArray;
      if (name == "bytes") return Callable::Bytes;
    }
    if (module == "_codecs" && name == "encode") return Callable::CodecsEncode;
    if (module == "multiprocessing.connection" && name == "rebuild_connection") return Callable::RebuildConnection;
    if (module == "multiprocessing.resource_sharer" && name == "DupFd") return Callable::DupFdClass;
    refuse("global '" + printable(module) + "." + printable(name) + "'");
  }

  // The bytes of a str whose code points are all below 256.
  std::string latin1_bytes(const Value& text) {
    std::string out;
    const std::string_view utf8 = ValueAccess::leaf(text);
    std::size_t pos = 0;
    std::uint32_t cp = 0;
    while (pos < utf8.size()) {
      if (!mpc::detail::next_code_point(utf8, pos, cp) || cp > 0xff) {
        fail_as<ValueError>("'latin-1' codec can't encode a character above U+00FF");
      }
      out.push_back(static_cast<char>(cp));
    }
    return out;
  }

  static bool is_latin1_name(const Value& v) {
    return v.is(Kind::Str) && (ValueAccess::leaf(v) == "latin1" || ValueAccess::leaf(v) == "latin-1");
  }

  void load_reduce() {
    const Value args = pop_value();
    const Slot callable = pop_slot();
    if (callable.callable == Callable::None) refuse("REDUCE of a value that is not a known global");
    if (!args.is(Kind::Tuple)) fail("REDUCE arguments are not a tuple");
    const auto& argv = ValueAccess::node(args).items;
    const auto bad_args = [&]() { refuse("these REDUCE arguments"); };
    switch (callable.callable) {
      case Callable::Set:
      case Callable::FrozenSet: {
        const Kind kind = callable.callable == Callable::Set ? Kind::Set : Kind::FrozenSet;
        if (argv.empty()) {
          push(make_set(kind, {}));
          return;
        }
        if (argv.size() != 1) bad_args();
        const Value& source = argv[0];
        if (!source.is(Kind::List) && !source.is(Kind::Tuple) && !source.is(Kind::Set) && !source.is(Kind::FrozenSet)) {
          bad_args();
        }
        push(make_set(kind, ValueAccess::node(source).items));
        return;
      }
      case Callable::ByteArray: {
        if (argv.empty()) {
          push(new_leaf(Kind::ByteArray, {}));
        } else if (argv.size() == 1 && (argv[0].is(Kind::Bytes) || argv[0].is(Kind::ByteArray))) {
          push(new_leaf(Kind::ByteArray, ValueAccess::leaf(argv[0])));
        } else if (argv.size() == 2 && argv[0].is(Kind::Str) && is_latin1_name(argv[1])) {
          push(new_leaf(Kind::ByteArray, latin1_bytes(argv[0])));
        } else {
          bad_args();
        }
        return;
      }
      case Callable::Bytes: {
        if (argv.empty()) {
          push(new_leaf(Kind::Bytes, {}));
        } else if (argv.size() == 1 && argv[0].is(Kind::Bytes)) {
          push(new_leaf(Kind::Bytes, ValueAccess::leaf(argv[0])));
        } else {
          bad_args();
        }
        return;
      }
      case Callable::CodecsEncode: {
        if (argv.size() != 2 || !argv[0].is(Kind::Str) || !is_latin1_name(argv[1])) bad_args();
        push(new_leaf(Kind::Bytes, latin1_bytes(argv[0])));
        return;
      }
      case Callable::RebuildConnection: {
        // rebuild_connection(df, readable, writable): the descriptor df received.
        if (argv.size() != 3 || !argv[0].is(Kind::Connection) || !argv[1].is(Kind::Bool) || !argv[2].is(Kind::Bool) ||
            pending_dupfds_.erase(argv[0].identity()) == 0)
          bad_args();
        Fd fd = argv[0].as_connection()->release();
        push(Value::connection(std::make_shared<Connection>(std::move(fd), argv[1].as_bool(), argv[2].as_bool())));
        return;
      }
      case Callable::DupFdClass:
      case Callable::DupFd: refuse("REDUCE of a DupFd");
      case Callable::None: break;
    }
  }

  // BUILD of a DupFd with the state {'_id': (address, key)}: the descriptor is fetched from the
  // sender's resource sharer now (CPython does it in rebuild_connection, the next opcode of
  // what ForkingPickler writes), held as a Connection until rebuild_connection takes it.
  void load_dupfd_state() {
    const Value state = pop_value();
    Slot& instance = top();
    if (instance.callable != Callable::DupFd) refuse("BUILD of anything but a DupFd");
    if (!state.is(Kind::Dict) || state.size() != 1 || !state.key(0).is(Kind::Str) ||
        ValueAccess::leaf(state.key(0)) != "_id")
      refuse("a DupFd state other than {'_id': (address, key)}");
    const Value id = state.value(0);
    if (!id.is(Kind::Tuple) || id.size() != 2 || !id.at(0).is(Kind::Str) || !id.at(1).is(Kind::Int) ||
        !id.at(1).to_int64())
      refuse("a DupFd _id other than (address, key)");
    Fd fd = resource_sharer::detach({std::string(ValueAccess::leaf(id.at(0))), *id.at(1).to_int64()});
    Value received = Value::connection(std::make_shared<Connection>(std::move(fd)));
    pending_dupfds_.insert(received.identity());
    instance = Slot{std::move(received)};
  }

  // ---- the opcodes

  Value& top_container(Kind kind, const char* what) {
    Slot& slot = top();
    if (slot.callable != Callable::None || !slot.value.is(kind)) fail(std::string(what));
    return slot.value;
  }

  void dispatch() {
    switch (opcode_) {
      case op::PROTO: {
        const auto version = static_cast<unsigned char>(read(1)[0]);
        if (version > kHighestProtocol) fail_as<ValueError>("unsupported pickle protocol: " + std::to_string(version));
        return;
      }
      case op::FRAME:
        read_length(8);  // frames are transparent here; only the length is checked
        return;
      case op::MARK:
        if (marks_.size() >= limits_.max_marks) fail("MARK limit exceeded");
        marks_.push_back(stack_.size());
        return;
      case op::POP:
        // CPython: a POP right after a MARK drops the MARK.
        if (!marks_.empty() && marks_.back() == stack_.size()) {
          marks_.pop_back();
        } else {
          pop_slot();
        }
        return;
      case op::POP_MARK: pop_mark(); return;
      case op::DUP: push(top()); return;

      case op::NONE: push(Value::none()); return;
      case op::NEWTRUE: push(Value::boolean(true)); return;
      case op::NEWFALSE: push(Value::boolean(false)); return;
      case op::INT: load_int(); return;
      case op::LONG: load_long(); return;
      case op::BININT: push(Value::integer(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4))))); return;
      case op::BININT1: push(Value::integer(static_cast<std::int64_t>(read_le(1)))); return;
      case op::BININT2: push(Value::integer(static_cast<std::int64_t>(read_le(2)))); return;
      case op::LONG1: push_int(BigInt::from_signed_le(read(read_length(1)))); return;
      case op::LONG4: {
        const auto length = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (length < 0) fail("LONG pickle has negative byte count");
        if (static_cast<std::size_t>(length) > data_.size() - pos_) fail("pickle data was truncated");
        push_int(BigInt::from_signed_le(read(static_cast<std::size_t>(length))));
        return;
      }
      case op::FLOAT: load_float_text(); return;
      case op::BINFLOAT: {
        const std::uint64_t bits = [&] {
          const std::string_view b = read(8);
          std::uint64_t v = 0;
          for (const char c : b) v = (v << 8) | static_cast<unsigned char>(c);
          return v;
        }();
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        push(Value::floating(value));
        return;
      }

      case op::SHORT_BINUNICODE: push(make_str(read(read_length(1)))); return;
      case op::BINUNICODE: push(make_str(read(read_length(4)))); return;
      case op::BINUNICODE8: push(make_str(read(read_length(8)))); return;
      case op::UNICODE: push(decode_raw_unicode_escape(read_line())); return;
      case op::SHORT_BINSTRING: push(make_ascii_str(read(read_length(1)))); return;
      case op::BINSTRING: {
        const auto length = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (length < 0) fail("BINSTRING pickle has negative byte count");
        if (static_cast<std::size_t>(length) > data_.size() - pos_) fail("pickle data was truncated");
        push(make_ascii_str(read(static_cast<std::size_t>(length))));
        return;
      }
      case op::SHORT_BINBYTES: push(new_leaf(Kind::Bytes, std::string(read(read_length(1))))); return;
      case op::BINBYTES: push(new_leaf(Kind::Bytes, std::string(read(read_length(4))))); return;
      case op::BINBYTES8: push(new_leaf(Kind::Bytes, std::string(read(read_length(8))))); return;
      case op::BYTEARRAY8: push(new_leaf(Kind::ByteArray, std::string(read(read_length(8))))); return;

      case op::EMPTY_LIST: push(new_container(Kind::List)); return;
      case op::EMPTY_DICT: push(new_container(Kind::Dict)); return;
      case op::EMPTY_SET: push(new_container(Kind::Set)); return;
      case op::EMPTY_TUPLE: push(new_container(Kind::Tuple)); return;
      case op::LIST: push(make_sequence(Kind::List, pop_mark())); return;
      case op::TUPLE: push(make_sequence(Kind::Tuple, pop_mark())); return;
      case op::TUPLE1:
      case op::TUPLE2:
      case op::TUPLE3: {
        const std::size_t count = static_cast<std::size_t>(opcode_ - op::TUPLE1) + 1;
        if (stack_.size() < fence() + count) fail("unpickling stack underflow");
        std::vector<Value> items;
        for (std::size_t i = stack_.size() - count; i < stack_.size(); ++i) {
          if (stack_[i].callable != Callable::None) refuse("a global used as a value");
          items.push_back(stack_[i].value);
        }
        stack_.resize(stack_.size() - count);
        push(make_sequence(Kind::Tuple, std::move(items)));
        return;
      }
      case op::DICT: {
        std::vector<Value> items = pop_mark();
        if (items.size() % 2 != 0) fail("odd number of items for DICT");
        Value dict = new_container(Kind::Dict);
        for (std::size_t i = 0; i < items.size(); i += 2) dict_set(dict, items[i], items[i + 1]);
        push(std::move(dict));
        return;
      }
      case op::FROZENSET: push(make_set(Kind::FrozenSet, pop_mark())); return;

      case op::APPEND: {
        Value item = pop_value();
        Value& list = top_container(Kind::List, "APPEND to something that is not a list");
        Node& node = node_of(list);
        node.items.push_back(std::move(item));
        return;
      }
      case op::APPENDS: {
        std::vector<Value> items = pop_mark();
        Value& list = top_container(Kind::List, "APPENDS to something that is not a list");
        Node& node = node_of(list);
        for (auto& item : items) {
          node.items.push_back(std::move(item));
        }
        return;
      }
      case op::SETITEM: {
        Value value = pop_value();
        Value key = pop_value();
        const Value& dict = top_container(Kind::Dict, "SETITEM on something that is not a dict");
        dict_set(dict, key, value);
        return;
      }
      case op::SETITEMS: {
        std::vector<Value> items = pop_mark();
        if (items.size() % 2 != 0) fail("odd number of items for SETITEMS");
        const Value& dict = top_container(Kind::Dict, "SETITEMS on something that is not a dict");
        for (std::size_t i = 0; i < items.size(); i += 2) dict_set(dict, items[i], items[i + 1]);
        return;
      }
      case op::ADDITEMS: {
        std::vector<Value> items = pop_mark();
        const Value& set = top_container(Kind::Set, "ADDITEMS on something that is not a set");
        Node& node = node_of(set);
        for (const auto& item : items) {
          add_member(node, item);
        }
        return;
      }

      case op::PUT: memo_put(text_index(read_line())); return;
      case op::BINPUT: memo_put(read_le(1)); return;
      case op::LONG_BINPUT: memo_put(read_le(4)); return;
      case op::MEMOIZE: memo_put(memo_.size()); return;
      case op::GET: memo_get(text_index(read_line())); return;
      case op::BINGET: memo_get(read_le(1)); return;
      case op::LONG_BINGET: memo_get(read_le(4)); return;

      case op::GLOBAL: {
        const std::string_view module = read_line();
        const std::string_view name = read_line();
        push(Slot{Value{}, find_global(module, name)});
        return;
      }
      case op::STACK_GLOBAL: {
        const Value name = pop_value();
        const Value module = pop_value();
        if (!name.is(Kind::Str) || !module.is(Kind::Str)) fail("STACK_GLOBAL requires str");
        push(Slot{Value{}, find_global(ValueAccess::leaf(module), ValueAccess::leaf(name))});
        return;
      }
      case op::REDUCE: load_reduce(); return;

      case op::STRING: push(load_string()); return;
      case op::READONLY_BUFFER: {
        // CPython wraps a writable buffer in a read-only memoryview and leaves a read-only
        // one (bytes) as it is. A memoryview is not in the data model.
        const Slot& slot = top();
        if (slot.callable == Callable::None && slot.value.is(Kind::Bytes)) return;
        if (slot.callable == Callable::None && slot.value.is(Kind::ByteArray)) {
          refuse("READONLY_BUFFER of a bytearray (CPython makes a memoryview)");
        }
        fail_as<TypeError>(std::string("memoryview: a bytes-like object is required, not '") +
                           std::string(slot.callable == Callable::None ? kind_name(slot.value.kind()) : "type") + "'");
      }
      case op::NEWOBJ: {
        const Value args = pop_value();
        const Slot cls = pop_slot();
        if (cls.callable != Callable::DupFdClass || !args.is(Kind::Tuple) || args.size() != 0)
          refuse("NEWOBJ of anything but multiprocessing.resource_sharer.DupFd()");
        push(Slot{Value{}, Callable::DupFd});
        return;
      }
      case op::BUILD: load_dupfd_state(); return;
      case op::INST:
      case op::OBJ:
      case op::NEWOBJ_EX:
      case op::PERSID:
      case op::BINPERSID:
      case op::EXT1:
      case op::EXT2:
      case op::EXT4:
      case op::NEXT_BUFFER: refuse("opcode " + std::string(op::name(opcode_)));
      default: fail("invalid load key, '" + printable(std::string_view(&opcode_, 1)) + "'");
    }
  }

  // ---- the final nesting check (exact, without recursion)

  void check_depth(const Value& root) const {
    if (!root.is_container()) return;
    // Longest chain of containers, ignoring edges back into the current path (cycles).
    std::unordered_map<const Node*, std::uint32_t> height;  // finished nodes
    std::unordered_set<const Node*> on_path;
    struct Visit {
      const Node* node;
      std::size_t next;
      std::uint32_t best;
    };
    std::vector<Visit> path;
    const auto child_at = [](const Node& node, std::size_t index) -> const Value* {
      if (node.kind == Kind::Dict) {
        if (index / 2 >= node.entries.size()) return nullptr;
        const auto& entry = node.entries[index / 2];
        return index % 2 == 0 ? &entry.first : &entry.second;
      }
      return index < node.items.size() ? &node.items[index] : nullptr;
    };
    path.push_back({&ValueAccess::node(root), 0, 1});
    on_path.insert(path.back().node);
    while (!path.empty()) {
      Visit& visit = path.back();
      const Value* child = child_at(*visit.node, visit.next);
      if (child == nullptr) {
        const Visit done = visit;
        path.pop_back();
        on_path.erase(done.node);
        height[done.node] = done.best;
        if (!path.empty()) path.back().best = std::max(path.back().best, done.best + 1);
        continue;
      }
      ++visit.next;
      if (!child->is_container()) continue;
      const Node* node = &ValueAccess::node(*child);
      if (on_path.contains(node)) continue;
      if (const auto it = height.find(node); it != height.end()) {
        visit.best = std::max(visit.best, it->second + 1);
        if (visit.best > limits_.max_depth) too_deep();
        continue;
      }
      if (path.size() >= limits_.max_depth) too_deep();
      path.push_back({node, 0, 1});  // invalidates `visit`
      on_path.insert(node);
    }
  }

  [[noreturn]] void too_deep() const {
    throw UnpicklingError("nesting deeper than " + std::to_string(limits_.max_depth) + " containers in the result");
  }

  std::string_view data_;
  const Limits& limits_;
  std::shared_ptr<Arena> arena_;
  std::size_t pos_ = 0;
  std::size_t opcode_offset_ = 0;
  char opcode_ = '\0';
  std::vector<Slot> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Slot> memo_;
  std::unordered_set<const void*> pending_dupfds_;  // received descriptors not rebuilt yet
  std::size_t objects_ = 0;
  detail::KeyClasses keys_;
};

}  // namespace

Value loads(std::string_view data, const Limits& limits) {
  if (auto scalar = fast::load_scalar(data)) return std::move(*scalar);
  return Unpickler(data, limits).run();
}

}  // namespace mpc::pickle
