#include "actor.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <typeinfo>

#include "mpc/errors.hpp"

#include "exceptions.hpp"
#include "families/connection.hpp"
#include "log.hpp"
#include "mpc/value.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

using Clock = std::chrono::steady_clock;

// How often an idle process actor checks that its parent is still there.
constexpr std::chrono::milliseconds kOrphanCheckInterval{1000};
constexpr int kOrphanExitCode = 70;

bool is_json_int(const json& j) { return j.is_number_integer(); }

// sys.exit(code) in a child: None -> 0, an int -> itself, anything else is printed and gives 1.
int exit_code_of(const mpc::Value& code) {
  if (code.is(mpc::Kind::None)) return 0;
  if (code.is(mpc::Kind::Bool)) return code.as_bool() ? 1 : 0;
  if (code.is(mpc::Kind::Int)) {
    if (auto small = code.to_int64()) return static_cast<int>(*small);
  }
  std::string text = code.is(mpc::Kind::Str) ? std::string(code.data()) : mpc::repr(code, 200);
  std::fprintf(stderr, "%s\n", text.c_str());
  return 1;
}

Invocation actor_sleep(const Args& args) {
  if (!args.keyword.empty() || args.positional.size() != 1 || args.positional[0].ref)
    throw bad_request("sleep takes one number of seconds");
  const mpc::Value& v = args.positional[0].value;
  double seconds = 0;
  if (v.is(mpc::Kind::Float))
    seconds = v.as_float();
  else if (v.is(mpc::Kind::Int) && v.to_int64())
    seconds = static_cast<double>(*v.to_int64());
  else
    throw bad_request("sleep takes one number of seconds");
  return [seconds] {
    if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    return mpc::Value::none();
  };
}

Invocation actor_exit(const Args& args, std::optional<int>& exit_code) {
  if (!args.keyword.empty() || args.positional.size() > 1 || (!args.positional.empty() && args.positional[0].ref))
    throw bad_request("exit takes at most one code");
  mpc::Value code = args.positional.empty() ? mpc::Value::none() : args.positional[0].value;
  return [&exit_code, code] {
    exit_code = exit_code_of(code);
    return mpc::Value::none();
  };
}

Invocation actor_return(const Args& args, std::optional<int>& exit_code) {
  if (!args.keyword.empty() || !args.positional.empty()) throw bad_request("return takes no arguments");
  return [&exit_code] {
    exit_code = 0;  // the target returned normally
    return mpc::Value::none();
  };
}

// The target raises TYPE(MESSAGE) uncaught: as CPython's Process._bootstrap, the process prints
// "Process NAME:" and the traceback on stderr and exits 1.
Invocation actor_raise(const std::string& actor, const Args& args, std::optional<int>& exit_code) {
  auto text = [](const Arg& a) -> std::optional<std::string> {
    if (a.ref || a.items || !a.value.is(mpc::Kind::Str)) return std::nullopt;
    return std::string(a.value.data());
  };
  if (!args.keyword.empty() || args.positional.empty() || args.positional.size() > 2)
    throw bad_request("raise takes [TYPE, MESSAGE]");
  auto type = text(args.positional[0]);
  std::optional<std::string> message = args.positional.size() == 2 ? text(args.positional[1]) : std::string();
  if (!type || type->empty() || !message) throw bad_request("raise takes [TYPE, MESSAGE], both str");
  return [&exit_code, actor, type = *type, message = *message] {
    std::string traceback = "Process " + actor + ":\nTraceback (most recent call last):\n" +
                            "  File \"mpconform-cpp-adapter\", in run\n" + type +
                            (message.empty() ? "" : ": " + message) + "\n";
    std::fputs(traceback.c_str(), stderr);
    std::fflush(stderr);
    exit_code = 1;
    return mpc::Value::none();
  };
}

double monotonic_seconds(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

}  // namespace

const ActorDeclaration* ProcessSpace::declaration(const std::string& actor) const {
  for (const auto& d : actors)
    if (d.name == actor) return &d;
  return nullptr;
}

Actor::Actor(std::string name, Channel& channel, std::shared_ptr<ProcessSpace> space, bool ends_on_exit)
    : name_(std::move(name)), channel_(channel), space_(std::move(space)), ends_on_exit_(ends_on_exit) {}

void Actor::send(json message) {
  message["protocol"] = kProtocol;
  channel_.send(message);
}

void Actor::send_hello() { send({{"type", "hello"}, {"role", "actor"}, {"name", name_}, {"pid", ::getpid()}}); }

