// What every type family shares: Python's argument binding, the conversions of arguments to
// what mpc takes, and the operation tables each family's objects dispatch through.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpc/deadline.hpp"
#include "mpc/value.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

struct Param {
  std::string_view name;
  bool required = false;
};

// Python's binding of positional and keyword arguments to positional-or-keyword parameters.
// slot[i] is the argument for params[i], or null when it was not given.
[[nodiscard]] std::vector<const Arg*> bind(std::string_view op, const Args& args, std::initializer_list<Param> params);
void no_arguments(std::string_view op, const Args& args);

[[nodiscard]] bool is_plain(const Arg& arg);
[[nodiscard]] std::string describe_arg(const Arg& arg);
// What Python would pickle or compare for the argument. A bytearray object is its current
// contents; other objects have no value form in mpc's value model.
[[nodiscard]] mpc::Value value_arg(const Arg& arg);
[[nodiscard]] bool flag_arg(const Arg* arg, bool absent);
// Seconds; absent -> `absent`, None -> wait forever.
[[nodiscard]] mpc::Timeout timeout_arg(const Arg* arg, mpc::Timeout absent);
[[nodiscard]] std::int64_t int_arg(const Arg& arg, std::string_view name);
[[nodiscard]] std::optional<std::int64_t> optional_int_arg(const Arg* arg, std::string_view name);
[[nodiscard]] std::size_t count_arg(const Arg& arg);
[[nodiscard]] std::vector<mpc::Value> items_arg(const Arg& arg);
// A bytes-like argument: bytes, bytearray, or a bytearray object.
[[nodiscard]] std::string buffer_arg(const Arg& arg);
// A callable argument given as {$ref: CONN} (spec/case-format.md#callable-arguments): the callable
// CONN.send(os.getpid()) in the process that calls it. `what` names the parameter in the
// bad_request for anything that is not a Connection.
[[nodiscard]] std::function<void()> send_pid_arg(const Arg& arg, std::string_view what);

[[nodiscard]] inline mpc::Value none() { return mpc::Value::none(); }

template <class Self>
using Op = Invocation (*)(Self&, const Args&);

template <class Self>
using OpTable = std::map<std::string_view, Op<Self>>;

template <class Self>
Invocation dispatch(Self& self, const OpTable<Self>& table, const std::string& method, const Args& args) {
  auto it = table.find(method);
  if (it == table.end()) throw unknown_op(std::string(self.type_name()) + " has no operation '" + method + "'");
  return it->second(self, args);
}

template <class Self>
void list_ops(std::vector<std::string>& out, std::string_view type, const OpTable<Self>& table) {
  for (const auto& entry : table) out.push_back(std::string(type) + "." + std::string(entry.first));
}

// One type family (one file under families/): the setup types it makes and the operations it
// offers. objects.cpp only assembles the families.
using Created = std::vector<std::pair<std::string, std::shared_ptr<Object>>>;

struct Family {
  std::vector<std::string> types;  // the spec's type names it makes or offers (capabilities)
  // Setup: makes `type` (one of `types`) or returns nullopt when it is not this family's.
  std::optional<Created> (*create)(const std::string& type, const std::vector<std::string>& names, const Args& args);
  void (*list_ops)(std::vector<std::string>& out);
  // Setup in a context other than fork (an object's `context`); null: the family has none.
  std::optional<Created> (*create_in)(mpc::Context context, const std::string& type,
                                      const std::vector<std::string>& names, const Args& args) = nullptr;
  // In a spawned process: item `index` of what its parent shared (Object::share) as an object of
  // spec type `type`, or null when it is not this family's.
  std::shared_ptr<Object> (*receive)(const std::string& type, const mpc::SpawnArgs& args, std::size_t index) = nullptr;
};

[[nodiscard]] const Family& queues_family();
[[nodiscard]] const Family& connection_family();
[[nodiscard]] const Family& buffers_family();
[[nodiscard]] const Family& global_variable_family();
[[nodiscard]] const Family& process_family();
[[nodiscard]] const Family& shared_family();
[[nodiscard]] const Family& condition_family();
[[nodiscard]] const Family& barrier_family();
[[nodiscard]] const Family& locks_family();
[[nodiscard]] const Family& event_family();

}  // namespace mpconform::cpp_adapter
