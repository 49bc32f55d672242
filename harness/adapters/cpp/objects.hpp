// The types of spec/adapter-protocol.md#types over mpc's classes: what every object offers, the
// decoding of call arguments, and setup's construction. Each type family (its objects and their
// operations, CPython's signatures) is one file under families/; this assembles them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpc/context.hpp"
#include "mpc/spawn.hpp"
#include "mpc/value.hpp"

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

// The adapter cannot make a call as asked: a result with status `error`, never an outcome.
class CallError : public std::runtime_error {
 public:
  CallError(std::string kind, const std::string& message) : std::runtime_error(message), kind_(std::move(kind)) {}
  [[nodiscard]] const std::string& kind() const noexcept { return kind_; }

 private:
  std::string kind_;
};

[[nodiscard]] inline CallError bad_request(const std::string& message) { return {"bad_request", message}; }
[[nodiscard]] inline CallError unknown_op(const std::string& message) { return {"unknown_op", message}; }

class Object;

// One argument: a value, or the object itself for a top-level {"t": "ref"} (then `ref` is set).
// A list or tuple holding refs keeps its items as arguments too (then `items` is set), so that
// connection.wait returns the very objects it was given; `value` is then its value form, if the
// refs have one (`value_form`).
struct Arg {
  mpc::Value value;
  std::shared_ptr<Object> ref;
  std::optional<std::vector<Arg>> items;
  bool value_form = true;
};

struct Args {
  std::vector<Arg> positional;
  std::map<std::string, Arg> keyword;
};

// The objects of one process, which all its actors name: declared by setup, given by the parent
// process at start, bound by a call (`bind`), or a Process the process started. Threads of the
// process read it while another binds, hence the lock.
class Registry {
 public:
  using Map = std::map<std::string, std::shared_ptr<Object>>;
  Registry() = default;
  explicit Registry(Map objects) : objects_(std::move(objects)) {}

  [[nodiscard]] std::shared_ptr<Object> find(const std::string& name) const;
  [[nodiscard]] bool contains(const std::string& name) const { return find(name) != nullptr; }
  // Binds NAME (a later bind of the same name replaces it, as a Python assignment does).
  void put(const std::string& name, std::shared_ptr<Object> object);
  // The name under which `object` is held, if any (identity in results).
  [[nodiscard]] std::optional<std::string> name_of(const Object* object) const;
  [[nodiscard]] Map snapshot() const;
  void assign(Map objects);

 private:
  mutable std::mutex m_;
  Map objects_;
};

// What a call returned: a value, one of the objects (Connection.__enter__, current_process()),
// or a list or tuple of them (connection.wait, Pipe()). Implicitly made from a value.
struct Outcome {
  enum class Form { value, object, list, tuple };
  Outcome() = default;
  Outcome(mpc::Value v) : value(std::move(v)) {}  // NOLINT(google-explicit-constructor): any value is an outcome
  [[nodiscard]] static Outcome of(std::shared_ptr<Object> object) {
    Outcome o;
    o.form = Form::object;
    o.object = std::move(object);
    return o;
  }
  [[nodiscard]] static Outcome sequence(std::vector<Outcome> items, bool tuple) {
    Outcome o;
    o.form = tuple ? Form::tuple : Form::list;
    o.items = std::move(items);
    return o;
  }
  Form form = Form::value;
  mpc::Value value;
  std::shared_ptr<Object> object;
  std::vector<Outcome> items;
};

// A call ready to be made: everything that may fail for the adapter's own reasons (arguments,
// payload generation) happened before, so that only mpc's work is timed.
using Invocation = std::function<Outcome()>;

class Object : public std::enable_shared_from_this<Object> {
 public:
  virtual ~Object() = default;
  // The spec's type name: Queue, JoinableQueue, SimpleQueue, Connection, bytearray, Global, Process.
  [[nodiscard]] virtual std::string_view type_name() const noexcept = 0;
  // Throws CallError (unknown_op, bad_request).
  [[nodiscard]] virtual Invocation prepare(const std::string& method, const Args& args) = 0;
  // `set: OBJECT.ATTRIBUTE` (form "set"); only settable attributes have it.
  [[nodiscard]] virtual Invocation prepare_set(const std::string& attribute, const Arg& /*value*/) {
    throw unknown_op(std::string(type_name()) + " has no settable attribute '" + attribute + "'");
  }
  // The repr mpc's own API gives the object (mpc::Event::repr, ...), which builtins.repr returns;
  // nullopt for an object mpc gives no repr, which builtins.repr refuses.
  [[nodiscard]] virtual std::optional<std::string> mpc_repr() const { return std::nullopt; }
  // What Python's repr() would show, for an `object` value in a result.
  [[nodiscard]] virtual std::string repr() const {
    return mpc_repr().value_or("<" + std::string(type_name()) + " object>");
  }
  // Teardown: this process must be able to exit without waiting for the object (a queue's
  // unread items).
  virtual void release() noexcept {}
  // Adds the object to what a spawned process actor is given; false for a type mpc cannot give
  // one (it is rebuilt there by receive_object). mpc's errors (a fork-context lock) come later,
  // from start().
  [[nodiscard]] virtual bool share(mpc::SpawnArgs& /*out*/) const { return false; }
};

// A value bound to a name by `bind` (a sentinel, a pid, a received item): passing it as an
// argument passes the value.
class BoundValue final : public Object {
 public:
  BoundValue(mpc::Value value, std::string type) : value_(std::move(value)), type_(std::move(type)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return type_; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] const mpc::Value& value() const noexcept { return value_; }
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    out.add(value_);
    return true;
  }

 private:
  mpc::Value value_;
  std::string type_;
};

// A class named by a {"t": "class"} value (spec/values.md): a builtin class or a ctypes type of
// mpc's (mpc::ctype_named), which Value/Array take as typecode_or_type. Any other name, and a
// class where an argument is a value, the adapter cannot give: a result with status error.
class ClassObject final : public Object {
 public:
  // bad_request for a name the adapter cannot give.
  explicit ClassObject(std::string name);
  [[nodiscard]] std::string_view type_name() const noexcept override { return "type"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] std::string repr() const override { return "<class '" + name_ + "'>"; }
  // The dotted name: "int", "ctypes.c_int".
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

// The call arguments of a message; a top-level ref names an object of `registry`.
[[nodiscard]] Args decode_args(const json& args, const json& kwargs, const Registry& registry);

// Setup: the named objects made from one entry of `objects` (two for a Pipe), by `context`.
// Throws CallError for a request the adapter cannot follow (a type it cannot make in that
// context); mpc's own errors propagate.
[[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<Object>>> create_objects(
    const std::string& type, const std::vector<std::string>& names, const Args& args, mpc::Context context);

// In a spawned process actor: the object of spec type `type` that its parent shared as item
// `index` of `args` (Object::share). Throws CallError for a type no family receives.
[[nodiscard]] std::shared_ptr<Object> receive_object(const std::string& type, const mpc::SpawnArgs& args,
                                                     std::size_t index);

// hello's capabilities: the spec's types and every operation implemented, as "Type.method".
[[nodiscard]] std::vector<std::string> supported_types();
[[nodiscard]] std::vector<std::string> supported_operations();

}  // namespace mpconform::cpp_adapter