std::optional<int> Actor::serve(const std::map<std::string, Handler>& handlers, const IdleCheck& idle) {
  for (;;) {
    auto message = channel_.receive(idle ? std::optional(kOrphanCheckInterval) : std::nullopt);
    if (!message) {
      if (idle) idle();
      continue;
    }
    const std::string type = message->value("type", std::string());
    if (type == "call") {
      auto code = handle_call(*message);
      if (code && ends_on_exit_) return code;
    } else if (auto it = handlers.find(type); it != handlers.end()) {
      if (it->second(*message)) return std::nullopt;
    } else {
      log(name_, "ignoring a message of type '" + type + "'");
    }
  }
}

Invocation Actor::prepare_actor_op(const std::string& method, const Args& args, std::optional<int>& exit_code) {
  if (method == "sleep") return actor_sleep(args);
  if (method == "start") {
    if (args.positional.size() != 1 || !args.keyword.empty() || args.positional[0].ref ||
        !args.positional[0].value.is(mpc::Kind::Str))
      throw bad_request("start takes the name of the actor to start");
    std::string child(args.positional[0].value.data());
    if (!space_->declaration(child)) throw bad_request("no actor named '" + child + "' is declared");
    return [space = space_, child] {
      start_actor(space, child);
      return mpc::Value::none();
    };
  }
  // How a process actor's target ends; main's process ends only at teardown.
  if (method == "exit" || method == "return" || method == "raise") {
    if (!ends_on_exit_ && method != "exit") throw bad_request("main takes no '" + method + "'");
    if (method == "exit") return actor_exit(args, exit_code);
    if (method == "return") return actor_return(args, exit_code);
    return actor_raise(name_, args, exit_code);
  }
  // Module functions: multiprocessing's, operator's and builtins' (Python syntax as a call), atexit's.
  if (method.starts_with("multiprocessing.") || method.starts_with("builtins.") || method.starts_with("operator.") ||
      method.starts_with("atexit."))
    return prepare_function(method, args, space_);
  throw unknown_op("no actor operation '" + method +
                   "' (sleep, start, exit, return, raise, multiprocessing.*, builtins.*, operator.*, atexit.*)");
}

Invocation Actor::prepare(const json& message, std::optional<int>& exit_code) {
  if (message.value("protocol", json()) != json(kProtocol))
    throw bad_request("protocol " + message.value("protocol", json()).dump() + " is not supported (1 is)");
  auto method_it = message.find("method");
  if (method_it == message.end() || !method_it->is_string()) throw bad_request("call needs a string 'method'");
  const std::string& method = method_it->get_ref<const std::string&>();
  Args args =
      decode_args(message.value("args", json::array()), message.value("kwargs", json::object()), space_->objects);
  const json target = message.value("target", json());
  if (target.is_null()) return prepare_actor_op(method, args, exit_code);
  if (!target.is_string()) throw bad_request("call 'target' must be a name or null");
  auto object = space_->objects.find(target.get<std::string>());
  if (!object) throw bad_request("actor '" + name_ + "' has no object named '" + target.get<std::string>() + "'");
  const json form = message.value("form", json());
  if (form == "set") {
    if (!message.contains("value")) throw bad_request("a set needs a 'value'");
    Args value = decode_args(json::array({message["value"]}), json::object(), space_->objects);
    return object->prepare_set(method, value.positional.at(0));
  }
  if (!form.is_null()) throw bad_request("unknown call form " + form.dump());
  return object->prepare(method, args);
}

// `bind`: after the call returned, its result (or each item of a 2-tuple) is held under the
// names by this process, so that every actor of the process (and children started later) can
// name it.
void Actor::bind_names(const json& message, const Outcome& outcome) {
  const json names = message.value("bind", json());
  if (names.is_null()) return;
  const json types = message.value("bind_types", json::array());
  auto bind_one = [this, &types](const std::string& name, std::size_t index, const Outcome& item) {
    if (item.form == Outcome::Form::object) {
      space_->objects.put(name, item.object);
      return;
    }
    if (item.form != Outcome::Form::value) throw bad_request("cannot bind a list of objects to '" + name + "'");
    // A received Connection is an object the case goes on calling, not a value.
    if (item.value.is(mpc::Kind::Connection)) {
      space_->objects.put(name, std::make_shared<ConnectionObject>(item.value.as_connection()));
      return;
    }
    std::string type = types.is_array() && index < types.size() && types[index].is_string()
                           ? types[index].get<std::string>()
                           : std::string(mpc::kind_name(item.value.kind()));
    space_->objects.put(name, std::make_shared<BoundValue>(item.value, type));
  };
  if (!names.is_array() || names.empty()) throw bad_request("'bind' must be a list of names");
  for (const auto& n : names)
    if (!n.is_string() || n.get_ref<const std::string&>().empty()) throw bad_request("'bind' must be a list of names");
  if (names.size() == 1) return bind_one(names[0].get<std::string>(), 0, outcome);
  // Unpacking: a tuple of objects, or a tuple value.
  if (outcome.form == Outcome::Form::tuple || outcome.form == Outcome::Form::list) {
    if (outcome.items.size() != names.size())
      throw bad_request("cannot unpack " + std::to_string(outcome.items.size()) + " items into " +
                        std::to_string(names.size()) + " names");
    for (std::size_t i = 0; i < names.size(); ++i) bind_one(names[i].get<std::string>(), i, outcome.items[i]);
    return;
  }
  const mpc::Value& v = outcome.value;
  if (outcome.form != Outcome::Form::value || !(v.is(mpc::Kind::Tuple) || v.is(mpc::Kind::List)) ||
      v.size() != names.size())
    throw bad_request("cannot unpack the result into " + std::to_string(names.size()) + " names");
  for (std::size_t i = 0; i < names.size(); ++i) bind_one(names[i].get<std::string>(), i, Outcome(v.at(i)));
}

