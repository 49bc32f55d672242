// The call loop of an actor (spec/adapter-protocol.md#call-started-result), and the bodies of
// thread actors and process actors.
#pragma once

#include <sys/types.h>

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "channel.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

inline constexpr int kProtocol = 1;

class Actor {
 public:
  // ends_on_exit: false for main, which answers `exit` and goes on serving its controller role.
  Actor(std::string name, Channel& channel, std::shared_ptr<const Registry> registry, bool ends_on_exit = true);

  void send(json message);  // adds "protocol"
  void send_hello();

  // Returns true to stop serving.
  using Handler = std::function<bool(const json& message)>;
  // Called about once a second while no message arrives.
  using IdleCheck = std::function<void()>;

  // Serves messages one at a time: returns the code of `exit`, or nullopt when a handler stops.
  std::optional<int> serve(const std::map<std::string, Handler>& handlers = {}, const IdleCheck& idle = {});

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  // Answers started, makes the call, answers its result. Returns the code of `exit`.
  std::optional<int> handle_call(const json& message);
  Invocation prepare(const json& message, std::optional<int>& exit_code);
  void send_error(const json& seq, const std::string& kind, const std::string& message, double elapsed = 0.0);

  std::string name_;
  Channel& channel_;
  std::shared_ptr<const Registry> registry_;
  bool ends_on_exit_;
};

// A thread actor: its own std::thread and Channel, the registry of the process it runs in.
struct ThreadActor {
  std::string name;
  std::thread thread;
  std::future<void> finished;  // ready once the thread has left its loop
};

[[nodiscard]] ThreadActor start_thread_actor(const std::string& endpoint, const std::string& name,
                                             std::shared_ptr<const Registry> registry);

// The body of a process actor, run in the fork()ed child: its own Channel, its thread actors,
// its loop. Returns the exit code `exit` asked for.
int process_actor_main(const std::string& endpoint, const std::string& name, std::shared_ptr<const Registry> objects,
                       const std::vector<std::string>& thread_names, pid_t parent);

}  // namespace mpconform::cpp_adapter
