#include "pickle_keys.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "mpc/errors.hpp"

namespace mpc::pickle::detail {

using mpc::detail::Node;
using mpc::detail::ValueAccess;

std::size_t KeyClasses::VectorHash::operator()(const std::vector<std::uint64_t>& ids) const noexcept {
  std::size_t h = ids.size();
  for (const auto id : ids) h = (h ^ id) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
  return h;
}

std::uint64_t KeyClasses::intern(std::unordered_map<std::string, std::uint64_t>& table, std::string key) {
  const auto [it, inserted] = table.try_emplace(std::move(key), next_);
  if (inserted) ++next_;
  return it->second;
}

namespace {

// tag + body, built by appending (GCC 12 warns falsely on "x" + std::string&&).
std::string tagged(char tag, std::string_view body) {
  std::string out(1, tag);
  out += body;
  return out;
}

}  // namespace

std::uint64_t KeyClasses::of(const Value& v) {
  switch (v.kind()) {
    case Kind::None: return 1;
    case Kind::Bool: return intern(numbers_, tagged('i', BigInt(ValueAccess::boolean(v) ? 1 : 0).to_signed_le()));
    case Kind::Int: {
      const BigInt* big = ValueAccess::big(v);
      return intern(numbers_, tagged('i', big ? big->to_signed_le() : BigInt(ValueAccess::small(v)).to_signed_le()));
    }
    case Kind::Float: {
      const double x = ValueAccess::floating(v);
      if (std::isnan(x)) return next_++;  // a NaN equals nothing, not even another NaN
      if (std::isfinite(x) && std::trunc(x) == x) {
        return intern(numbers_, tagged('i', BigInt::from_double(x).to_signed_le()));
      }
      const auto bits = std::bit_cast<std::uint64_t>(x);
      return intern(numbers_, tagged('f', std::string_view(reinterpret_cast<const char*>(&bits), sizeof bits)));
    }
    case Kind::Str: return intern(strs_, ValueAccess::leaf(v));
    case Kind::Bytes: return intern(bytes_, ValueAccess::leaf(v));
    case Kind::FrozenSet: {
      const auto it = node_classes_.find(&ValueAccess::node(v));
      return it == node_classes_.end() ? kUnhashable : it->second;
    }
    case Kind::Tuple: return tuple_class(ValueAccess::node(v));
    default: return kUnhashable;
  }
}

// Tuples nest only through tuples here (anything else is a leaf, a sealed frozenset or
// unhashable), and a tuple is complete before anything holds it, so this walk is a DAG.
std::uint64_t KeyClasses::tuple_class(const Node& root) {
  if (const auto it = node_classes_.find(&root); it != node_classes_.end()) return it->second;
  struct Pending {
    const Node* node;
    std::size_t next;
    std::vector<std::uint64_t> ids;
  };
  std::vector<Pending> stack;
  stack.push_back({&root, 0, {}});
  std::uint64_t result = kUnhashable;
  while (!stack.empty()) {
    Pending& top = stack.back();
    if (top.next < top.node->items.size()) {
      const Value& item = top.node->items[top.next];
      if (item.is(Kind::Tuple)) {
        const Node* child = &ValueAccess::node(item);
        if (const auto it = node_classes_.find(child); it != node_classes_.end()) {
          top.ids.push_back(it->second);
          ++top.next;
        } else {
          stack.push_back({child, 0, {}});
        }
        continue;
      }
      top.ids.push_back(of(item));
      ++top.next;
      continue;
    }
    const bool hashable = std::find(top.ids.begin(), top.ids.end(), kUnhashable) == top.ids.end();
    std::uint64_t id = kUnhashable;
    if (hashable) {
      const auto [it, inserted] = tuples_.try_emplace(std::move(top.ids), next_);
      if (inserted) ++next_;
      id = it->second;
    }
    node_classes_[top.node] = id;
    stack.pop_back();
    if (stack.empty()) {
      result = id;
    } else {
      stack.back().ids.push_back(id);
      ++stack.back().next;
    }
  }
  return result;
}

namespace {

[[noreturn]] void unhashable(const Value& v) {
  if (v.is(Kind::Tuple)) {
    throw TypeError("unhashable type: a tuple holding a list, dict, set or bytearray");
  }
  throw TypeError("unhashable type: '" + std::string(kind_name(v.kind())) + "'");
}

}  // namespace

void KeyClasses::dict_set(Node& dict, const Value& key, const Value& value) {
  const std::uint64_t id = of(key);
  if (id == kUnhashable) unhashable(key);
  auto& positions = members_[&dict];
  const auto [it, inserted] = positions.try_emplace(id, dict.entries.size());
  if (inserted) {
    dict.entries.emplace_back(key, value);
  } else {
    dict.entries[it->second].second = value;
  }
}

void KeyClasses::set_add(Node& set, const Value& member) {
  const std::uint64_t id = of(member);
  if (id == kUnhashable) unhashable(member);
  auto& positions = members_[&set];
  if (positions.try_emplace(id, set.items.size()).second) set.items.push_back(member);
}

void KeyClasses::seal_frozenset(const Node& frozenset) {
  std::vector<std::uint64_t> ids;
  if (const auto it = members_.find(&frozenset); it != members_.end()) {
    ids.reserve(it->second.size());
    for (const auto& [id, position] : it->second) ids.push_back(id);
    members_.erase(it);
  }
  std::sort(ids.begin(), ids.end());
  const auto [it, inserted] = frozensets_.try_emplace(std::move(ids), next_);
  if (inserted) ++next_;
  node_classes_[&frozenset] = it->second;
}

}  // namespace mpc::pickle::detail
