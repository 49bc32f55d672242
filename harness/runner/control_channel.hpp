// The runner's end of the control channel: one ZeroMQ ROUTER socket bound on loopback.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "values.hpp"

namespace mpconform {

class ControlChannel {
 public:
  struct Message {
    std::string from;  // routing id of the sender (its actor name)
    std::string text;  // the frame as received
  };

  explicit ControlChannel(zmq::context_t& context);
  const std::string& endpoint() const { return endpoint_; }
  // Sends one JSON message to the peer with that routing id; false if the peer is not connected.
  bool send(const std::string& to, const json& message);
  // The next message, or nullopt after the timeout.
  std::optional<Message> receive(std::chrono::milliseconds timeout);

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
};

}  // namespace mpconform
