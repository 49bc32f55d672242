// Module-level functions of the case language (`"target": null, "method": "multiprocessing.…"`,
// spec/adapter-protocol.md#functions), over mpc's.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <mutex>

#include "actor.hpp"
#include "families/connection.hpp"
#include "families/locks.hpp"
#include "families/process.hpp"
#include "families/queues.hpp"
#include "families/shared.hpp"
#include "families/support.hpp"
#include "log.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"
#include "mpc/reduction.hpp"
#include "mpc/wait.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

using Function = Invocation (*)(const Args& args, const std::shared_ptr<ProcessSpace>& space);

// One object of connection.wait's object_list: a Connection (ready when readable), or an int (a
// sentinel, a bound value): the descriptor itself.
struct Waitable {
  Outcome reported;  // what wait() returns for it: the object itself
  std::shared_ptr<ConnectionObject> connection;
  int fd = -1;
};

Waitable waitable(const Arg& item) {
  if (item.ref) {
    if (auto connection = std::dynamic_pointer_cast<ConnectionObject>(item.ref))
      return {Outcome::of(connection), connection, -1};
    if (auto bound = std::dynamic_pointer_cast<BoundValue>(item.ref); bound && bound->value().is(Kind::Int))
      return {Outcome::of(bound), nullptr, static_cast<int>(int_arg(item, "a sentinel"))};
    throw bad_request("connection.wait cannot wait for " + describe_arg(item));
  }
  return {Outcome(item.value), nullptr, static_cast<int>(int_arg(item, "a sentinel"))};
}

Invocation connection_wait(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  auto b = bind("multiprocessing.connection.wait", args, {{"object_list", true}, {"timeout"}});
  std::vector<Waitable> waitables;
  if (b[0]->items) {
    for (const auto& item : *b[0]->items) waitables.push_back(waitable(item));
  } else {
    for (const auto& v : items_arg(*b[0])) waitables.push_back(waitable(Arg{v, nullptr, std::nullopt, true}));
  }
  return [waitables = std::move(waitables), timeout = timeout_arg(b[1], std::nullopt)] {
    // A Connection's descriptor is read when the call is made (a closed one raises OSError, as
    // CPython's selector registration does).
    std::vector<int> fds;
    for (const auto& w : waitables) fds.push_back(w.connection ? w.connection->connection().fileno() : w.fd);
    std::vector<int> ready = mpc::wait(fds, timeout);
    std::vector<Outcome> out;
    for (std::size_t i = 0; i < waitables.size(); ++i)
      if (std::find(ready.begin(), ready.end(), fds[i]) != ready.end()) out.push_back(waitables[i].reported);
    return Outcome::sequence(std::move(out), false);
  };
}

Invocation active_children(const Args& args, const std::shared_ptr<ProcessSpace>& space) {
  no_arguments("multiprocessing.active_children", args);
  return [space] {
    std::vector<pid_t> alive = mpc::active_children();
    std::vector<std::shared_ptr<ProcessObject>> children;
    {
      std::lock_guard lock(space->started_m);
      children = space->children;
    }
    std::vector<Outcome> out;
    for (const auto& child : children)
      if (auto pid = child->process().pid(); pid && std::find(alive.begin(), alive.end(), *pid) != alive.end())
        out.push_back(Outcome::of(child));
    return Outcome::sequence(std::move(out), false);
  };
}

// One object per process for each, so that current_process() is current_process().
std::shared_ptr<Object> view_of(const std::shared_ptr<ProcessSpace>& space, bool current) {
  std::lock_guard lock(space->started_m);
  auto& held = current ? space->current_view : space->parent_view;
  if (!held) {
    held = current
               ? std::make_shared<ProcessView>(true, mpc::current_process_name(), ::getpid())
               : std::make_shared<ProcessView>(
                     false, space->parent_name == kMainActor ? "MainProcess" : space->parent_name, space->parent_pid);
  }
  return held;
}

Invocation current_process(const Args& args, const std::shared_ptr<ProcessSpace>& space) {
  no_arguments("multiprocessing.current_process", args);
  return [space] { return Outcome::of(view_of(space, true)); };
}

Invocation parent_process(const Args& args, const std::shared_ptr<ProcessSpace>& space) {
  no_arguments("multiprocessing.parent_process", args);
  return [space]() -> Outcome {
    if (space->parent_pid == 0) return Value::none();  // main: its parent is not a multiprocessing process
    return Outcome::of(view_of(space, false));
  };
}

