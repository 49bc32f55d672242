// Family "shared": Value, RawValue, Array, RawArray over mpc::SharedValue / mpc::SharedArray.
// Array's Python syntax (len(a), a[i], a[i] = v, a[start:stop], a[start:stop] = items) is offered
// as the named operations of spec/api.yaml; increment_many is the seeds' `v.value += 1` loop.
#include "families/shared.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "families/locks.hpp"
#include "families/support.hpp"
#include "mpc/bigint.hpp"
#include "mpc/errors.hpp"
#include "mpc/shared_value.hpp"
#include "mpc/sync.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

// The case's object for a synchronized object's own lock (an RLock unless given), made once, so
// that every get_lock() returns the same object, as CPython returns the same lock.
std::shared_ptr<Object> lock_object_of(const mpc::AnyLock& lock) {
  if (const mpc::RLock* r = lock.rlock()) return std::make_shared<RLockObject>(*r);
  return std::make_shared<LockObject>(*lock.lock());
}

// CPython's typecode_to_type.get(code, code), then (for an Array) `type_ * length`, then
// ctypes.sizeof: a ctypes type ({"t": "class"}, ctypes.NAME) is itself; any other class cannot be
// multiplied into an array type ("unsupported operand type(s) for *: 'type' and 'int'") and has no
// size, nor has anything but a known one-letter typecode ('z' * 3 is 'zzz').
const mpc::CType& typecode_arg(const Arg& arg, bool array) {
  if (const auto* given = dynamic_cast<const ClassObject*>(arg.ref.get())) {
    if (given->name().starts_with("ctypes.")) return *mpc::ctype_named(given->name().substr(7));
    if (array) throw mpc::TypeError("unsupported operand type(s) for *: 'type' and 'int'");
    throw mpc::TypeError("this type has no size");
  }
  if (!is_plain(arg)) throw bad_request("expected a typecode as the first argument, got " + describe_arg(arg));
  if (arg.value.is(Kind::Str) && arg.value.data().size() == 1) return mpc::ctype_of(arg.value.data()[0]);
  throw mpc::TypeError("this type has no size");
}

// sharedctypes' `lock`: `lock is False` is none; `lock in (True, None)` a new RLock; a Lock or
// RLock is used as is; anything else "X has no method 'acquire'".
mpc::LockArg lock_arg(const Arg* arg) {
  if (!arg) return true;
  if (auto* given = dynamic_cast<LockObject*>(arg->ref.get())) return given->lock();
  if (auto* given = dynamic_cast<RLockObject*>(arg->ref.get())) return given->rlock();
  if (!is_plain(*arg)) throw bad_request("expected a Lock, an RLock or a flag as `lock`, got " + describe_arg(*arg));
  const Value& v = arg->value;
  if (v.is(Kind::Bool)) return v.as_bool();
  if (v.is(Kind::None)) return true;
  if ((v.is(Kind::Int) && v.to_int64() == 1) || (v.is(Kind::Float) && v.as_float() == 1.0)) return true;
  throw mpc::AttributeError(mpc::repr(v) + " has no method 'acquire'");
}

// The object `lock` names when it is a Lock or an RLock: what get_lock() then returns.
std::shared_ptr<Object> given_lock(const Arg* arg) {
  if (arg && (dynamic_cast<LockObject*>(arg->ref.get()) || dynamic_cast<RLockObject*>(arg->ref.get()))) return arg->ref;
  return nullptr;
}

// The items Python would iterate: a list's or tuple's, a bytes' ints, a str's characters.
std::vector<Value> elements(const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Kind::List:
    case Kind::Tuple:
      for (std::size_t i = 0; i < v.size(); ++i) out.push_back(v.at(i));
      return out;
    case Kind::Bytes:
    case Kind::ByteArray:
      for (char c : v.data()) out.push_back(Value::integer(static_cast<unsigned char>(c)));
      return out;
    case Kind::Str: {
      const std::string_view s = v.data();
      for (std::size_t i = 0; i < s.size();) {
        const auto lead = static_cast<unsigned char>(s[i]);
        const std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : 4;
        out.push_back(Value::str(std::string(s.substr(i, n))));
        i += n;
      }
      return out;
    }
    default: throw mpc::TypeError("object of type '" + std::string(mpc::kind_name(v.kind())) + "' has no len()");
  }
}

std::optional<std::int64_t> slice_bound(const Arg* arg, std::string_view name) { return optional_int_arg(arg, name); }

