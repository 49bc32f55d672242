// The controller: the adapter's first process, which is also the actor `main`.
// hello -> setup (objects, actors) -> ready -> calls to main ... -> teardown -> goodbye.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actor.hpp"
#include "channel.hpp"
#include "families/process.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

struct ControllerOptions {
  std::string endpoint;
  std::string semantics = "3.12";  // the Python version whose behaviour mpc follows
};

class Controller {
 public:
  Controller(ControllerOptions options, Channel& channel);

  // Runs the session to goodbye. Throws when the control channel fails.
  void run();

  // After a failure: stops the process actors at once and lets queues be abandoned.
  void abandon() noexcept;

  // Whether every thread actor has ended (and was joined): only then may the process leave
  // through the normal exit path, which destroys objects threads could still be using.
  [[nodiscard]] bool threads_joined() const noexcept { return threads_joined_; }

 private:
  json hello_message() const;
  bool on_setup(const json& message);
  bool on_teardown(const json& message);
  void create_objects(const json& descriptions);
  void start_actors(const json& descriptions);
  void stop_process_actors(double join_budget) noexcept;
  void join_thread_actors(double budget) noexcept;
  void release_objects() noexcept;

  ControllerOptions options_;
  Channel& channel_;
  std::shared_ptr<ProcessSpace> space_;  // main's: the objects, the actors it started
  Actor actor_;
  bool set_up_ = false;
  bool threads_joined_ = true;
};

}  // namespace mpconform::cpp_adapter
