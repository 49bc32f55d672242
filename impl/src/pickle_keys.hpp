// Private: Python's dict-key and set-member semantics for the unpickler.
//
// Every hashable value gets an equivalence-class id so that keys that are equal in Python
// (1, 1.0 and True; equal strs; equal tuples and frozensets of equal members) share one id.
// Ids are built bottom-up, so comparing keys never recurses, however deep a key is nested.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "mpc/value.hpp"
#include "value_impl.hpp"

namespace mpc::pickle::detail {

class KeyClasses {
 public:
  static constexpr std::uint64_t kUnhashable = 0;

  // The class of v, or kUnhashable (list, dict, set, bytearray, or a tuple holding one).
  std::uint64_t of(const Value& v);

  // Adds `key` to the dict or set `container` with Python's rules: a key equal to one already
  // there keeps the old key (and, for a dict, takes the new value in its old place). Throws
  // mpc::TypeError for an unhashable key.
  void dict_set(mpc::detail::Node& container, const Value& key, const Value& value);
  void set_add(mpc::detail::Node& container, const Value& member);
  // Records a finished frozenset's class (after its members were added with set_add).
  void seal_frozenset(const mpc::detail::Node& frozenset);

 private:
  struct VectorHash {
    std::size_t operator()(const std::vector<std::uint64_t>& ids) const noexcept;
  };
  std::uint64_t intern(std::unordered_map<std::string, std::uint64_t>& table, std::string key);
  std::uint64_t tuple_class(const mpc::detail::Node& tuple);

  std::uint64_t next_ = 2;  // 1: None
  std::unordered_map<std::string, std::uint64_t> numbers_, strs_, bytes_;
  std::unordered_map<std::vector<std::uint64_t>, std::uint64_t, VectorHash> tuples_, frozensets_;
  std::unordered_map<const mpc::detail::Node*, std::uint64_t> node_classes_;
  // Per dict/set being filled: member class -> position.
  std::unordered_map<const mpc::detail::Node*, std::unordered_map<std::uint64_t, std::size_t>> members_;
};

}  // namespace mpc::pickle::detail
