// pickle.dumps: the byte-exact encoder. It follows the order of writes of CPython's C pickler
// (Modules/_pickle.c): the memo, the framing rules and the reduce forms used for set,
// frozenset, bytes and bytearray in low protocols, including the temporary objects those forms
// create (their memo indices shift everything after them). Nested values are saved from an
// explicit stack of frames, never by recursion.
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

#include "mpc/connection.hpp"
#include "mpc/pickle.hpp"
#include "mpc/resource_sharer.hpp"
#include "pickle_opcodes.hpp"
#include "pickle_scalar.hpp"
#include "value_impl.hpp"
#include "value_text.hpp"

namespace mpc::pickle {
namespace {

using detail::Node;
using detail::ValueAccess;

constexpr std::size_t kFrameSizeTarget = 64 * 1024;
constexpr std::size_t kFrameSizeMin = 4;
constexpr std::size_t kFrameHeaderSize = 9;
constexpr std::size_t kBatchSize = 1000;
constexpr std::size_t kMaxStrDigits = 4300;
constexpr std::size_t kNoFrame = static_cast<std::size_t>(-1);

std::string le_bytes(std::uint64_t value, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// The opcode and length that come before a bytes object's data at protocol `proto`.
std::string binbytes_header(std::size_t size, int proto) {
  if (size <= 0xff) return {op::SHORT_BINBYTES, static_cast<char>(size)};
  if (size <= 0xffffffffULL) return std::string(1, op::BINBYTES) + le_bytes(size, 4);
  if (proto >= 4) return std::string(1, op::BINBYTES8) + le_bytes(size, 8);
  throw PicklingError("cannot serialize a bytes object larger than 4 GiB");
}

// The output buffer with protocol 4 framing, as _Pickler_Write/_Pickler_CommitFrame do it.
class Output {
 public:
  Output() = default;
  // Starts from a caller's buffer: its contents go, its capacity stays (dumps_into()).
  explicit Output(std::string&& buffer) : out_(std::move(buffer)) { out_.clear(); }

  void write(std::string_view data) {
    if (framing_ && frame_start_ == kNoFrame) {
      frame_start_ = out_.size();
      out_.append(kFrameHeaderSize, '\xfe');
    }
    out_.append(data);
  }
  void write(char c) { write(std::string_view(&c, 1)); }

  void start_framing() { framing_ = true; }

  void commit_frame() {
    if (!framing_ || frame_start_ == kNoFrame) return;
    const std::size_t length = out_.size() - frame_start_ - kFrameHeaderSize;
    if (length >= kFrameSizeMin) {
      out_[frame_start_] = op::FRAME;
      out_.replace(frame_start_ + 1, 8, le_bytes(length, 8));
    } else {
      out_.erase(frame_start_, kFrameHeaderSize);
    }
    frame_start_ = kNoFrame;
  }

  // Called where CPython's save() starts: a frame that reached the target is closed.
  void opcode_boundary() {
    if (!framing_ || frame_start_ == kNoFrame) return;
    if (out_.size() - frame_start_ - kFrameHeaderSize >= kFrameSizeTarget) commit_frame();
  }

  // A header and a payload; a payload of 64 KiB or more goes outside any frame.
  void write_bytes(std::string_view header, std::string_view payload) {
    if (payload.size() < kFrameSizeTarget) {
      write(header);
      write(payload);
      return;
    }
    // Room for the payload and what usually follows it (STOP, a memo opcode) at once: geometric
    // growth would allocate, and copy, a large payload twice.
    const std::size_t wanted = out_.size() + header.size() + payload.size() + 64;
    if (out_.capacity() < wanted) out_.reserve(wanted);
    commit_frame();
    const bool framing = framing_;
    framing_ = false;
    write(header);
    write(payload);
    framing_ = framing;
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  bool framing_ = false;
  std::size_t frame_start_ = kNoFrame;
};

enum class Global : std::uint8_t { Set, FrozenSet, ByteArray, Bytes, CodecsEncode, RebuildConnection, DupFd };

enum class FrameKind : std::uint8_t { List, Dict, Set, Tuple, FrozenSet, SetReduceEnd };

struct Frame {
  FrameKind kind;
  const Node* node;
  const void* id;          // the object saved (null for the temporary list of a reduce)
  bool single = false;     // list/dict: APPEND/SETITEM per item instead of batches
  bool small = false;      // tuple: TUPLE1-3 form
  bool open = false;       // a batch MARK was written
  bool pending = false;    // an item was started and is complete when the frame runs again
  std::uint8_t phase = 0;  // dict: 0 key next, 1 value next, 2 value saved
  std::size_t next = 0;
  std::size_t batch = 0;
};

class Pickler {
 public:
  explicit Pickler(int protocol, std::string&& buffer = {}) : proto_(protocol), out_(std::move(buffer)) {}

  std::string run(const Value& root) {
    if (proto_ >= 2) {
      out_.write(op::PROTO);
      out_.write(static_cast<char>(proto_));
    }
    if (proto_ >= 4) out_.start_framing();
    begin_save(root);
    while (!frames_.empty()) step();
    out_.write(op::STOP);
    out_.commit_frame();
    return out_.take();
  }

 private:
  // ---- memo

  std::optional<std::size_t> memo_lookup(const void* id) const {
    const auto it = memo_.find(id);
    if (it == memo_.end()) return std::nullopt;
    return it->second;
  }

  // Memoizes the object just written; id null for a temporary never looked up again.
  std::size_t memoize(const void* id) {
    const std::size_t index = next_memo_++;
    if (id != nullptr) memo_.emplace(id, index);
    if (proto_ >= 4) {
      out_.write(op::MEMOIZE);
    } else if (proto_ == 0) {
      out_.write(op::PUT);
      out_.write(std::to_string(index));
      out_.write('\n');
    } else if (index < 256) {
      out_.write(op::BINPUT);
      out_.write(static_cast<char>(index));
    } else {
      out_.write(op::LONG_BINPUT);
      out_.write(le_bytes(index, 4));
    }
    return index;
  }

  void write_get(std::size_t index) {
    if (proto_ == 0) {
      out_.write(op::GET);
      out_.write(std::to_string(index));
      out_.write('\n');
    } else if (index < 256) {
      out_.write(op::BINGET);
      out_.write(static_cast<char>(index));
    } else {
      out_.write(op::LONG_BINGET);
      out_.write(le_bytes(index, 4));
    }
  }

  // ---- atoms

  void write_bool(bool value) {
    if (proto_ >= 2) {
      out_.write(value ? op::NEWTRUE : op::NEWFALSE);
    } else {
      out_.write(value ? "I01\n" : "I00\n");
    }
  }

  void write_text_long(const BigInt& value) {
    if (value.decimal_digits_upper_bound() > kMaxStrDigits + 2) throw_digits();
    const std::string text = value.to_decimal();
    if (text.size() - (value.is_negative() ? 1 : 0) > kMaxStrDigits) throw_digits();
    out_.write(op::LONG);
    out_.write(text);
    out_.write("L\n");
  }

  [[noreturn]] static void throw_digits() {
    throw ValueError(
        "Exceeds the limit (4300 digits) for integer string conversion; use "
        "sys.set_int_max_str_digits() to increase the limit");
  }

  void write_long_binary(const BigInt& value) {
    const std::string bytes = value.to_signed_le();
    if (bytes.size() < 256) {
      out_.write(op::LONG1);
      out_.write(static_cast<char>(bytes.size()));
    } else {
      out_.write(op::LONG4);
      out_.write(le_bytes(bytes.size(), 4));
    }
    out_.write(bytes);
  }

  void write_int(const Value& v) {
    if (const BigInt* big = ValueAccess::big(v)) {
      if (proto_ >= 2) {
        write_long_binary(*big);
      } else {
        write_text_long(*big);
      }
      return;
    }
    const std::int64_t value = ValueAccess::small(v);
    if (value >= INT32_MIN && value <= INT32_MAX) {
      if (proto_ == 0) {
        out_.write(op::INT);
        out_.write(std::to_string(value));
        out_.write('\n');
      } else if (value >= 0 && value <= 0xff) {
        out_.write(op::BININT1);
        out_.write(static_cast<char>(value));
      } else if (value >= 0 && value <= 0xffff) {
        out_.write(op::BININT2);
        out_.write(le_bytes(static_cast<std::uint64_t>(value), 2));
      } else {
        out_.write(op::BININT);
        out_.write(le_bytes(static_cast<std::uint32_t>(static_cast<std::int32_t>(value)), 4));
      }
    } else if (proto_ >= 2) {
      write_long_binary(BigInt(value));
    } else {
      write_text_long(BigInt(value));
    }
  }

  void write_float(double value) {
    if (proto_ == 0) {
      out_.write(op::FLOAT);
      out_.write(detail::float_repr(value));
      out_.write('\n');
      return;
    }
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    std::string big_endian(8, '\0');
    for (int i = 0; i < 8; ++i)
      big_endian[static_cast<std::size_t>(i)] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
    out_.write(op::BINFLOAT);
    out_.write(big_endian);
  }

  // The text of a str (without memoizing it).
  void write_str(std::string_view utf8) {
    if (proto_ == 0) {
      out_.write(op::UNICODE);
      out_.write(raw_unicode_escape(utf8));
      out_.write('\n');
      return;
    }
    if (!detail::is_valid_utf8(utf8)) throw PicklingError("a str value is not valid UTF-8");
    std::string header;
    if (utf8.size() <= 0xff && proto_ >= 4) {
      header = {op::SHORT_BINUNICODE, static_cast<char>(utf8.size())};
    } else if (utf8.size() <= 0xffffffffULL) {
      header = std::string(1, op::BINUNICODE) + le_bytes(utf8.size(), 4);
    } else if (proto_ >= 4) {
      header = std::string(1, op::BINUNICODE8) + le_bytes(utf8.size(), 8);
    } else {
      throw PicklingError("serializing a string larger than 4 GiB requires pickle protocol 4 or higher");
    }
    out_.write_bytes(header, utf8);
  }

  static std::string raw_unicode_escape(std::string_view utf8) {
    constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(utf8.size());
    std::size_t pos = 0;
    std::uint32_t cp = 0;
    while (pos < utf8.size()) {
      if (!detail::next_code_point(utf8, pos, cp)) {
        throw PicklingError("a str value is not valid UTF-8");
      }
      const auto escape = [&](char kind, int digits) {
        out.push_back('\\');
        out.push_back(kind);
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(hex[(cp >> shift) & 0xf]);
      };
      if (cp >= 0x10000) {
        escape('U', 8);
      } else if (cp >= 256 || cp == '\\' || cp == 0 || cp == '\n' || cp == '\r' || cp == 0x1a) {
        escape('u', 4);
      } else {
        out.push_back(static_cast<char>(cp));  // latin-1, one byte
      }
    }
    return out;
  }

  // The header and data of a bytes object at protocol 3+ (without memoizing it).
  void write_binbytes(std::string_view data) { out_.write_bytes(binbytes_header(data.size(), proto_), data); }

  // ---- reduce forms

  void save_global(Global global) {
    out_.opcode_boundary();
    auto& slot = global_memo_[static_cast<std::size_t>(global)];
    if (slot) {
      write_get(*slot);
      return;
    }
    std::string_view module = proto_ >= 3 ? "builtins" : "__builtin__";
    std::string_view name;
    switch (global) {
      case Global::Set: name = "set"; break;
      case Global::FrozenSet: name = "frozenset"; break;
      case Global::ByteArray: name = "bytearray"; break;
      case Global::Bytes: name = "bytes"; break;
      case Global::CodecsEncode:
        module = "_codecs";
        name = "encode";
        break;
      case Global::RebuildConnection:
        module = "multiprocessing.connection";
        name = "rebuild_connection";
        break;
      case Global::DupFd:
        module = "multiprocessing.resource_sharer";
        name = "DupFd";
        break;
    }
    if (proto_ >= 4) {
      out_.opcode_boundary();
      write_str(module);
      memoize(nullptr);
      out_.opcode_boundary();
      write_str(name);
      memoize(nullptr);
      out_.write(op::STACK_GLOBAL);
    } else {
      out_.write(op::GLOBAL);
      out_.write(module);
      out_.write('\n');
      out_.write(name);
      out_.write('\n');
    }
    slot = memoize(nullptr);
  }

  void write_empty_tuple() {
    out_.opcode_boundary();
    if (proto_ >= 1) {
      out_.write(op::EMPTY_TUPLE);
    } else {
      out_.write(op::MARK);
      out_.write(op::TUPLE);
    }
  }

  void close_tuple(std::size_t length) {
    if (proto_ >= 2 && length <= 3) {
      constexpr std::array<char, 4> by_length = {op::EMPTY_TUPLE, op::TUPLE1, op::TUPLE2, op::TUPLE3};
      out_.write(by_length[length]);
    } else {
      out_.write(op::TUPLE);
    }
  }

  // REDUCE, then the object itself is memoized (or fetched, if saving it recursively
  // memoized it meanwhile).
  void finish_reduce(const void* id) {
    out_.write(op::REDUCE);
    if (id != nullptr) {
      if (const auto index = memo_lookup(id)) {
        out_.write(op::POP);
        write_get(*index);
        return;
      }
    }
    memoize(id);
  }

  // bytes below protocol 3: bytes() or _codecs.encode(latin-1 text, 'latin1').
  void save_bytes_reduce(std::string_view data, const void* id) {
    if (data.empty()) {
      save_global(Global::Bytes);
      write_empty_tuple();
      finish_reduce(id);
      return;
    }
    save_global(Global::CodecsEncode);
    out_.opcode_boundary();  // save(args)
    if (proto_ < 2) out_.write(op::MARK);
    // The text is a new object, except one character: CPython's shared latin-1 singleton.
    std::string text;
    for (const char c : data) detail::append_utf8(text, static_cast<unsigned char>(c));
    out_.opcode_boundary();
    if (data.size() == 1) {
      const Value singleton = Value::str(text);
      if (const auto index = memo_lookup(singleton.identity())) {
        write_get(*index);
      } else {
        write_str(text);
        memoize(singleton.identity());
      }
    } else {
      write_str(text);
      memoize(nullptr);
    }
    out_.opcode_boundary();
    if (latin1_memo_) {
      write_get(*latin1_memo_);
    } else {
      write_str("latin1");
      latin1_memo_ = memoize(nullptr);
    }
    close_tuple(2);
    memoize(nullptr);  // the argument tuple
    finish_reduce(id);
  }

  // bytearray below protocol 5: bytearray() or bytearray(bytes(contents)).
  void save_bytearray_reduce(std::string_view data, const void* id) {
    save_global(Global::ByteArray);
    if (data.empty()) {
      write_empty_tuple();
      finish_reduce(id);
      return;
    }
    out_.opcode_boundary();  // save(args)
    if (proto_ < 2) out_.write(op::MARK);
    out_.opcode_boundary();  // save(bytes(obj)): a new bytes object
    if (proto_ >= 3) {
      write_binbytes(data);
      memoize(nullptr);
    } else {
      save_bytes_reduce(data, nullptr);
    }
    close_tuple(1);
    memoize(nullptr);
    finish_reduce(id);
  }

  // set/frozenset below protocol 4: set([members...]). The list frame writes the members.
  void begin_set_reduce(const Value& v) {
    const Node& node = ValueAccess::node(v);
    save_global(v.is(Kind::Set) ? Global::Set : Global::FrozenSet);
    out_.opcode_boundary();  // save(args)
    if (proto_ < 2) out_.write(op::MARK);
    out_.opcode_boundary();  // save(list(obj)): a new list
    write_list_header();
    memoize(nullptr);
    push_active(v.identity());
    frames_.push_back(Frame{.kind = FrameKind::SetReduceEnd, .node = &node, .id = v.identity()});
    push_list_frame(node, nullptr);
  }

  // ---- containers

  void write_list_header() {
    if (proto_ >= 1) {
      out_.write(op::EMPTY_LIST);
    } else {
      out_.write(op::MARK);
      out_.write(op::LIST);
    }
  }

  void push_list_frame(const Node& node, const void* id) {
    if (node.items.empty()) return;
    frames_.push_back(
        Frame{.kind = FrameKind::List, .node = &node, .id = id, .single = proto_ == 0 || node.items.size() == 1});
  }

  void push_active(const void* id) { ++active_[id]; }
  void pop_active(const void* id) {
    if (--active_[id] == 0) active_.erase(id);
  }

  // A tuple or (frozen)set saved while already being saved, with nothing memoized in
  // between to break the cycle, would recurse for ever (CPython: RecursionError).
  void check_cycle(const void* id) const {
    if (!active_.contains(id)) return;
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      if (it->id == id &&
          (it->kind == FrameKind::Tuple || it->kind == FrameKind::FrozenSet || it->kind == FrameKind::SetReduceEnd)) {
        throw RecursionError(
            "maximum recursion depth exceeded while pickling an object: "
            "a tuple or set contains itself with no list or dict between");
      }
      const bool memoized_first =
          it->kind == FrameKind::List || it->kind == FrameKind::Dict || it->kind == FrameKind::Set;
      if (memoized_first && it->id != nullptr) {
        return;  // memoized before its items: the cycle ends in a GET
      }
    }
  }

  void begin_save(const Value& v) {
    out_.opcode_boundary();
    switch (v.kind()) {
      case Kind::None: out_.write(op::NONE); return;
      case Kind::Bool: write_bool(ValueAccess::boolean(v)); return;
      case Kind::Int: write_int(v); return;
      case Kind::Float: write_float(ValueAccess::floating(v)); return;
      case Kind::Unpicklable: throw TypeError("cannot pickle 'unpicklable' object");
      default: break;
    }
    const void* id = v.identity();
    if (const auto index = memo_lookup(id)) {
      write_get(*index);
      return;
    }
    switch (v.kind()) {
      case Kind::Connection: save_connection(*v.as_connection(), id); return;
      case Kind::Str:
        write_str(ValueAccess::leaf(v));
        memoize(id);
        return;
      case Kind::Bytes:
        if (proto_ >= 3) {
          write_binbytes(ValueAccess::leaf(v));
          memoize(id);
        } else {
          save_bytes_reduce(ValueAccess::leaf(v), id);
        }
        return;
      case Kind::ByteArray: {
        const std::string& data = ValueAccess::leaf(v);
        if (proto_ >= 5) {
          out_.write_bytes(std::string(1, op::BYTEARRAY8) + le_bytes(data.size(), 8), data);
          memoize(id);
        } else {
          save_bytearray_reduce(data, id);
        }
        return;
      }
      case Kind::List: {
        write_list_header();
        memoize(id);
        push_list_frame(ValueAccess::node(v), id);
        return;
      }
      case Kind::Dict: {
        if (proto_ >= 1) {
          out_.write(op::EMPTY_DICT);
        } else {
          out_.write(op::MARK);
          out_.write(op::DICT);
        }
        memoize(id);
        const Node& node = ValueAccess::node(v);
        if (!node.entries.empty()) {
          frames_.push_back(Frame{
              .kind = FrameKind::Dict, .node = &node, .id = id, .single = proto_ == 0 || node.entries.size() == 1});
        }
        return;
      }
      case Kind::Set: {
        check_cycle(id);
        if (proto_ < 4) return begin_set_reduce(v);
        out_.write(op::EMPTY_SET);
        memoize(id);
        const Node& node = ValueAccess::node(v);
        if (!node.items.empty()) {
          frames_.push_back(Frame{.kind = FrameKind::Set, .node = &node, .id = id});
        }
        return;
      }
      case Kind::FrozenSet: {
        check_cycle(id);
        if (proto_ < 4) return begin_set_reduce(v);
        out_.write(op::MARK);
        push_active(id);
        frames_.push_back(Frame{.kind = FrameKind::FrozenSet, .node = &ValueAccess::node(v), .id = id});
        return;
      }
      case Kind::Tuple: {
        const Node& node = ValueAccess::node(v);
        if (node.items.empty()) {
          // CPython never memoizes the empty tuple.
          if (proto_ >= 1) {
            out_.write(op::EMPTY_TUPLE);
          } else {
            out_.write(op::MARK);
            out_.write(op::TUPLE);
          }
          return;
        }
        check_cycle(id);
        const bool small = proto_ >= 2 && node.items.size() <= 3;
        if (!small) out_.write(op::MARK);
        push_active(id);
        frames_.push_back(Frame{.kind = FrameKind::Tuple, .node = &node, .id = id, .small = small});
        return;
      }
      default: return;
    }
  }

  // What ForkingPickler writes for a Connection (multiprocessing.reduction.reduce_connection):
  // rebuild_connection(DupFd(fd), readable, writable), where the DupFd is a plain object
  // (copyreg.__newobj__ and a BUILD of its __dict__ {'_id': (address, key)}). The descriptor is
  // registered with this process's resource sharer now, as CPython's reducer does.
  void save_connection(const Connection& conn, const void* id) {
    if (proto_ < 2) throw PicklingError("mpc pickles a Connection at protocol 2 or higher");
    const resource_sharer::Id shared = resource_sharer::share(conn.fileno());
    save_global(Global::RebuildConnection);
    out_.opcode_boundary();  // the argument tuple
    out_.opcode_boundary();  // the DupFd
    save_global(Global::DupFd);
    write_empty_tuple();
    out_.write(op::NEWOBJ);
    memoize(nullptr);
    out_.opcode_boundary();
    out_.write(op::EMPTY_DICT);
    memoize(nullptr);
    out_.opcode_boundary();
    if (id_key_memo_) {
      write_get(*id_key_memo_);
    } else {
      write_str("_id");
      id_key_memo_ = memoize(nullptr);
    }
    out_.opcode_boundary();  // the (address, key) tuple
    out_.opcode_boundary();
    if (const auto it = address_memo_.find(shared.address); it != address_memo_.end()) {
      write_get(it->second);
    } else {
      write_str(shared.address);
      address_memo_.emplace(shared.address, memoize(nullptr));
    }
    out_.opcode_boundary();
    write_int(Value::integer(shared.key));
    out_.write(op::TUPLE2);
    memoize(nullptr);
    out_.write(op::SETITEM);
    out_.write(op::BUILD);
    out_.opcode_boundary();
    write_bool(conn.readable());
    out_.opcode_boundary();
    write_bool(conn.writable());
    out_.write(op::TUPLE3);
    memoize(nullptr);
    out_.write(op::REDUCE);
    memoize(id);
  }

  // ---- frames

  void step() {
    Frame& frame = frames_.back();
    switch (frame.kind) {
      case FrameKind::List: return step_list(frame);
      case FrameKind::Dict: return step_dict(frame);
      case FrameKind::Set: return step_set(frame);
      case FrameKind::Tuple:
      case FrameKind::FrozenSet: return step_tuple(frame);
      case FrameKind::SetReduceEnd: {
        const void* id = frame.id;
        frames_.pop_back();
        close_tuple(1);
        memoize(nullptr);  // the argument tuple
        pop_active(id);
        finish_reduce(id);
        return;
      }
    }
  }

  // batch_list / batch_list_exact. `frame` must not be used after begin_save.
  void step_list(Frame& frame) {
    const auto& items = frame.node->items;
    if (frame.pending) {
      frame.pending = false;
      if (frame.single) {
        out_.write(op::APPEND);
      } else if (++frame.batch == kBatchSize || frame.next == items.size()) {
        out_.write(op::APPENDS);
        frame.batch = 0;
        frame.open = false;
      }
    }
    if (frame.next == items.size()) {
      frames_.pop_back();
      return;
    }
    if (!frame.single && !frame.open) {
      out_.write(op::MARK);
      frame.open = true;
    }
    frame.pending = true;
    begin_save(items[frame.next++]);
  }

  // batch_dict / batch_dict_exact. Unlike lists, CPython batches dicts with
  // do { MARK pairs SETITEMS } while the batch was full: 1000*k entries end with an empty batch.
  void step_dict(Frame& frame) {
    const auto& entries = frame.node->entries;
    if (frame.phase == 1) {
      frame.phase = 2;
      begin_save(entries[frame.next - 1].second);
      return;
    }
    if (frame.phase == 2) {
      frame.phase = 0;
      if (frame.single) {
        out_.write(op::SETITEM);
      } else if (++frame.batch == kBatchSize) {
        out_.write(op::SETITEMS);
        frame.open = false;
        return;
      }
    }
    if (!frame.single && !frame.open) {
      out_.write(op::MARK);
      frame.open = true;
      frame.batch = 0;
    }
    if (frame.next == entries.size()) {
      if (!frame.single) out_.write(op::SETITEMS);
      frames_.pop_back();
      return;
    }
    frame.phase = 1;
    begin_save(entries[frame.next++].first);
  }

  // save_set at protocol 4+: do { MARK items ADDITEMS } while the batch was full, so a set
  // of exactly 1000*k members ends with an empty batch, as CPython writes it.
  void step_set(Frame& frame) {
    const auto& items = frame.node->items;
    if (frame.pending) {
      frame.pending = false;
      if (++frame.batch == kBatchSize) {
        out_.write(op::ADDITEMS);
        frame.open = false;
        return;
      }
    }
    if (!frame.open) {
      out_.write(op::MARK);
      frame.open = true;
      frame.batch = 0;
    }
    if (frame.next < items.size()) {
      frame.pending = true;
      begin_save(items[frame.next++]);
      return;
    }
    out_.write(op::ADDITEMS);
    frames_.pop_back();
  }

  // save_tuple and save_frozenset (protocol 4+): items, then either the building opcode or,
  // when saving an item memoized the object itself, pops and a GET.
  void step_tuple(Frame& frame) {
    const auto& items = frame.node->items;
    if (frame.next < items.size()) {
      begin_save(items[frame.next++]);
      return;
    }
    const Frame done = frame;
    frames_.pop_back();
    pop_active(done.id);
    if (const auto index = memo_lookup(done.id)) {
      if (done.kind == FrameKind::FrozenSet) {
        out_.write(op::POP_MARK);
      } else if (done.small) {
        for (std::size_t i = 0; i < items.size(); ++i) out_.write(op::POP);
      } else if (proto_ >= 1) {
        out_.write(op::POP_MARK);
      } else {
        for (std::size_t i = 0; i <= items.size(); ++i) out_.write(op::POP);
      }
      write_get(*index);
      return;
    }
    if (done.kind == FrameKind::FrozenSet) {
      out_.write(op::FROZENSET);
    } else {
      close_tuple(items.size());
    }
    memoize(done.id);
  }

  int proto_;
  Output out_;
  std::vector<Frame> frames_;
  std::unordered_map<const void*, std::size_t> memo_;
  std::unordered_map<const void*, int> active_;
  std::size_t next_memo_ = 0;
  std::array<std::optional<std::size_t>, 7> global_memo_{};
  std::optional<std::size_t> id_key_memo_;                     // the '_id' of DupFd's __dict__
  std::unordered_map<std::string, std::size_t> address_memo_;  // a sharer's address, one str object
  std::optional<std::size_t> latin1_memo_;
};

}  // namespace

namespace {

int checked_protocol(int protocol) {
  if (protocol < 0) return kHighestProtocol;
  if (protocol > kHighestProtocol) {
    throw ValueError("pickle protocol must be <= " + std::to_string(kHighestProtocol));
  }
  return protocol;
}

}  // namespace

std::string dumps(const Value& value, int protocol) {
  protocol = checked_protocol(protocol);
  if (auto scalar = fast::dump_scalar(value, protocol)) return std::move(*scalar);
  return Pickler(protocol).run(value);
}

void dumps_into(std::string& out, const Value& value, int protocol) {
  protocol = checked_protocol(protocol);
  if (auto scalar = fast::dump_scalar(value, protocol)) {
    out.assign(*scalar);  // assign, not move: out keeps its capacity
    return;
  }
  out = Pickler(protocol, std::move(out)).run(value);
}

std::optional<BytesPieces> split_large_bytes(const Value& value, int protocol) {
  // What Pickler writes for a lone bytes object there: PROTO, no frame (a payload of
  // kFrameSizeTarget or more goes outside one, and nothing came before it), the header,
  // the payload, MEMOIZE, STOP. The unit tests hold this to dumps() around the boundaries.
  if (value.kind() != Kind::Bytes || (protocol != 4 && protocol != 5)) return std::nullopt;
  const std::string_view data = value.data();
  if (data.size() < kFrameSizeTarget) return std::nullopt;
  BytesPieces p;
  p.head = {op::PROTO, static_cast<char>(protocol)};
  p.head += binbytes_header(data.size(), protocol);  // BINBYTES or BINBYTES8 at this size
  p.payload = data;
  p.tail = kLargeBytesTail;
  return p;
}

std::optional<BytesLayout> large_bytes_layout(std::string_view first, std::size_t total) {
  if (first.size() < 3 || first[0] != op::PROTO || (first[1] != 4 && first[1] != 5)) return std::nullopt;
  const std::size_t width = first[2] == op::BINBYTES ? 4 : first[2] == op::BINBYTES8 ? 8 : 0;
  if (width == 0 || first.size() < 3 + width) return std::nullopt;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < width; ++i) n |= std::uint64_t{static_cast<unsigned char>(first[3 + i])} << (8 * i);
  const std::size_t offset = 3 + width;
  if (n < kFrameSizeTarget || total < offset + kLargeBytesTail.size() || n != total - offset - kLargeBytesTail.size()) {
    return std::nullopt;
  }
  return BytesLayout{offset, static_cast<std::size_t>(n)};
}

}  // namespace mpc::pickle
