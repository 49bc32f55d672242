// The control channel of one actor: one ZeroMQ DEALER socket with a context of its own, carrying
// one JSON object per frame (spec/adapter-protocol.md#transport).
//
// Fork safety: ZeroMQ is not fork-safe. A process actor is a fork() of the controller, so its
// memory holds a copy of the controller's Channel, whose context has I/O threads that do not exist
// in the child. Terminating that copy would wait forever for those threads (or write to the
// parent's internal pipes). So a Channel remembers the process that opened it, and in any other
// process it is never closed: its destructor deliberately leaks the context and socket objects.
// Children make a fresh Channel after fork().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

inline constexpr int kLingerMs = 1000;  // a last reply gets delivered, an exit never hangs

class Channel {
 public:
  // Connects with `routing_id` set before connecting. Throws zmq::error_t on failure.
  Channel(const std::string& endpoint, const std::string& routing_id);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends one message as compact JSON.
  void send(const json& message);

  // The next message that is one JSON object in one frame, or nullopt when none arrived within
  // `timeout` (nullopt: wait forever). Anything else is logged and skipped.
  std::optional<json> receive(std::optional<std::chrono::milliseconds> timeout);

  // Closes the socket and terminates the context, waiting up to kLingerMs for unsent messages.
  // Idempotent; does nothing in a process other than the one that opened the channel.
  void close() noexcept;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  pid_t owner_;
  std::string name_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<zmq::socket_t> socket_;
};

}  // namespace mpconform::cpp_adapter
