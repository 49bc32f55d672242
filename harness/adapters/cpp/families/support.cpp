#include "families/support.hpp"

#include <unistd.h>

#include "families/buffers.hpp"
#include "families/connection.hpp"
#include "mpc/errors.hpp"

namespace mpconform::cpp_adapter {

using mpc::Kind;
using mpc::Value;

namespace {

// Python's name of the callable in its signature errors: the qualified name of a method
// ("SimpleQueue.put", as CPython names it from 3.10), the bare name of a module function.
std::string signature_name(std::string_view op) {
  if (op.starts_with("multiprocessing.")) return std::string(op.substr(op.rfind('.') + 1));
  return std::string(op);
}

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

std::vector<const Arg*> bind(std::string_view op, const Args& args, std::initializer_list<Param> params) {
  std::vector<Param> p(params);
  // Arguments a Python signature refuses are Python's TypeError, with CPython's message; a
  // method counts self among its positional arguments.
  const std::string name = signature_name(op);
  const std::size_t self = op.starts_with("multiprocessing.") ? 0 : 1;
  if (args.positional.size() > p.size()) {
    std::size_t required = 0;
    for (const auto& param : p) required += param.required ? 1 : 0;
    std::string takes = required == p.size()
                            ? std::to_string(p.size() + self)
                            : "from " + std::to_string(required + self) + " to " + std::to_string(p.size() + self);
    const std::size_t given = args.positional.size() + self;
    throw mpc::TypeError(name + "() takes " + takes + " positional argument" + (p.size() + self == 1 ? "" : "s") +
                         " but " + std::to_string(given) + (given == 1 ? " was" : " were") + " given");
  }
  std::vector<const Arg*> slot(p.size(), nullptr);
  for (std::size_t i = 0; i < args.positional.size(); ++i) slot[i] = &args.positional[i];
  for (const auto& [keyword, arg] : args.keyword) {
    std::size_t i = 0;
    while (i < p.size() && p[i].name != keyword) ++i;
    if (i == p.size()) throw mpc::TypeError(name + "() got an unexpected keyword argument '" + keyword + "'");
    if (slot[i]) throw mpc::TypeError(name + "() got multiple values for argument '" + keyword + "'");
    slot[i] = &arg;
  }
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].required && !slot[i]) missing.push_back("'" + std::string(p[i].name) + "'");
  if (!missing.empty()) {
    std::string names = missing[0];
    for (std::size_t i = 1; i < missing.size(); ++i) names += (i + 1 == missing.size() ? " and " : ", ") + missing[i];
    throw mpc::TypeError(name + "() missing " + plural(missing.size(), "required positional argument") + ": " + names);
  }
  return slot;
}

void no_arguments(std::string_view op, const Args& args) { (void)bind(op, args, {}); }

// ---- argument conversion ------------------------------------------------------------------------

// A value, or a value bound to a name (its Arg carries the value too).
bool is_plain(const Arg& arg) { return arg.value_form && (!arg.ref || dynamic_cast<const BoundValue*>(arg.ref.get())); }

std::string describe_arg(const Arg& arg) {
  if (!arg.value_form) return "a list of objects";
  if (arg.ref && !is_plain(arg)) return "a " + std::string(arg.ref->type_name()) + " object";
  return "a value of type " + std::string(mpc::kind_name(arg.value.kind()));
}

// What Python would pickle or compare for the argument. A bytearray object is its current
// contents; other objects have no value form in mpc's value model.
Value value_arg(const Arg& arg) {
  if (const auto* bound = dynamic_cast<const BoundValue*>(arg.ref.get())) return bound->value();
  if (is_plain(arg)) return arg.value;
  if (!arg.value_form) throw bad_request("a list of objects cannot be passed as a value to mpc");
  if (arg.ref->type_name() == "bytearray")
    return Value::bytearray(static_cast<const ByteArrayObject&>(*arg.ref).snapshot());
  // A Connection is sent as itself: mpc pickles it through its resource sharer, as CPython does.
  if (const auto* connection = dynamic_cast<const ConnectionObject*>(arg.ref.get()))
    return Value::connection(connection->shared());
  throw bad_request("a " + std::string(arg.ref->type_name()) + " object cannot be passed as a value to mpc");
}

bool flag_arg(const Arg* arg, bool absent) {
  if (!arg) return absent;
  if (is_plain(*arg)) {
    const Value& v = arg->value;
    if (v.is(Kind::Bool)) return v.as_bool();
    if (v.is(Kind::None)) return false;
    if (v.is(Kind::Int)) return !v.as_int().is_zero();
  }
  throw bad_request("expected a flag (bool), got " + describe_arg(*arg));
}

// Seconds; absent -> `absent`, None -> wait forever.
mpc::Timeout timeout_arg(const Arg* arg, mpc::Timeout absent) {
  if (!arg) return absent;
  if (is_plain(*arg)) {
    const Value& v = arg->value;
    if (v.is(Kind::None)) return std::nullopt;
    if (v.is(Kind::Float)) return v.as_float();
    if (v.is(Kind::Bool)) return v.as_bool() ? 1.0 : 0.0;
    if (v.is(Kind::Int)) {
      if (auto small = v.to_int64()) return static_cast<double>(*small);
      if (v.as_int().is_negative()) return -1.0;  // beyond int64 seconds: now, or forever
      return std::nullopt;
    }
  }
  throw bad_request("expected a timeout (number or None), got " + describe_arg(*arg));
}

std::int64_t int_arg(const Arg& arg, std::string_view name) {
  if (is_plain(arg)) {
    if (arg.value.is(Kind::Bool)) return arg.value.as_bool() ? 1 : 0;
    if (arg.value.is(Kind::Int))
      if (auto small = arg.value.to_int64()) return *small;
  }
  throw bad_request("expected " + std::string(name) + " as an integer within 64 bits, got " + describe_arg(arg));
}

std::optional<std::int64_t> optional_int_arg(const Arg* arg, std::string_view name) {
  if (!arg || (is_plain(*arg) && arg->value.is(Kind::None))) return std::nullopt;
  return int_arg(*arg, name);
}

std::size_t count_arg(const Arg& arg) {
  auto n = int_arg(arg, "count");
  return n < 0 ? 0 : static_cast<std::size_t>(n);  // Python's range(negative) is empty
}

std::vector<Value> items_arg(const Arg& arg) {
  if (is_plain(arg) && (arg.value.is(Kind::List) || arg.value.is(Kind::Tuple))) {
    std::vector<Value> items;
    items.reserve(arg.value.size());
    for (std::size_t i = 0; i < arg.value.size(); ++i) items.push_back(arg.value.at(i));
    return items;
  }
  throw bad_request("expected the items as a list, got " + describe_arg(arg));
}

// A bytes-like argument: bytes, bytearray, or a bytearray object.
std::string buffer_arg(const Arg& arg) {
  if (arg.ref && arg.ref->type_name() == "bytearray") return std::string(value_arg(arg).data());
  if (is_plain(arg) && (arg.value.is(Kind::Bytes) || arg.value.is(Kind::ByteArray)))
    return std::string(arg.value.data());
  throw bad_request("expected a bytes-like argument, got " + describe_arg(arg));
}

std::function<void()> send_pid_arg(const Arg& arg, std::string_view what) {
  auto conn = std::dynamic_pointer_cast<ConnectionObject>(arg.ref);
  if (!conn) throw bad_request(std::string(what) + " is given as a Connection, got " + describe_arg(arg));
  return [conn] { conn->connection().send(mpc::Value::integer(::getpid())); };
}

}  // namespace mpconform::cpp_adapter