// `v.value += 1` for the typecode's Python value.
Value plus_one(const Value& v) {
  if (v.is(Kind::Float)) return Value::floating(v.as_float() + 1.0);
  if (v.is(Kind::Bool)) return Value::integer(v.as_bool() ? 2 : 1);  // c_bool: True + 1 is 2
  if (v.is(Kind::Int)) {
    if (auto x = v.to_int64(); x && *x < std::numeric_limits<std::int64_t>::max()) return Value::integer(*x + 1);
    // At or beyond 2**63 - 1 (c_long's top, an unsigned 64-bit value): the sum as an int, which
    // the store wraps as ctypes does.
    const unsigned long long u = std::strtoull(v.as_int().to_decimal().c_str(), nullptr, 10);
    return Value::integer(mpc::BigInt::from_decimal(std::to_string(u + 1)));
  }
  if (v.is(Kind::Bytes)) throw mpc::TypeError("can't concat int to bytes");
  throw mpc::TypeError("can only concatenate str (not \"int\") to str");
}

// ---- Value, RawValue

class ValueObject final : public Object {
 public:
  ValueObject(bool raw_type, mpc::SharedValue value, std::shared_ptr<Object> lock = nullptr)
      : raw_type_(raw_type), value_(std::move(value)), lock_(std::move(lock)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return raw_type_ ? "RawValue" : "Value"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] Invocation prepare_set(const std::string& attribute, const Arg& value) override {
    if (attribute != "value") return Object::prepare_set(attribute, value);
    return [&v = value_, x = value_arg(value)] {
      v.set_value(x);
      return none();
    };
  }
  [[nodiscard]] std::optional<std::string> mpc_repr() const override { return value_.repr(); }
  [[nodiscard]] mpc::SharedValue& value() noexcept { return value_; }

  // The same objects every time, as CPython's get_lock() and get_obj() return the same objects.
  std::shared_ptr<Object> lock_object() {
    std::lock_guard hold(m_);
    if (!lock_) lock_ = lock_object_of(value_.get_lock());
    return lock_;
  }
  std::shared_ptr<Object> raw_object() {
    std::lock_guard hold(m_);
    if (!raw_) raw_ = std::make_shared<ValueObject>(true, value_.get_obj());
    return raw_;
  }

 private:
  bool raw_type_;
  mpc::SharedValue value_;
  std::mutex m_;
  std::shared_ptr<Object> lock_;  // what get_lock() returns, once asked for or given
  std::shared_ptr<Object> raw_;
};

const OpTable<ValueObject>& value_ops() {
  static const OpTable<ValueObject> ops = {
      {"value",
       [](ValueObject& self, const Args& args) -> Invocation {
         no_arguments("value", args);
         return [&v = self.value()] { return v.value(); };
       }},
      {"get_lock",
       [](ValueObject& self, const Args& args) -> Invocation {
         no_arguments("get_lock", args);
         return [&self] { return Outcome::of(self.lock_object()); };
       }},
      {"get_obj",
       [](ValueObject& self, const Args& args) -> Invocation {
         no_arguments("get_obj", args);
         return [&self] { return Outcome::of(self.raw_object()); };
       }},
      {"increment_many",
       [](ValueObject& self, const Args& args) -> Invocation {
         auto b = bind("increment_many", args, {{"count", true}, {"locked"}});
         return [&v = self.value(), count = count_arg(*b[0]), locked = flag_arg(b[1], true)] {
           for (std::size_t i = 0; i < count; ++i) {
             if (locked) {
               mpc::LockGuard hold(v.get_lock());
               v.set_value(plus_one(v.value()));
             } else {
               v.set_value(plus_one(v.value()));
             }
           }
           return none();
         };
       }},
  };
  return ops;
}

Invocation ValueObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, value_ops(), method, args);
}

// ---- Array, RawArray

class ArrayObject final : public Object {
 public:
  ArrayObject(bool raw_type, mpc::SharedArray array, std::shared_ptr<Object> lock = nullptr)
      : raw_type_(raw_type), array_(std::move(array)), lock_(std::move(lock)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return raw_type_ ? "RawArray" : "Array"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] Invocation prepare_set(const std::string& attribute, const Arg& value) override {
    if (attribute != "value" && attribute != "raw") return Object::prepare_set(attribute, value);
    const Value x = value_arg(value);
    return [&a = array_, raw = attribute == "raw", x] {
      // ctypes' c_char array setters take bytes only, a c_wchar array's value a str only.
      const bool wide = a.ctype().kind == mpc::CType::Kind::wide_char;
      const bool fits = wide ? x.is(Kind::Str) : x.is(Kind::Bytes) || x.is(Kind::ByteArray);
      if (!fits) {
        (void)(raw ? a.raw_bytes() : a.value());  // AttributeError first on an array without the attribute
        throw mpc::TypeError(std::string(wide ? "unicode string" : "bytes") + " expected instead of " +
                             std::string(mpc::kind_name(x.kind())) + " instance");
      }
      raw ? a.set_raw(x.data()) : a.set_value(x.data());
      return none();
    };
  }
  [[nodiscard]] mpc::SharedArray& array() noexcept { return array_; }