json Actor::encode_outcome(const Outcome& outcome) const {
  switch (outcome.form) {
    case Outcome::Form::value: return encode_value(outcome.value);
    case Outcome::Form::object: {
      // A bound value is a value (CPython's adapter names no int or str, which are not objects
      // with an identity a case could rely on).
      if (const auto* bound = dynamic_cast<const BoundValue*>(outcome.object.get()))
        return encode_value(bound->value());
      json node = {
          {"t", "object"}, {"type", std::string(outcome.object->type_name())}, {"repr", outcome.object->repr()}};
      if (auto name = space_->objects.name_of(outcome.object.get())) node["name"] = *name;
      return node;
    }
    case Outcome::Form::list:
    case Outcome::Form::tuple: {
      json items = json::array();
      for (const auto& item : outcome.items) items.push_back(encode_outcome(item));
      return {{"t", outcome.form == Outcome::Form::list ? "list" : "tuple"}, {"v", std::move(items)}};
    }
  }
  return encode_value(mpc::Value::none());
}

std::optional<int> Actor::handle_call(const json& message) {
  const json seq = message.value("seq", json());
  if (!is_json_int(seq)) {
    log(name_, "ignoring a call without an integer seq: " + message.dump().substr(0, 200));
    return std::nullopt;
  }
  send({{"type", "started"}, {"re", seq}});
  std::optional<int> exit_code;
  Invocation call;
  std::exception_ptr refused;  // arguments Python's signature refuses: the call's TypeError
  try {
    call = prepare(message, exit_code);
  } catch (const mpc::Error&) {
    refused = std::current_exception();
    call = [refused]() -> Outcome { std::rethrow_exception(refused); };
  } catch (const CallError& e) {
    send_error(seq, e.kind(), e.what());
    return std::nullopt;
  } catch (const std::exception& e) {
    log(name_, "cannot prepare call " + seq.dump() + ": " + e.what());
    send_error(seq, "internal", std::string(typeid(e).name()) + ": " + e.what());
    return std::nullopt;
  }
  Outcome value;
  std::exception_ptr raised;
  const auto start = Clock::now();
  try {
    value = call();
  } catch (...) {  // the outcome of the call, whatever it is
    raised = std::current_exception();
  }
  const auto end = Clock::now();
  const double elapsed = std::chrono::duration<double>(end - start).count();
  // steady_clock is CLOCK_MONOTONIC on Linux, the clock of Python's time.monotonic().
  json result = {{"type", "result"},
                 {"re", seq},
                 {"elapsed", elapsed},
                 {"started_at", monotonic_seconds(start)},
                 {"ended_at", monotonic_seconds(end)}};
  if (!raised) {
    try {
      bind_names(message, value);
    } catch (const CallError& e) {
      send_error(seq, e.kind(), e.what(), elapsed);
      return exit_code;
    }
  }
  try {
    if (raised) {
      auto described = describe_exception(raised);
      if (!described) {
        std::string what = "a C++ exception that is not an mpc error";
        try {
          std::rethrow_exception(raised);
        } catch (const std::exception& e) {
          what = std::string(typeid(e).name()) + ": " + e.what();
        } catch (...) {
        }
        send_error(seq, "internal", "the call threw " + what, elapsed);
        return exit_code;
      }
      result["status"] = "raised";
      result["exception"] = std::move(*described);
    } else {
      result["status"] = "returned";
      result["value"] = encode_outcome(value);
    }
  } catch (const std::exception& e) {
    log(name_, "cannot encode the outcome of call " + seq.dump() + ": " + e.what());
    send_error(seq, "internal", std::string("cannot encode the outcome: ") + e.what(), elapsed);
    return exit_code;
  }
  send(std::move(result));
  return exit_code;
}

