#include "mpc/value.hpp"

#include <array>
#include <mutex>

#include "mpc/errors.hpp"
#include "value_impl.hpp"

namespace mpc {

using detail::Arena;
using detail::Leaf;
using detail::Node;
using detail::ValueAccess;

namespace {

// Guards arena parent links and root node lists while graphs are merged.
std::mutex& arena_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<Arena> shared_root(const std::shared_ptr<Arena>& arena) {
  std::shared_ptr<Arena> current = arena;
  while (current->parent) current = current->parent;
  return current;
}

struct Canonical {
  std::shared_ptr<Leaf> empty_str = std::make_shared<Leaf>();
  std::shared_ptr<Leaf> empty_bytes = std::make_shared<Leaf>();
  std::array<std::shared_ptr<Leaf>, 256> latin1{};
  Canonical() {
    for (unsigned cp = 0; cp < 256; ++cp) {
      std::string utf8;
      if (cp < 0x80) {
        utf8.push_back(static_cast<char>(cp));
      } else {
        utf8.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        utf8.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      }
      latin1[cp] = std::make_shared<Leaf>(Leaf{std::move(utf8)});
    }
  }
};

const Canonical& canonical() {
  static const Canonical instance;
  return instance;
}

// The code point of a one-code-point UTF-8 string below 256, else -1.
int single_latin1(const std::string& utf8) noexcept {
  if (utf8.size() == 1 && static_cast<unsigned char>(utf8[0]) < 0x80) {
    return static_cast<unsigned char>(utf8[0]);
  }
  if (utf8.size() == 2) {
    const auto lead = static_cast<unsigned char>(utf8[0]);
    const auto trail = static_cast<unsigned char>(utf8[1]);
    if ((lead == 0xc2 || lead == 0xc3) && (trail & 0xc0) == 0x80) {
      return ((lead & 0x1f) << 6) | (trail & 0x3f);
    }
  }
  return -1;
}

[[noreturn]] void wrong_kind(const char* what, Kind kind) {
  throw TypeError(std::string(what) + " of a '" + std::string(kind_name(kind)) + "' value");
}

bool is_sequence_kind(Kind kind) noexcept {
  return kind == Kind::List || kind == Kind::Tuple || kind == Kind::Set || kind == Kind::FrozenSet;
}

}  // namespace

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::ByteArray: return "bytearray";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::FrozenSet: return "frozenset";
    case Kind::Unpicklable: return "unpicklable";
    case Kind::Connection: return "Connection";
  }
  return "?";
}

// ---- ValueAccess

Value ValueAccess::make_leaf(Kind kind, std::string data) {
  Value v;
  v.kind_ = kind;
  std::shared_ptr<Leaf> leaf;
  if (kind == Kind::Str) {
    if (data.empty()) {
      leaf = canonical().empty_str;
    } else if (const int cp = single_latin1(data); cp >= 0) {
      leaf = canonical().latin1[static_cast<std::size_t>(cp)];
    }
  } else if (kind == Kind::Bytes && data.empty()) {
    leaf = canonical().empty_bytes;
  }
  if (!leaf) leaf = std::make_shared<Leaf>(Leaf{std::move(data)});
  v.object_ = leaf.get();
  v.owner_ = std::move(leaf);
  return v;
}

std::shared_ptr<Arena> ValueAccess::new_arena() { return std::make_shared<Arena>(); }

Value ValueAccess::new_node(Arena& arena, Kind kind) {
  auto node = std::make_unique<Node>(kind);
  Value v;
  v.kind_ = kind;
  v.object_ = node.get();
  arena.nodes.push_back(std::move(node));
  return v;
}

Value ValueAccess::internal(const Value& v) {
  if (!v.is_container()) return v;
  Value edge;
  edge.kind_ = v.kind_;
  edge.object_ = v.object_;
  return edge;
}

Value ValueAccess::owned(const Value& internal, const std::shared_ptr<Arena>& arena) {
  Value v = internal;
  if (v.is_container()) v.owner_ = arena;
  return v;
}

// ---- construction

Value Value::boolean(bool value) noexcept {
  Value v;
  v.kind_ = Kind::Bool;
  v.scalar_.boolean = value;
  return v;
}

