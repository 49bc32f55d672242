// The Python value model: an object graph with explicit identity and sharing.
//
// A Value is a cheap handle. None, bool, int and float are plain values (Python never memoizes
// them when pickling, so their identity does not matter). str, bytes and bytearray are shared
// immutable-by-convention leaves; list, tuple, dict, set and frozenset are container nodes.
// Copying a Value copies the handle: both copies are the same Python object (`is`).
//
// Containers live in arenas, so a list may contain itself and destroying any graph, cyclic or a
// million levels deep, is flat and leak-free: the nodes of an arena are freed together when the
// last handle into it goes. Putting a container of one arena into a container of another merges
// the two arenas. Consequence: a node stays allocated while any handle into its arena lives,
// even if it was removed from every container.
//
// Threads: handles may be copied, read and destroyed from any thread. Mutating a container
// (append/add/set) needs the same synchronization as mutating a Python list from two threads
// without the GIL; arena merging itself is internally locked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mpc/bigint.hpp"

namespace mpc {

class Connection;

enum class Kind : std::uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  Bytes,
  ByteArray,
  List,
  Tuple,
  Dict,
  Set,
  FrozenSet,
  Unpicklable,  // a marker the pickle codec refuses (spec/values.md `$unpicklable`)
  Connection,   // an mpc::Connection (pickled as CPython pickles one: through the resource sharer)
};

// Python's type name for a kind: "NoneType", "bool", "int", ..., "frozenset", "unpicklable".
[[nodiscard]] std::string_view kind_name(Kind kind) noexcept;

namespace detail {
struct ValueAccess;
}

class Value {
 public:
  Value() noexcept = default;  // None

  // ---- Construction. Each call makes a new object, except the objects CPython always shares:
  // '' and every one-code-point str below U+0100 (chr(0)..chr(255)), and b''. Those are one
  // process-wide object each, so that a graph built here shares them exactly as CPython's
  // graphs do (pickle output depends on it). For a CPython graph holding a *distinct* equal
  // one-character str (3.11/3.12 literals can be), the codec cannot reproduce the bytes.
  [[nodiscard]] static Value none() noexcept { return {}; }
  [[nodiscard]] static Value boolean(bool value) noexcept;
  [[nodiscard]] static Value integer(std::int64_t value) noexcept;
  [[nodiscard]] static Value integer(const BigInt& value);
  [[nodiscard]] static Value floating(double value) noexcept;
  // UTF-8, possibly with surrogate code points in their 3-byte form (as CPython's
  // "surrogatepass"); not validated.
  [[nodiscard]] static Value str(std::string utf8);
  [[nodiscard]] static Value bytes(std::string data);
  [[nodiscard]] static Value bytearray(std::string data);
  [[nodiscard]] static Value list(std::vector<Value> items = {});
  [[nodiscard]] static Value tuple(std::vector<Value> items = {});
  [[nodiscard]] static Value set(std::vector<Value> members = {});  // members kept as given
  [[nodiscard]] static Value frozenset(std::vector<Value> members = {});
  [[nodiscard]] static Value dict(std::vector<std::pair<Value, Value>> items = {});
  [[nodiscard]] static Value unpicklable();
  // A Connection object: the value shares it (copies of the value are the same object). Null:
  // ValueError.
  [[nodiscard]] static Value connection(std::shared_ptr<Connection> connection);

  // ---- Inspection.
  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is(Kind kind) const noexcept { return kind_ == kind; }
  [[nodiscard]] bool is_container() const noexcept;  // list, tuple, dict, set, frozenset

  // Accessors throw mpc::TypeError when the kind does not match.
  [[nodiscard]] bool as_bool() const;
  [[nodiscard]] BigInt as_int() const;                         // any int
  [[nodiscard]] std::optional<std::int64_t> to_int64() const;  // int that fits, else nullopt
  [[nodiscard]] double as_float() const;
  [[nodiscard]] std::shared_ptr<Connection> as_connection() const;
  // The bytes of a str (UTF-8), bytes or bytearray.
  [[nodiscard]] std::string_view data() const;

  // Number of items of a list, tuple, set, frozenset or dict.
  [[nodiscard]] std::size_t size() const;
  // Item i of a list, tuple, set or frozenset (in stored order).
  [[nodiscard]] Value at(std::size_t index) const;
  // Key / value of entry i of a dict (in insertion order).
  [[nodiscard]] Value key(std::size_t index) const;
  [[nodiscard]] Value value(std::size_t index) const;

  // ---- Mutation (the model does not enforce Python's immutability of tuples and
  // frozensets: a recursive tuple is built by appending to it).
  void append(const Value& item);                       // list, tuple, set, frozenset
  void set_item(std::size_t index, const Value& item);  // list, tuple, set, frozenset
  void add(const Value& key, const Value& value);       // dict: appends the pair, no key lookup
  // bytearray: replaces its contents.
  void assign_data(std::string data);

  // ---- Identity. Null for None, bool, int and float (and the unpicklable marker).
  [[nodiscard]] const void* identity() const noexcept;
  [[nodiscard]] bool is_same(const Value& other) const noexcept;

 private:
  friend struct detail::ValueAccess;

  Kind kind_ = Kind::None;
  union Scalar {
    bool boolean;
    std::int64_t integer;  // ints that fit; bigger ones live in owner_ as a BigInt
    double floating;
  } scalar_{.integer = 0};
  // Leaves: the leaf object itself. Containers: the arena the node belongs to, or null inside
  // a node (edges between nodes of one arena do not own).
  std::shared_ptr<void> owner_;
  void* object_ = nullptr;  // BigInt, leaf or container node
};

struct EqualOptions {
  bool nan_equals_nan = true;  // the spec's rule; Python's own == says false
};

// Structural equality per spec/values.md#equality: same kinds (True is not 1), ints by value,
// floats bit-for-bit except NaN (see options) and -0.0 != 0.0, str/bytes byte for byte, lists
// and tuples item by item, sets and frozensets as sets, dicts by keys in any order. Cycles are
// compared coinductively. Sharing is not compared.
[[nodiscard]] bool equal(const Value& a, const Value& b, EqualOptions options = {});

// A Python-like repr for messages: `[1, 'a', b'\x00', (2,), {...}]`; recursion prints `[...]`;
// output beyond max_chars is cut and ends with "...". An int of more than 4300 decimal digits
// (CPython's default int_max_str_digits) prints as `<int of N bits: 0x<16 hex digits>...<16>>`,
// so that repr stays linear in the size of the value (spec/values.md#repr-of-huge-ints).
[[nodiscard]] std::string repr(const Value& value, std::size_t max_chars = 4096);

}  // namespace mpc
