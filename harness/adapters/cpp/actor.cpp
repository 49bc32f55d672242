#include "actor.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <typeinfo>

#include "exceptions.hpp"
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
  if (v.is(mpc::Kind::Float)) seconds = v.as_float();
  else if (v.is(mpc::Kind::Int) && v.to_int64()) seconds = static_cast<double>(*v.to_int64());
  else throw bad_request("sleep takes one number of seconds");
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

}  // namespace

Actor::Actor(std::string name, Channel& channel, std::shared_ptr<const Registry> registry, bool ends_on_exit)
    : name_(std::move(name)), channel_(channel), registry_(std::move(registry)), ends_on_exit_(ends_on_exit) {}

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

Invocation Actor::prepare(const json& message, std::optional<int>& exit_code) {
  if (message.value("protocol", json()) != json(kProtocol))
    throw bad_request("protocol " + message.value("protocol", json()).dump() + " is not supported (1 is)");
  auto method_it = message.find("method");
  if (method_it == message.end() || !method_it->is_string()) throw bad_request("call needs a string 'method'");
  const std::string& method = method_it->get_ref<const std::string&>();
  Args args = decode_args(message.value("args", json::array()), message.value("kwargs", json::object()), *registry_);
  const json target = message.value("target", json());
  if (target.is_null()) {
    if (method == "sleep") return actor_sleep(args);
    if (method == "exit") return actor_exit(args, exit_code);
    throw unknown_op("no actor operation '" + method + "' (sleep, exit)");
  }
  if (!target.is_string()) throw bad_request("call 'target' must be a name or null");
  auto it = registry_->find(target.get<std::string>());
  if (it == registry_->end()) throw bad_request("actor '" + name_ + "' has no object named '" + target.get<std::string>() + "'");
  return it->second->prepare(method, args);
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
  try {
    call = prepare(message, exit_code);
  } catch (const CallError& e) {
    send_error(seq, e.kind(), e.what());
    return std::nullopt;
  } catch (const std::exception& e) {
    log(name_, "cannot prepare call " + seq.dump() + ": " + e.what());
    send_error(seq, "internal", std::string(typeid(e).name()) + ": " + e.what());
    return std::nullopt;
  }
  mpc::Value value;
  std::exception_ptr raised;
  const auto start = Clock::now();
  try {
    value = call();
  } catch (...) {  // the outcome of the call, whatever it is
    raised = std::current_exception();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  json result = {{"type", "result"}, {"re", seq}, {"elapsed", elapsed}};
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
      result["value"] = encode_value(value);
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
  send({{"type", "result"}, {"re", seq}, {"status", "error"}, {"elapsed", elapsed}, {"error", {{"kind", kind}, {"message", message}}}});
}

ThreadActor start_thread_actor(const std::string& endpoint, const std::string& name, std::shared_ptr<const Registry> registry) {
  std::promise<void> done;
  ThreadActor actor{name, {}, done.get_future()};
  actor.thread = std::thread([endpoint, name, registry = std::move(registry), done = std::move(done)]() mutable {
    try {
      Channel channel(endpoint, name);
      try {
        Actor actor(name, channel, registry);
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

int process_actor_main(const std::string& endpoint, const std::string& name, std::shared_ptr<const Registry> objects,
                       const std::vector<std::string>& thread_names, pid_t parent) {
  // A context of the child's own, made after fork(); the controller's copy is never touched.
  Channel channel(endpoint, name);
  // Thread actors are detached: the process leaves with _exit() once its loop ends, whatever
  // they are doing (as a daemon thread would), and the runner ends them before this one.
  for (const auto& thread_name : thread_names) start_thread_actor(endpoint, thread_name, objects).thread.detach();
  Actor actor(name, channel, objects);
  actor.send_hello();
  auto orphan_check = [&name, parent] {
    if (::getppid() != parent) {
      // The controller is gone: nobody will ask this actor to exit.
      log(name, "parent process " + std::to_string(parent) + " is gone, exiting");
      std::fflush(nullptr);
      ::_exit(kOrphanExitCode);
    }
  };
  auto code = actor.serve({}, orphan_check);
  channel.close();
  return code.value_or(0);
}

}  // namespace mpconform::cpp_adapter