Value Value::integer(std::int64_t value) noexcept {
  Value v;
  v.kind_ = Kind::Int;
  v.scalar_.integer = value;
  return v;
}

Value Value::integer(const BigInt& value) {
  if (const auto small = value.to_int64()) return integer(*small);
  Value v;
  v.kind_ = Kind::Int;
  auto big = std::make_shared<const BigInt>(value);
  v.object_ = const_cast<BigInt*>(big.get());
  v.owner_ = std::const_pointer_cast<BigInt>(std::move(big));
  return v;
}

Value Value::floating(double value) noexcept {
  Value v;
  v.kind_ = Kind::Float;
  v.scalar_.floating = value;
  return v;
}

Value Value::str(std::string utf8) { return ValueAccess::make_leaf(Kind::Str, std::move(utf8)); }
Value Value::bytes(std::string data) { return ValueAccess::make_leaf(Kind::Bytes, std::move(data)); }
Value Value::bytearray(std::string data) { return ValueAccess::make_leaf(Kind::ByteArray, std::move(data)); }

namespace {

Value make_container(Kind kind) {
  auto arena = ValueAccess::new_arena();
  return ValueAccess::owned(ValueAccess::new_node(*arena, kind), arena);
}

}  // namespace

Value Value::list(std::vector<Value> items) {
  Value v = make_container(Kind::List);
  for (const auto& item : items) v.append(item);
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v = make_container(Kind::Tuple);
  for (const auto& item : items) v.append(item);
  return v;
}

Value Value::set(std::vector<Value> members) {
  Value v = make_container(Kind::Set);
  for (const auto& item : members) v.append(item);
  return v;
}

Value Value::frozenset(std::vector<Value> members) {
  Value v = make_container(Kind::FrozenSet);
  for (const auto& item : members) v.append(item);
  return v;
}

Value Value::dict(std::vector<std::pair<Value, Value>> items) {
  Value v = make_container(Kind::Dict);
  for (const auto& [key, value] : items) v.add(key, value);
  return v;
}

Value Value::unpicklable() {
  Value v;
  v.kind_ = Kind::Unpicklable;
  return v;
}

Value Value::connection(std::shared_ptr<Connection> connection) {
  if (!connection) throw ValueError("Value::connection of a null Connection");
  Value v;
  v.kind_ = Kind::Connection;
  v.object_ = connection.get();
  v.owner_ = std::move(connection);
  return v;
}

std::shared_ptr<Connection> Value::as_connection() const {
  if (kind_ != Kind::Connection) wrong_kind("as_connection", kind_);
  return std::static_pointer_cast<Connection>(owner_);
}

// ---- inspection

bool Value::is_container() const noexcept {
  return kind_ == Kind::List || kind_ == Kind::Tuple || kind_ == Kind::Dict || kind_ == Kind::Set ||
         kind_ == Kind::FrozenSet;
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind("as_bool", kind_);
  return scalar_.boolean;
}

BigInt Value::as_int() const {
  if (kind_ != Kind::Int) wrong_kind("as_int", kind_);
  if (object_ != nullptr) return *static_cast<const BigInt*>(object_);
  return BigInt(scalar_.integer);
}

std::optional<std::int64_t> Value::to_int64() const {
  if (kind_ != Kind::Int) wrong_kind("to_int64", kind_);
  if (object_ != nullptr) return std::nullopt;  // big ints are kept only when they do not fit
  return scalar_.integer;
}

double Value::as_float() const {
  if (kind_ != Kind::Float) wrong_kind("as_float", kind_);
  return scalar_.floating;
}

std::string_view Value::data() const {
  if (kind_ != Kind::Str && kind_ != Kind::Bytes && kind_ != Kind::ByteArray) {
    wrong_kind("data", kind_);
  }
  return ValueAccess::leaf(*this);
}

std::size_t Value::size() const {
  if (!is_container()) wrong_kind("size", kind_);
  const auto& node = ValueAccess::node(*this);
  return kind_ == Kind::Dict ? node.entries.size() : node.items.size();
}

