#include "controller.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <typeinfo>

#include "log.hpp"
#include "mpc/context.hpp"
#include "mpc/errors.hpp"
#include "mpc/process.hpp"

#ifndef MPCONFORM_ADAPTER_VERSION
#define MPCONFORM_ADAPTER_VERSION "0"
#endif

namespace mpconform::cpp_adapter {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kMain = "main";

// Teardown: how long process actors may take to exit on their own, then after terminate().
constexpr double kJoinBudget = 3.0;
constexpr double kTerminateGrace = 1.0;
constexpr int kOrphanExitCode = 70;

// A setup the controller cannot carry out: answered with setup_failed.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

double seconds_left(Clock::time_point deadline) {
  double left = std::chrono::duration<double>(deadline - Clock::now()).count();
  return left > 0 ? left : 0.0;
}

// An object's context or an actor's start method, as mpc names them.
mpc::Context context_named(const std::string& method) {
  try {
    return mpc::get_context(method);
  } catch (const mpc::ValueError& e) {
    throw SetupError(e.what());
  }
}

std::vector<std::string> names_of(const json& description) {
  std::vector<std::string> names;
  const json node = description.contains("names") ? description["names"] : description.value("name", json());
  if (node.is_string()) names.push_back(node.get<std::string>());
  if (node.is_array())
    for (const auto& n : node)
      if (n.is_string() && !n.get_ref<const std::string&>().empty()) names.push_back(n.get<std::string>());
  if (names.empty() || (node.is_array() && names.size() != node.size()))
    throw SetupError("object needs a name (or names for a Pipe): " + description.dump().substr(0, 200));
  return names;
}

}  // namespace

Controller::Controller(ControllerOptions options, Channel& channel)
    : options_(std::move(options)),
      channel_(channel),
      space_(std::make_shared<ProcessSpace>()),
      actor_(kMain, channel_, space_, /*ends_on_exit=*/false) {
  space_->endpoint = options_.endpoint;
  space_->name = kMain;
}

json Controller::hello_message() const {
  std::vector<std::string> operations = supported_operations();
  for (auto& f : supported_functions()) operations.push_back(std::move(f));
  return {
      {"type", "hello"},
      {"role", "controller"},
      {"pid", ::getpid()},
      {"implementation",
       {{"name", "mpc"},
        {"version", MPCONFORM_ADAPTER_VERSION},
        {"language", "c++"},
        {"semantics", options_.semantics},
        {"family", "mpc"},
        {"platform", "linux"},  // sys.platform of the only system mpc runs on
        {"start_method", "fork"}}},
      {"capabilities",
       {{"types", supported_types()},
        {"ops", operations},
        // mpc's (fork, spawn, forkserver), each usable for objects and process actors alike.
        {"start_methods", mpc::get_all_start_methods()},
        {"contexts", mpc::get_all_start_methods()},
        // `class`: builtin classes and mpc's ctypes types, for Value/Array's typecode_or_type
        // (ClassObject); `local_function` it cannot make.
        {"features", {"bind", "object_names", "set", "step_start", "process_before_start", "process_end", "class"}}}},
  };
}

void Controller::run() {
  const pid_t runner = ::getppid();
  auto check_runner = [this, runner] {
    if (::getppid() != runner) {
      // Whoever started us is gone and nobody will send teardown: end everything now rather
      // than wait forever.
      log(kMain, "parent process " + std::to_string(runner) + " is gone, ending the process actors and exiting");
      stop_process_actors(0.0);
      std::fflush(nullptr);
      ::_exit(kOrphanExitCode);
    }
  };
  actor_.send(hello_message());
  actor_.serve({{"setup", [this](const json& m) { return on_setup(m); }},
                {"teardown", [this](const json& m) { return on_teardown(m); }}},
               check_runner);
}

bool Controller::on_setup(const json& message) {
  const json seq = message.value("seq", json());
  if (!seq.is_number_integer()) {
    log(kMain, "ignoring a setup without an integer seq");
    return false;
  }
  try {
    if (set_up_) throw SetupError("setup was already received");
    set_up_ = true;
    create_objects(message.value("objects", json::array()));
    start_actors(message.value("actors", json::array()));
  } catch (const std::exception& e) {
    std::string text = e.what();
    if (const auto* mpc_error = dynamic_cast<const mpc::Error*>(&e))
      text = std::string(mpc_error->python_type()) + ": " + text;
    else if (!dynamic_cast<const SetupError*>(&e) && !dynamic_cast<const CallError*>(&e))
      text = std::string(typeid(e).name()) + ": " + text;
    log(kMain, "setup failed: " + text);
    actor_.send({{"type", "setup_failed"}, {"re", seq}, {"error", {{"message", text}}}});
    return false;
  }
  actor_.send({{"type", "ready"}, {"re", seq}});
  return false;
}