  std::shared_ptr<Object> lock_object() {
    std::lock_guard hold(m_);
    if (!lock_) lock_ = lock_object_of(array_.get_lock());
    return lock_;
  }
  std::shared_ptr<Object> raw_object() {
    std::lock_guard hold(m_);
    if (!raw_) raw_ = std::make_shared<ArrayObject>(true, array_.get_obj());
    return raw_;
  }

 private:
  bool raw_type_;
  mpc::SharedArray array_;
  std::mutex m_;
  std::shared_ptr<Object> lock_;  // what get_lock() returns, once asked for or given
  std::shared_ptr<Object> raw_;
};

std::int64_t index_arg(const Arg& arg) {
  if (is_plain(arg) && (arg.value.is(Kind::Int) || arg.value.is(Kind::Bool))) return int_arg(arg, "index");
  throw mpc::TypeError("indices must be integers");
}

// A slice of a c_char array is bytes, of a c_wchar array str (ctypes'), of any other a list.
Value joined(const mpc::SharedArray& a, std::vector<Value> items) {
  const auto kind = a.ctype().kind;
  if (kind != mpc::CType::Kind::byte_char && kind != mpc::CType::Kind::wide_char) return Value::list(std::move(items));
  std::string text;
  for (const auto& item : items) text += item.data();
  return kind == mpc::CType::Kind::byte_char ? Value::bytes(std::move(text)) : Value::str(std::move(text));
}

const OpTable<ArrayObject>& array_ops() {
  static const OpTable<ArrayObject> ops = {
      {"len",
       [](ArrayObject& self, const Args& args) -> Invocation {
         no_arguments("len", args);
         return [&a = self.array()] { return Value::integer(static_cast<std::int64_t>(a.size())); };
       }},
      {"getitem",
       [](ArrayObject& self, const Args& args) -> Invocation {
         auto b = bind("getitem", args, {{"index", true}});
         const Arg index = *b[0];
         return [&a = self.array(), index] { return a.at(index_arg(index)); };
       }},
      {"setitem",
       [](ArrayObject& self, const Args& args) -> Invocation {
         auto b = bind("setitem", args, {{"index", true}, {"value", true}});
         return [&a = self.array(), index = *b[0], x = value_arg(*b[1])] {
           a.set(index_arg(index), x);
           return none();
         };
       }},
      {"getslice",
       [](ArrayObject& self, const Args& args) -> Invocation {
         auto b = bind("getslice", args, {{"start"}, {"stop"}});
         return [&a = self.array(), start = slice_bound(b[0], "start"), stop = slice_bound(b[1], "stop")] {
           return joined(a, a.slice(start, stop));
         };
       }},
      {"setslice",
       [](ArrayObject& self, const Args& args) -> Invocation {
         auto b = bind("setslice", args, {{"start", true}, {"stop", true}, {"items", true}});
         return [&a = self.array(), start = slice_bound(b[0], "start"), stop = slice_bound(b[1], "stop"),
                 items = value_arg(*b[2])] {
           a.set_slice(start, stop, elements(items));
           return none();
         };
       }},
      {"get_lock",
       [](ArrayObject& self, const Args& args) -> Invocation {
         no_arguments("get_lock", args);
         return [&self] { return Outcome::of(self.lock_object()); };
       }},
      {"get_obj",
       [](ArrayObject& self, const Args& args) -> Invocation {
         no_arguments("get_obj", args);
         return [&self] { return Outcome::of(self.raw_object()); };
       }},
      {"value",
       [](ArrayObject& self, const Args& args) -> Invocation {
         no_arguments("value", args);
         return [&a = self.array()] {
           const bool wide = a.ctype().kind == mpc::CType::Kind::wide_char;
           return wide ? Value::str(a.value()) : Value::bytes(a.value());
         };
       }},
      {"raw",
       [](ArrayObject& self, const Args& args) -> Invocation {
         no_arguments("raw", args);
         return [&a = self.array()] { return Value::bytes(a.raw_bytes()); };
       }},
  };
  return ops;
}

