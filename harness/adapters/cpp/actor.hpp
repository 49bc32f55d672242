// The call loop of an actor (spec/adapter-protocol.md#call-started-result), the process an actor
// runs in (its objects, the actors it starts), and the bodies of thread and process actors.
#pragma once

#include <sys/types.h>

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "channel.hpp"
#include "families/process.hpp"
#include "mpc/context.hpp"
#include "mpc/spawn.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

inline constexpr int kProtocol = 1;
inline const std::string kMainActor = "main";

// An actor of setup.actors: `in` is the process actor (or main) whose process starts it, at
// setup or when a step asks (`start`).
struct ActorDeclaration {
  std::string name, kind, in;
  bool started_by_step = false;
  std::optional<bool> daemon{};  // none: the flag of the process that makes it (CPython's default)
  mpc::StartMethod start_method = mpc::StartMethod::fork;  // a process actor's
};

// A thread actor: its own std::thread and Channel, the objects of the process it runs in.
struct ThreadActor {
  std::string name;
  std::thread thread;
  std::future<void> finished;  // ready once the thread has left its loop
};

// One process of the adapter (the controller, or a process actor): what its actors share.
struct ProcessSpace {
  std::string endpoint;
  std::string name;      // "main" or the process actor's name
  pid_t parent_pid = 0;  // 0 in main, whose parent is the runner
  std::string parent_name;
  Registry objects;
  std::vector<ActorDeclaration> actors;  // every actor of the case

  // The actors this process started (guarded: thread actors start them too).
  std::mutex started_m;
  std::set<std::string> started;
  std::vector<std::shared_ptr<ProcessObject>> children;
  // Process actors made but not started yet -> what each is given at its start (start_actor): the
  // objects themselves for a forked one, a spawned one's arguments (shared with its Process).
  std::map<std::string, std::shared_ptr<Registry::Map>> unstarted;
  std::map<std::string, mpc::SpawnArgs> unstarted_spawns;
  std::vector<ThreadActor> threads;
  std::shared_ptr<Object> current_view, parent_view;  // current_process(), parent_process()

  [[nodiscard]] const ActorDeclaration* declaration(const std::string& actor) const;
};

// Starts the actor NAME declared `in` this process: a fork()ed process actor (given every object
// this process holds now) or a thread actor. Throws CallError when NAME is not this process's to
// start; mpc's errors (OSError of fork) propagate.
void start_actor(const std::shared_ptr<ProcessSpace>& space, const std::string& name);
// Starts every actor declared in this process with start: setup, process actors first (so that
// no thread of ours is inside a call at a fork).
void start_setup_actors(const std::shared_ptr<ProcessSpace>& space);

class Actor {
 public:
  // ends_on_exit: false for main, which answers `exit` and goes on serving its controller role.
  Actor(std::string name, Channel& channel, std::shared_ptr<ProcessSpace> space, bool ends_on_exit = true);

  void send(json message);  // adds "protocol"
  void send_hello();

  // Returns true to stop serving.
  using Handler = std::function<bool(const json& message)>;
  // Called about once a second while no message arrives.
  using IdleCheck = std::function<void()>;

  // Serves messages one at a time: returns the code of `exit` (`return`, `raise`), or nullopt
  // when a handler stops.
  std::optional<int> serve(const std::map<std::string, Handler>& handlers = {}, const IdleCheck& idle = {});

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  // Answers started, makes the call, answers its result. Returns the code of `exit`.
  std::optional<int> handle_call(const json& message);
  Invocation prepare(const json& message, std::optional<int>& exit_code);
  Invocation prepare_actor_op(const std::string& method, const Args& args, std::optional<int>& exit_code);
  void bind_names(const json& message, const Outcome& outcome);
  [[nodiscard]] json encode_outcome(const Outcome& outcome) const;
  void send_error(const json& seq, const std::string& kind, const std::string& message, double elapsed = 0.0);

  std::string name_;
  Channel& channel_;
  std::shared_ptr<ProcessSpace> space_;
  bool ends_on_exit_;
};

[[nodiscard]] ThreadActor start_thread_actor(const std::string& name, std::shared_ptr<ProcessSpace> space);

// The body of a process actor, run in the fork()ed child: its own Channel, the actors it starts
// at setup, its loop. Returns the exit code `exit` asked for.
int process_actor_main(std::shared_ptr<ProcessSpace> space);

// The name under which the adapter registers the body of a spawned process actor
// (mpc::register_target), which main() registers before mpc::spawn_main().
inline constexpr const char* kSpawnedActorTarget = "mpconform.process_actor";
void register_spawned_actor_target();

// Fills a spawned process actor's arguments with what it is given: `objects` (CallError for one
// the adapter cannot share) and what it needs to join the case.
void share_with_spawned(mpc::SpawnArgs& args, const ProcessSpace& space, const std::string& child,
                        const Registry::Map& objects);

// Module-level functions (`"target": null, "method": "multiprocessing.…"`), in functions.cpp.
[[nodiscard]] Invocation prepare_function(const std::string& name, const Args& args,
                                          const std::shared_ptr<ProcessSpace>& space);
[[nodiscard]] std::vector<std::string> supported_functions();

}  // namespace mpconform::cpp_adapter