Invocation get_start_method(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  return get_start_method_function(args);
}
Invocation set_start_method(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  return set_start_method_function(args);
}
Invocation get_all_start_methods(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  return get_all_start_methods_function(args);
}
Invocation get_context(const Args& args, const std::shared_ptr<ProcessSpace>&) { return get_context_function(args); }

Invocation cpu_count(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  no_arguments("multiprocessing.cpu_count", args);
  return [] {
    auto n = mpc::cpu_count();
    if (!n) throw mpc::NotImplementedError("cannot determine number of cpus");
    return Value::integer(*n);
  };
}

ConnectionObject& connection_arg(const Arg& arg, std::string_view op) {
  if (auto* c = dynamic_cast<ConnectionObject*>(arg.ref.get())) return *c;
  throw bad_request(std::string(op) + " needs a Connection, got " + describe_arg(arg));
}

Invocation send_handle(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  auto b = bind("multiprocessing.reduction.send_handle", args,
                {{"conn", true}, {"handle", true}, {"destination_pid", true}});
  ConnectionObject& conn = connection_arg(*b[0], "send_handle");
  return [&c = conn.connection(), handle = static_cast<int>(int_arg(*b[1], "handle")),
          pid = static_cast<pid_t>(int_arg(*b[2], "destination_pid"))] {
    mpc::send_handle(c, handle, pid);
    return none();
  };
}

Invocation recv_handle(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  auto b = bind("multiprocessing.reduction.recv_handle", args, {{"conn", true}});
  ConnectionObject& conn = connection_arg(*b[0], "recv_handle");
  return [&c = conn.connection()] { return Value::integer(mpc::recv_handle(c)); };
}

// repr(obj): of a value, mpc::repr's (Python's, but for an int beyond 4300 digits, which Python
// refuses to print); of an object, the repr mpc's API gives it (Object::mpc_repr). mpc gives no
// repr of other objects: the adapter cannot make the call.
Invocation builtins_repr(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  auto b = bind("builtins.repr", args, {{"obj", true}});
  if (is_plain(*b[0]))
    return [v = value_arg(*b[0])] { return Value::str(mpc::repr(v, std::numeric_limits<std::size_t>::max())); };
  std::shared_ptr<Object> obj = b[0]->ref;
  if (!obj || !obj->mpc_repr()) throw bad_request("mpc gives no repr() of " + describe_arg(*b[0]));
  return [obj = std::move(obj)] { return Value::str(*obj->mpc_repr()); };
}

template <const char* Type>
Invocation shared_type(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  return shared_constructor(Type, args);
}
Invocation sharedctypes_copy(const Args& args, const std::shared_ptr<ProcessSpace>&) { return shared_copy(args); }

constexpr char kValue[] = "Value", kRawValue[] = "RawValue", kArray[] = "Array", kRawArray[] = "RawArray";

template <const char* Type>
Invocation semaphore_type(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  return semaphore_constructor(Type, args);
}
constexpr char kSemaphore[] = "Semaphore", kBoundedSemaphore[] = "BoundedSemaphore";
Invocation queue_function(const Args& args, const std::shared_ptr<ProcessSpace>&) { return queue_constructor(args); }

// multiprocessing.Process(target=...): a Process object that is no actor, its target a callable
// argument (spec/case-format.md#callable-arguments): {$ref: CONN} sends the child's pid on CONN;
// None runs nothing. mpc's targets take no arguments, so `args` and `kwargs` must be empty. The
// Process is one of this process's children: active_children() sees it and teardown ends it.
Invocation process_function(const Args& args, const std::shared_ptr<ProcessSpace>& space) {
  auto b = bind("multiprocessing.Process", args, {{"group"}, {"target"}, {"name"}, {"args"}, {"kwargs"}, {"daemon"}});
  auto given = [](const Arg* arg) { return arg && !(is_plain(*arg) && arg->value.is(Kind::None)); };
  if (given(b[0])) throw bad_request("multiprocessing.Process: group must be None");
  auto empty = [](const Arg* arg) {
    return !arg ||
           (is_plain(*arg) && (arg->value.is(Kind::List) || arg->value.is(Kind::Tuple) || arg->value.is(Kind::Dict)) &&
            arg->value.size() == 0);
  };
  if (!empty(b[3]) || !empty(b[4])) throw bad_request("multiprocessing.Process: mpc's targets take no args or kwargs");
  std::function<void()> target = [] {};
  if (given(b[1])) target = send_pid_arg(*b[1], "a Process target");
  mpc::ProcessOptions options;
  if (given(b[2])) {
    if (!is_plain(*b[2]) || !b[2]->value.is(Kind::Str)) throw bad_request("multiprocessing.Process: name is a str");
    options.name = std::string(b[2]->value.data());
  }
  if (given(b[5])) options.daemon = flag_arg(b[5], false);
  return [space, target = std::move(target), options = std::move(options)] {
    auto process = std::make_shared<ProcessObject>(mpc::Process(target, options));
    std::lock_guard lock(space->started_m);
    space->children.push_back(process);
    return Outcome::of(process);
  };
}

