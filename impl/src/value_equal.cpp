// Structural equality (spec/values.md#equality), without recursion on the C++ stack for lists,
// tuples and dict values; sets and dict keys are matched through hashing.
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "mpc/errors.hpp"
#include "mpc/value.hpp"
#include "value_impl.hpp"

namespace mpc {
namespace {

using detail::Node;
using detail::ValueAccess;

// Nesting of set/frozenset members and dict keys compared out of order (each level is a
// nested comparison). Python's own limit for == on nested objects is similar.
constexpr int kMaxUnorderedNesting = 200;
constexpr int kHashDepth = 3;

std::uint64_t float_bits(double value) noexcept { return std::bit_cast<std::uint64_t>(value); }

bool leaf_equal(const Value& a, const Value& b, const EqualOptions& options) {
  switch (a.kind()) {
    case Kind::None:
    case Kind::Unpicklable: return true;
    case Kind::Bool: return ValueAccess::boolean(a) == ValueAccess::boolean(b);
    case Kind::Int: {
      const BigInt* big_a = ValueAccess::big(a);
      const BigInt* big_b = ValueAccess::big(b);
      if (big_a == nullptr && big_b == nullptr) {
        return ValueAccess::small(a) == ValueAccess::small(b);
      }
      // Big ints are only stored when they do not fit int64, so mixed means different.
      return big_a != nullptr && big_b != nullptr && *big_a == *big_b;
    }
    case Kind::Float: {
      const double x = ValueAccess::floating(a);
      const double y = ValueAccess::floating(b);
      if (std::isnan(x) || std::isnan(y)) {
        return options.nan_equals_nan && std::isnan(x) && std::isnan(y);
      }
      return float_bits(x) == float_bits(y);
    }
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray: return ValueAccess::leaf(a) == ValueAccess::leaf(b);
    case Kind::Connection: return a.is_same(b);  // Python's default ==: identity
    default: return false;                       // containers are not leaves
  }
}

// A hash consistent with equal(): equal values hash equal.
std::size_t structural_hash(const Value& v, int depth) {
  const auto mix = [](std::size_t h, std::size_t x) { return (h ^ x) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL; };
  std::size_t h = static_cast<std::size_t>(v.kind()) * 0x9e3779b97f4a7c15ULL;
  switch (v.kind()) {
    case Kind::None:
    case Kind::Unpicklable: return h;
    case Kind::Connection: return mix(h, reinterpret_cast<std::uintptr_t>(v.identity()));
    case Kind::Bool: return mix(h, ValueAccess::boolean(v) ? 1 : 0);
    case Kind::Int:
      if (const BigInt* big = ValueAccess::big(v)) return mix(h, big->hash());
      return mix(h, static_cast<std::size_t>(ValueAccess::small(v)));
    case Kind::Float: {
      const double x = ValueAccess::floating(v);
      return mix(h, std::isnan(x) ? 0x7ff8 : float_bits(x));
    }
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray: return mix(h, std::hash<std::string_view>{}(ValueAccess::leaf(v)));
    default: break;
  }
  const Node& node = ValueAccess::node(v);
  const std::size_t size = v.kind() == Kind::Dict ? node.entries.size() : node.items.size();
  h = mix(h, size);
  if (depth <= 0 || v.kind() == Kind::Dict) return h;
  if (v.kind() == Kind::List || v.kind() == Kind::Tuple) {
    for (const auto& item : node.items) h = mix(h, structural_hash(item, depth - 1));
    return h;
  }
  std::size_t sum = 0;  // sets: independent of member order
  for (const auto& item : node.items) sum += structural_hash(item, depth - 1);
  return mix(h, sum);
}

struct PairHash {
  std::size_t operator()(const std::pair<const Node*, const Node*>& p) const noexcept {
    return std::hash<const void*>{}(p.first) * 31 + std::hash<const void*>{}(p.second);
  }
};

class Comparer {
 public:
  Comparer(const EqualOptions& options, int nesting) : options_(options), nesting_(nesting) {
    if (nesting_ > kMaxUnorderedNesting) {
      throw RecursionError("maximum recursion depth exceeded in comparison");
    }
  }

  bool run(const Value& a, const Value& b) {
    work_.emplace_back(&a, &b);
    while (!work_.empty()) {
      const auto [x, y] = work_.back();
      work_.pop_back();
      if (!step(*x, *y)) return false;
    }
    return true;
  }

 private:
  bool step(const Value& x, const Value& y) {
    if (x.kind() != y.kind()) return false;
    if (!x.is_container()) return leaf_equal(x, y, options_);
    const Node& nx = ValueAccess::node(x);
    const Node& ny = ValueAccess::node(y);
    if (&nx == &ny) return true;
    // Coinduction: a pair already under comparison is assumed equal.
    if (!assumed_.emplace(&nx, &ny).second) return true;
    switch (x.kind()) {
      case Kind::List:
      case Kind::Tuple:
        if (nx.items.size() != ny.items.size()) return false;
        for (std::size_t i = nx.items.size(); i-- > 0;) {
          work_.emplace_back(&nx.items[i], &ny.items[i]);
        }
        return true;
      case Kind::Set:
      case Kind::FrozenSet:
        return match(
            nx.items, ny.items, [](const Value& v) -> const Value& { return v; }, nullptr);
      case Kind::Dict:
        return match(
            nx.entries, ny.entries, [](const std::pair<Value, Value>& e) -> const Value& { return e.first; },
            [this](const std::pair<Value, Value>& ea, const std::pair<Value, Value>& eb) {
              work_.emplace_back(&ea.second, &eb.second);
            });
      default: return false;
    }
  }

  bool nested_equal(const Value& a, const Value& b) {
    if (a.kind() != b.kind()) return false;
    if (!a.is_container()) return leaf_equal(a, b, options_);
    return Comparer(options_, nesting_ + 1).run(a, b);
  }

  // Pairs every element of `as` with an unused equal element of `bs` (keys for dicts).
  template <typename T, typename KeyOf, typename OnPair>
  bool match(const std::vector<T>& as, const std::vector<T>& bs, KeyOf key_of, OnPair on_pair) {
    if (as.size() != bs.size()) return false;
    std::vector<bool> used(bs.size(), false);
    std::unordered_multimap<std::size_t, std::size_t> buckets;
    bool bucketed = false;
    for (std::size_t i = 0; i < as.size(); ++i) {
      const Value& ka = key_of(as[i]);
      std::size_t found = bs.size();
      if (!used[i] && nested_equal(ka, key_of(bs[i]))) {
        found = i;
      } else {
        if (!bucketed) {
          for (std::size_t j = 0; j < bs.size(); ++j) {
            buckets.emplace(structural_hash(key_of(bs[j]), kHashDepth), j);
          }
          bucketed = true;
        }
        const auto [first, last] = buckets.equal_range(structural_hash(ka, kHashDepth));
        for (auto it = first; it != last; ++it) {
          if (!used[it->second] && nested_equal(ka, key_of(bs[it->second]))) {
            found = it->second;
            break;
          }
        }
      }
      if (found == bs.size()) return false;
      used[found] = true;
      if constexpr (!std::is_same_v<OnPair, std::nullptr_t>) on_pair(as[i], bs[found]);
    }
    return true;
  }

  const EqualOptions& options_;
  int nesting_;
  std::vector<std::pair<const Value*, const Value*>> work_;
  std::unordered_set<std::pair<const Node*, const Node*>, PairHash> assumed_;
};

}  // namespace

bool equal(const Value& a, const Value& b, EqualOptions options) { return Comparer(options, 0).run(a, b); }

}  // namespace mpc
