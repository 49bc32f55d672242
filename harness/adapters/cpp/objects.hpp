// The types of spec/adapter-protocol.md#types over mpc's classes: what every object offers, the
// decoding of call arguments, and setup's construction. Each type family (its objects and their
// operations, CPython's signatures) is one file under families/; this assembles them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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
struct Arg {
  mpc::Value value;
  std::shared_ptr<Object> ref;
};

struct Args {
  std::vector<Arg> positional;
  std::map<std::string, Arg> keyword;
};

// The objects an actor can name. Filled during setup, before any actor other than main serves a
// call, and unchanged afterwards, so every thread of a process reads it without a lock.
using Registry = std::map<std::string, std::shared_ptr<Object>>;

// A call ready to be made: everything that may fail for the adapter's own reasons (arguments,
// payload generation) happened before, so that only mpc's work is timed.
using Invocation = std::function<mpc::Value()>;

class Object {
 public:
  virtual ~Object() = default;
  // The spec's type name: Queue, JoinableQueue, SimpleQueue, Connection, bytearray, Global, Process.
  [[nodiscard]] virtual std::string_view type_name() const noexcept = 0;
  // Throws CallError (unknown_op, bad_request).
  [[nodiscard]] virtual Invocation prepare(const std::string& method, const Args& args) = 0;
  // Teardown: this process must be able to exit without waiting for the object (a queue's
  // unread items).
  virtual void release() noexcept {}
};

// The call arguments of a message; a top-level ref names an object of `registry`.
[[nodiscard]] Args decode_args(const json& args, const json& kwargs, const Registry& registry);

// Setup: the named objects made from one entry of `objects` (two for a Pipe). Throws CallError
// for a request the adapter cannot follow; mpc's own errors propagate.
[[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<Object>>> create_objects(
    const std::string& type, const std::vector<std::string>& names, const Args& args);

// hello's capabilities: the spec's types and every operation implemented, as "Type.method".
[[nodiscard]] std::vector<std::string> supported_types();
[[nodiscard]] std::vector<std::string> supported_operations();

}  // namespace mpconform::cpp_adapter