// atexit.register(func), func given as {$ref: CONN}: a handler of this process, run (last
// registered first, as Python's) by the C library's exit(). A process that leaves with _exit(),
// as mpc's fork()ed children do, runs none: CPython's fork children before 3.13 (os._exit) too.
struct ExitHandlers {
  std::mutex m;
  std::vector<std::function<void()>> handlers;
};

ExitHandlers& exit_handlers() {
  static auto* h = new ExitHandlers;  // never destroyed: exit() runs the handlers
  return *h;
}

void run_exit_handlers() noexcept {
  std::vector<std::function<void()>> handlers;
  {
    std::lock_guard lock(exit_handlers().m);
    handlers.swap(exit_handlers().handlers);
  }
  for (auto it = handlers.rbegin(); it != handlers.rend(); ++it) {
    try {
      (*it)();
    } catch (const std::exception& e) {
      log("atexit", std::string("an exit handler failed: ") + e.what());  // Python prints and goes on
    }
  }
}

Invocation atexit_register(const Args& args, const std::shared_ptr<ProcessSpace>&) {
  auto b = bind("atexit.register", args, {{"func", true}});
  return [handler = send_pid_arg(*b[0], "an atexit handler")] {
    static std::once_flag once;
    std::call_once(once, [] { std::atexit(run_exit_handlers); });
    std::lock_guard lock(exit_handlers().m);
    exit_handlers().handlers.push_back(handler);
    return none();
  };
}

const std::map<std::string_view, Function>& functions() {
  static const std::map<std::string_view, Function> all = {
      {"multiprocessing.active_children", active_children},
      {"multiprocessing.current_process", current_process},
      {"multiprocessing.parent_process", parent_process},
      {"multiprocessing.cpu_count", cpu_count},
      {"multiprocessing.get_start_method", get_start_method},
      {"multiprocessing.set_start_method", set_start_method},
      {"multiprocessing.get_all_start_methods", get_all_start_methods},
      {"multiprocessing.get_context", get_context},
      {"multiprocessing.connection.wait", connection_wait},
      {"multiprocessing.reduction.send_handle", send_handle},
      {"multiprocessing.reduction.recv_handle", recv_handle},
      {"multiprocessing.Value", shared_type<kValue>},
      {"multiprocessing.RawValue", shared_type<kRawValue>},
      {"multiprocessing.sharedctypes.copy", sharedctypes_copy},
      {"multiprocessing.Array", shared_type<kArray>},
      {"multiprocessing.RawArray", shared_type<kRawArray>},
      {"multiprocessing.Semaphore", semaphore_type<kSemaphore>},
      {"multiprocessing.BoundedSemaphore", semaphore_type<kBoundedSemaphore>},
      {"multiprocessing.Queue", queue_function},
      {"multiprocessing.Process", process_function},
      {"atexit.register", atexit_register},
      {"builtins.repr", builtins_repr},
  };
  return all;
}

}  // namespace

Invocation prepare_function(const std::string& name, const Args& args, const std::shared_ptr<ProcessSpace>& space) {
  auto it = functions().find(name);
  if (it == functions().end()) throw unknown_op("no module function '" + name + "'");
  return it->second(args, space);
}

std::vector<std::string> supported_functions() {
  std::vector<std::string> names;
  for (const auto& entry : functions()) names.emplace_back(entry.first);
  return names;
}

}  // namespace mpconform::cpp_adapter
