// Private: the representation behind mpc::Value, for value*.cpp and pickle*.cpp only.
//
// Leaves (str, bytes, bytearray) and big ints are reference-counted objects that hold no other
// values, so they can never be part of a cycle. Containers are Nodes owned by an Arena; an edge
// from a node to a container node is a Value whose owner_ is null (it does not own). A handle
// outside the graph owns the arena, which owns every node reachable from it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mpc/value.hpp"

namespace mpc::detail {

struct Leaf {
  std::string data;
};

struct Node {
  explicit Node(Kind k) : kind(k) {}
  Kind kind;
  std::vector<Value> items;                      // list, tuple, set, frozenset
  std::vector<std::pair<Value, Value>> entries;  // dict
};

// Union-find over arenas: a merged arena forwards to (and keeps alive) the one that took its
// nodes. Only a root owns nodes.
struct Arena {
  std::shared_ptr<Arena> parent;
  std::vector<std::unique_ptr<Node>> nodes;
};

struct ValueAccess {
  static const Node& node(const Value& v) noexcept { return *static_cast<const Node*>(v.object_); }
  static Node& mutable_node(const Value& v) noexcept { return *static_cast<Node*>(v.object_); }
  static const std::string& leaf(const Value& v) noexcept { return static_cast<const Leaf*>(v.object_)->data; }
  static const BigInt* big(const Value& v) noexcept {
    return v.kind_ == Kind::Int && v.object_ != nullptr ? static_cast<const BigInt*>(v.object_) : nullptr;
  }
  static std::int64_t small(const Value& v) noexcept { return v.scalar_.integer; }
  static double floating(const Value& v) noexcept { return v.scalar_.floating; }
  static bool boolean(const Value& v) noexcept { return v.scalar_.boolean; }

  // A leaf value with this content: the canonical object for the contents CPython always
  // shares ('' and one code point below 256 for str, b'' for bytes), else a new one.
  static Value make_leaf(Kind kind, std::string data);

  // For the unpickler, which builds one graph in one private arena without locking.
  static std::shared_ptr<Arena> new_arena();
  // A new empty container in `arena`, as an internal (non-owning) value.
  static Value new_node(Arena& arena, Kind kind);
  // The internal form of v (non-owning when a container). The caller guarantees v's node
  // lives in the arena that will hold the edge.
  static Value internal(const Value& v);
  // An owning handle for an internal value of `arena`.
  static Value owned(const Value& internal, const std::shared_ptr<Arena>& arena);
};

}  // namespace mpc::detail