void Controller::create_objects(const json& descriptions) {
  if (!descriptions.is_array()) throw SetupError("'objects' must be a list");
  for (const auto& description : descriptions) {
    if (!description.is_object())
      throw SetupError("an object must be a JSON object: " + description.dump().substr(0, 200));
    const std::string type = description.value("type", std::string());
    const mpc::Context context = context_named(description.value("context", std::string("fork")));
    auto names = names_of(description);
    for (const auto& name : names)
      if (name == kMain || space_->objects.contains(name)) throw SetupError("name '" + name + "' is used twice");
    Args args;
    try {
      args = decode_args(description.value("args", json::array()), description.value("kwargs", json::object()),
                         space_->objects);
    } catch (const CallError& e) {
      throw SetupError("bad value for " + names[0] + ": " + e.what());
    }
    for (auto& [name, object] : cpp_adapter::create_objects(type, names, args, context))
      space_->objects.put(name, std::move(object));
  }
}

void Controller::start_actors(const json& descriptions) {
  if (!descriptions.is_array()) throw SetupError("'actors' must be a list");
  std::vector<ActorDeclaration> actors;
  std::map<std::string, std::string> kinds;  // declared so far
  for (const auto& d : descriptions) {
    if (!d.is_object()) throw SetupError("an actor must be a JSON object: " + d.dump().substr(0, 200));
    ActorDeclaration a{d.value("name", std::string()), d.value("kind", std::string()), d.value("in", kMain),
                       d.value("start", std::string("setup")) == "step"};
    if (a.name.empty()) throw SetupError("actor needs a name: " + d.dump().substr(0, 200));
    if (a.name == kMain || space_->objects.contains(a.name) || kinds.contains(a.name))
      throw SetupError("name '" + a.name + "' is used twice");
    if (a.kind != "process" && a.kind != "thread")
      throw SetupError("actor '" + a.name + "' has unknown kind '" + a.kind + "'");
    if (a.in != kMain && kinds[a.in] != "process")
      throw SetupError("actor '" + a.name + "' is in '" + a.in +
                       "', which is not main or a process actor declared before");
    if (a.kind == "process")
      a.start_method = context_named(d.value("start_method", std::string("fork"))).start_method();
    if (auto it = d.find("daemon"); it != d.end()) {
      if (!it->is_boolean()) throw SetupError("actor '" + a.name + "': daemon is true or false");
      a.daemon = it->get<bool>();
    }
    kinds[a.name] = a.kind;
    actors.push_back(std::move(a));
  }
  space_->actors = std::move(actors);
  // Process actors are forked before main's thread actors start, so that no thread of ours is
  // inside a call (holding some lock) at a fork; it changes nothing anyone can observe, as the
  // runner waits for every actor's hello before the first step.
  start_setup_actors(space_);
}

bool Controller::on_teardown(const json& message) {
  stop_process_actors(kJoinBudget);
  join_thread_actors(kTerminateGrace);
  release_objects();
  actor_.send({{"type", "goodbye"}, {"re", message.value("seq", json())}, {"cleanup", json::array()}});
  return true;
}

void Controller::stop_process_actors(double join_budget) noexcept {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(join_budget));
  auto still_running = [](ProcessObject& p) {
    try {
      return !p.process().exitcode().has_value();
    } catch (...) {
      return false;
    }
  };
  // main's children: process actors, and what multiprocessing.Process made and a step started
  // (one never started, or whose start raised, has no pid and nothing to end).
  std::vector<std::shared_ptr<ProcessObject>> processes;
  {
    std::lock_guard lock(space_->started_m);
    for (const auto& p : space_->children)
      if (p->process().pid()) processes.push_back(p);
  }
  for (auto& p : processes) {
    try {
      (void)p->process().try_join(seconds_left(deadline));
    } catch (const std::exception& e) {
      log(kMain, std::string("joining a process actor failed: ") + e.what());
    }
  }
  for (int round = 0; round < 2; ++round) {
    std::vector<std::shared_ptr<ProcessObject>> stragglers;
    for (auto& p : processes)
      if (still_running(*p)) stragglers.push_back(p);
    if (stragglers.empty()) return;
    for (auto& p : stragglers) {
      log(kMain, "process actor " + p->process().name() + " (pid " + std::to_string(p->process().pid().value_or(0)) +
                     ") did not exit, " + (round == 0 ? "terminating" : "killing") + " it");
      try {
        if (round == 0)
          p->process().terminate();
        else
          p->process().kill();
      } catch (const std::exception& e) {
        log(kMain, std::string("signalling it failed: ") + e.what());
      }
    }
    for (auto& p : stragglers) {
      try {
        (void)p->process().try_join(kTerminateGrace);
      } catch (...) {
      }
    }
  }
}

void Controller::join_thread_actors(double budget) noexcept {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget));
  std::lock_guard lock(space_->started_m);
  for (auto& t : space_->threads) {
    if (!t.thread.joinable()) continue;
    if (t.finished.wait_until(deadline) == std::future_status::ready) {
      t.thread.join();
    } else {
      // Still inside a call: it cannot be stopped from outside. The process leaves with _exit().
      log(kMain, "thread actor " + t.name + " did not end, leaving it behind");
      t.thread.detach();
      threads_joined_ = false;
    }
  }
}

void Controller::release_objects() noexcept {
  // A queue whose items nobody will read would make this process wait at exit for them to be
  // written; after teardown they are not wanted.
  for (auto& [name, object] : space_->objects.snapshot()) object->release();
}

void Controller::abandon() noexcept {
  stop_process_actors(0.0);
  join_thread_actors(0.0);
  release_objects();
}

}  // namespace mpconform::cpp_adapter