void Actor::send_error(const json& seq, const std::string& kind, const std::string& message, double elapsed) {
  send({{"type", "result"},
        {"re", seq},
        {"status", "error"},
        {"elapsed", elapsed},
        {"error", {{"kind", kind}, {"message", message}}}});
}

ThreadActor start_thread_actor(const std::string& name, std::shared_ptr<ProcessSpace> space) {
  std::promise<void> done;
  ThreadActor actor{name, {}, done.get_future()};
  actor.thread = std::thread([name, space = std::move(space), done = std::move(done)]() mutable {
    try {
      Channel channel(space->endpoint, name);
      try {
        Actor actor(name, channel, space);
        actor.send_hello();
        actor.serve();
      } catch (const std::exception& e) {
        log(name, std::string("thread actor failed: ") + e.what());
      }
      channel.close();
    } catch (const std::exception& e) {
      log(name, std::string("thread actor cannot connect: ") + e.what());
    }
    done.set_value();
  });
  return actor;
}

void start_actor(const std::shared_ptr<ProcessSpace>& space, const std::string& name) {
  const ActorDeclaration* declared = space->declaration(name);
  if (!declared) throw bad_request("no actor named '" + name + "' is declared");
  if (declared->in != space->name)
    throw bad_request("actor '" + name + "' is started by '" + declared->in + "', not by '" + space->name + "'");
  {
    std::lock_guard lock(space->started_m);
    if (!space->started.insert(name).second) throw bad_request("actor '" + name + "' was already started");
  }
  if (declared->kind == "thread") {
    ThreadActor thread = start_thread_actor(name, space);
    std::lock_guard lock(space->started_m);
    if (space->name == kMainActor)
      space->threads.push_back(std::move(thread));
    else
      thread.thread.detach();  // a process actor leaves with _exit(), as with daemon threads
    return;
  }
  auto process = std::dynamic_pointer_cast<ProcessObject>(space->objects.find(name));
  decltype(space->unstarted)::node_type given;
  decltype(space->unstarted_spawns)::node_type spawn_args;
  {
    std::lock_guard lock(space->started_m);
    given = space->unstarted.extract(name);
    spawn_args = space->unstarted_spawns.extract(name);
  }
  if (!process || (given.empty() && spawn_args.empty()))
    throw bad_request("actor '" + name + "' has no unstarted Process object");
  // What the child is given: every object this process holds now (bound ones too) but Process
  // objects, which are not the child's to manage.
  auto objects = space->objects.snapshot();
  for (auto it = objects.begin(); it != objects.end();)
    it = dynamic_cast<ProcessObject*>(it->second.get()) ? objects.erase(it) : std::next(it);
  if (!spawn_args.empty()) {
    share_with_spawned(spawn_args.mapped(), *space, name, objects);
    process->process().start();  // its RuntimeError (a fork-context lock) is the step's outcome
  } else {
    *given.mapped() = std::move(objects);
    process->process().start();  // its OSError is the step's outcome
    given.mapped()->clear();     // the child has its copy (fork)
  }
  std::lock_guard lock(space->started_m);
  space->children.push_back(process);
}