Invocation ArrayObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, array_ops(), method, args);
}

// ---- construction (setup, and the multiprocessing.* functions)

// Value(typecode_or_type, *args, lock=True), RawValue(typecode_or_type, *args) and the Arrays'
// (typecode_or_type, size_or_initializer[, lock]): the arguments checked now, the object made by
// the returned function.
std::function<std::shared_ptr<Object>()> constructor(const std::string& type, const Args& args) {
  const bool raw = type == "RawValue" || type == "RawArray";
  const bool array = type == "Array" || type == "RawArray";
  // CPython 3.10+ names the context's method in signature errors (mpc follows 3.12).
  const std::string name = "BaseContext." + type + "()";
  for (const auto& [keyword, arg] : args.keyword)
    if (raw || keyword != "lock") throw mpc::TypeError(name + " got an unexpected keyword argument '" + keyword + "'");
  if (args.positional.empty())
    throw mpc::TypeError(name + " missing 1 required positional argument: 'typecode_or_type'");
  if (array && args.positional.size() == 1)
    throw mpc::TypeError(name + " missing 1 required positional argument: 'size_or_initializer'");
  if (array && args.positional.size() > 2) {
    throw mpc::TypeError(name + " takes 3 positional arguments but " + std::to_string(args.positional.size() + 1) +
                         " were given");
  }
  if (!array && args.positional.size() > 2) {
    throw mpc::TypeError("__init__ expected at most 1 argument, got " + std::to_string(args.positional.size() - 1));
  }
  const Arg typecode = args.positional[0];
  std::optional<Value> initial;
  if (args.positional.size() > 1) initial = value_arg(args.positional[1]);
  const auto lock_it = args.keyword.find("lock");
  const std::optional<Arg> lock = lock_it == args.keyword.end() ? std::nullopt : std::optional<Arg>(lock_it->second);
  return [raw, array, typecode, initial, lock]() -> std::shared_ptr<Object> {
    const mpc::CType& code = typecode_arg(typecode, array);
    // A raw type takes no lock; `lock` names the synchronized object's (lock_arg refuses others).
    const Arg* lock_given = lock ? &*lock : nullptr;
    const mpc::LockArg l = raw ? mpc::LockArg(false) : lock_arg(lock_given);
    const std::shared_ptr<Object> lock_object = raw ? nullptr : given_lock(lock_given);
    if (!array) return std::make_shared<ValueObject>(raw, mpc::SharedValue(code, initial, l), lock_object);
    if (initial->is(Kind::Int) || initial->is(Kind::Bool)) {
      const auto n = initial->is(Kind::Bool) ? std::int64_t{initial->as_bool()} : initial->to_int64();
      if (!n) throw mpc::OverflowError("cannot fit 'int' into an index-sized integer");
      return std::make_shared<ArrayObject>(raw, mpc::SharedArray(code, *n, l), lock_object);
    }
    return std::make_shared<ArrayObject>(raw, mpc::SharedArray(code, elements(*initial), l), lock_object);
  };
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Value" && type != "RawValue" && type != "Array" && type != "RawArray") return std::nullopt;
  return Created{{names.at(0), constructor(type, args)()}};
}

void list(std::vector<std::string>& out) {
  list_ops(out, "Value", value_ops());
  list_ops(out, "RawValue", value_ops());
  list_ops(out, "Array", array_ops());
  list_ops(out, "RawArray", array_ops());
}

}  // namespace

Invocation shared_constructor(const std::string& type, const Args& args) {
  return [make = constructor(type, args)] { return Outcome::of(make()); };
}

Invocation shared_copy(const Args& args) {
  auto b = bind("multiprocessing.sharedctypes.copy", args, {{"obj", true}});
  const std::shared_ptr<Object> obj = b[0]->ref;
  if (auto* v = dynamic_cast<ValueObject*>(obj.get()))
    return [&value = v->value()] { return Outcome::of(std::make_shared<ValueObject>(true, value.copy())); };
  if (auto* a = dynamic_cast<ArrayObject*>(obj.get()))
    return [&array = a->array()] { return Outcome::of(std::make_shared<ArrayObject>(true, array.copy())); };
  // Anything else: copy() asks ctypes.sizeof(type(obj)), which no other type has.
  throw mpc::TypeError("this type has no size");
}

const Family& shared_family() {
  static const Family family{{"Value", "RawValue", "Array", "RawArray"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