Value Value::at(std::size_t index) const {
  if (!is_sequence_kind(kind_)) wrong_kind("at", kind_);
  const auto& items = ValueAccess::node(*this).items;
  if (index >= items.size()) throw ValueError("index out of range");
  Value item = items[index];
  if (item.is_container()) item.owner_ = owner_;
  return item;
}

Value Value::key(std::size_t index) const {
  if (kind_ != Kind::Dict) wrong_kind("key", kind_);
  const auto& entries = ValueAccess::node(*this).entries;
  if (index >= entries.size()) throw ValueError("index out of range");
  Value item = entries[index].first;
  if (item.is_container()) item.owner_ = owner_;
  return item;
}

Value Value::value(std::size_t index) const {
  if (kind_ != Kind::Dict) wrong_kind("value", kind_);
  const auto& entries = ValueAccess::node(*this).entries;
  if (index >= entries.size()) throw ValueError("index out of range");
  Value item = entries[index].second;
  if (item.is_container()) item.owner_ = owner_;
  return item;
}

// ---- mutation

namespace {

// Makes `item`'s node live in the same root arena as the container `self`, merging the smaller
// arena into the larger. Returns the internal edge to store.
Value adopt(const std::shared_ptr<void>& self_owner, const Value& item, const std::shared_ptr<void>& item_owner) {
  if (!item.is_container()) return item;
  if (!self_owner || !item_owner) {
    throw ValueError("a container value without an owning handle cannot be linked");
  }
  const std::lock_guard lock(arena_mutex());
  auto self_arena = shared_root(std::static_pointer_cast<Arena>(self_owner));
  auto item_arena = shared_root(std::static_pointer_cast<Arena>(item_owner));
  if (self_arena != item_arena) {
    auto& big = self_arena->nodes.size() >= item_arena->nodes.size() ? self_arena : item_arena;
    auto& small = &big == &self_arena ? item_arena : self_arena;
    for (auto& node : small->nodes) big->nodes.push_back(std::move(node));
    small->nodes.clear();
    small->nodes.shrink_to_fit();
    small->parent = big;
  }
  return ValueAccess::internal(item);
}

}  // namespace

void Value::append(const Value& item) {
  if (!is_sequence_kind(kind_)) wrong_kind("append", kind_);
  Value edge = adopt(owner_, item, item.owner_);
  ValueAccess::mutable_node(*this).items.push_back(std::move(edge));
}

void Value::set_item(std::size_t index, const Value& item) {
  if (!is_sequence_kind(kind_)) wrong_kind("set_item", kind_);
  auto& items = ValueAccess::mutable_node(*this).items;
  if (index >= items.size()) throw ValueError("index out of range");
  items[index] = adopt(owner_, item, item.owner_);
}

void Value::add(const Value& key, const Value& value) {
  if (kind_ != Kind::Dict) wrong_kind("add", kind_);
  Value key_edge = adopt(owner_, key, key.owner_);
  Value value_edge = adopt(owner_, value, value.owner_);
  ValueAccess::mutable_node(*this).entries.emplace_back(std::move(key_edge), std::move(value_edge));
}

void Value::assign_data(std::string data) {
  if (kind_ != Kind::ByteArray) wrong_kind("assign_data", kind_);
  static_cast<Leaf*>(object_)->data = std::move(data);
}

// ---- identity

const void* Value::identity() const noexcept {
  switch (kind_) {
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray:
    case Kind::List:
    case Kind::Tuple:
    case Kind::Dict:
    case Kind::Set:
    case Kind::FrozenSet:
    case Kind::Connection: return object_;
    default: return nullptr;
  }
}

bool Value::is_same(const Value& other) const noexcept {
  if (kind_ != other.kind_) return false;
  if (const void* id = identity()) return id == other.identity();
  // Plain values: Python would not promise identity; the same value is the best answer.
  switch (kind_) {
    case Kind::None:
    case Kind::Unpicklable: return true;
    case Kind::Bool: return scalar_.boolean == other.scalar_.boolean;
    case Kind::Float: return scalar_.floating == other.scalar_.floating;
    default: return object_ == other.object_ && scalar_.integer == other.scalar_.integer;
  }
}

}  // namespace mpc