namespace {

json declarations_json(const std::vector<ActorDeclaration>& actors) {
  json out = json::array();
  for (const auto& a : actors) {
    json d = {{"name", a.name},
              {"kind", a.kind},
              {"in", a.in},
              {"started_by_step", a.started_by_step},
              {"start_method", std::string(mpc::to_string(a.start_method))}};
    if (a.daemon) d["daemon"] = *a.daemon;
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<ActorDeclaration> declarations_from(const json& actors) {
  std::vector<ActorDeclaration> out;
  for (const auto& d : actors) {
    ActorDeclaration a{d.at("name").get<std::string>(), d.at("kind").get<std::string>(), d.at("in").get<std::string>(),
                       d.at("started_by_step").get<bool>()};
    if (d.contains("daemon")) a.daemon = d["daemon"].get<bool>();
    a.start_method = mpc::get_context(d.at("start_method").get<std::string>()).start_method();
    out.push_back(std::move(a));
  }
  return out;
}

// A spawned process actor's arguments, in order: the endpoint, its name, its parent's pid and
// name, the case's actor declarations (JSON), the objects, then [name, type] of each object.
constexpr std::size_t kSpawnedObjectsAt = 5;

int spawned_actor_main(const mpc::SpawnArgs& args) {
  auto space = std::make_shared<ProcessSpace>();
  space->endpoint = std::string(args.value(0).data());
  space->name = std::string(args.value(1).data());
  space->parent_pid = static_cast<pid_t>(args.value(2).to_int64().value_or(0));
  space->parent_name = std::string(args.value(3).data());
  space->actors = declarations_from(json::parse(args.value(4).data()));
  const mpc::Value names = args.value(args.size() - 1);
  Registry::Map objects;
  for (std::size_t i = 0; i < names.size(); ++i)
    objects[std::string(names.at(i).at(0).data())] =
        receive_object(std::string(names.at(i).at(1).data()), args, kSpawnedObjectsAt + i);
  space->objects.assign(std::move(objects));
  return process_actor_main(space);
}

void make_process_object(const std::shared_ptr<ProcessSpace>& space, const ActorDeclaration& declared) {
  if (declared.start_method != mpc::StartMethod::fork) {
    // A fresh exec of this adapter (main() gives it to mpc::spawn_main), or a fork of the
    // forkserver, itself one: given its objects by share_with_spawned just before start(), the
    // same SpawnArgs as its Process holds.
    mpc::SpawnArgs args;
    space->objects.put(declared.name, std::make_shared<ProcessObject>(
                                          mpc::Process(mpc::Target{kSpawnedActorTarget, args},
                                                       mpc::ProcessOptions{.name = declared.name,
                                                                           .daemon = declared.daemon,
                                                                           .start_method = declared.start_method})));
    space->unstarted_spawns.emplace(declared.name, std::move(args));
    return;
  }
  // The child's space, with the declarations of the actors it may start in turn; its objects are
  // those of `given`, filled by start_actor just before the fork.
  auto child = std::make_shared<ProcessSpace>();
  child->endpoint = space->endpoint;
  child->name = declared.name;
  child->parent_pid = ::getpid();
  child->parent_name = space->name;
  child->actors = space->actors;
  auto given = std::make_shared<Registry::Map>();
  auto target = [child, given]() mutable {
    child->objects.assign(std::move(*given));
    return process_actor_main(child);
  };
  space->objects.put(declared.name,
                     std::make_shared<ProcessObject>(mpc::Process(
                         std::move(target), mpc::ProcessOptions{.name = declared.name, .daemon = declared.daemon})));
  space->unstarted[declared.name] = std::move(given);
}

}  // namespace

void start_setup_actors(const std::shared_ptr<ProcessSpace>& space) {
  // Every process actor of this process has its Process object from now on, those that a step
  // starts too (spec/case-format.md#actors: calls on it before its start step).
  for (const auto& a : space->actors)
    if (a.kind == "process" && a.in == space->name) make_process_object(space, a);
  for (const auto& kind : {"process", "thread"})
    for (const auto& a : space->actors)
      if (a.kind == kind && a.in == space->name && !a.started_by_step) start_actor(space, a.name);
}

void share_with_spawned(mpc::SpawnArgs& args, const ProcessSpace& space, const std::string& child,
                        const Registry::Map& objects) {
  args.add(mpc::Value::str(space.endpoint))
      .add(mpc::Value::str(child))
      .add(mpc::Value::integer(::getpid()))
      .add(mpc::Value::str(space.name))
      .add(mpc::Value::str(declarations_json(space.actors).dump()));
  mpc::Value names = mpc::Value::list();
  for (const auto& [name, object] : objects) {
    if (!object->share(args))
      throw bad_request("a spawned process actor cannot be given '" + name + "' (a " +
                        std::string(object->type_name()) +
                        "): the adapter shares queues, locks, semaphores and values");
    names.append(mpc::Value::tuple({mpc::Value::str(name), mpc::Value::str(std::string(object->type_name()))}));
  }
  args.add(names);
}

void register_spawned_actor_target() { mpc::register_target(kSpawnedActorTarget, spawned_actor_main); }

int process_actor_main(std::shared_ptr<ProcessSpace> space) {
  // A context of the child's own, made after fork(); the parent's copy is never touched.
  Channel channel(space->endpoint, space->name);
  start_setup_actors(space);
  Actor actor(space->name, channel, space);
  actor.send_hello();
  auto orphan_check = [&space] {
    if (::getppid() != space->parent_pid) {
      // The parent is gone: nobody will ask this actor to exit.
      log(space->name, "parent process " + std::to_string(space->parent_pid) + " is gone, exiting");
      std::fflush(nullptr);
      ::_exit(kOrphanExitCode);
    }
  };
  auto code = actor.serve({}, orphan_check);
  channel.close();
  return code.value_or(0);
}

}  // namespace mpconform::cpp_adapter
