// The runner's end of the control channel: one ZeroMQ ROUTER socket bound on loopback.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "limits.hpp"
#include "values.hpp"

namespace mpconform {

class ControlChannel {
 public:
  struct Message {
    enum class Kind { Frame, Disconnected };
    Kind kind = Kind::Frame;
    std::string from;  // routing id of the sender (its actor name); for Disconnected, of the peer
                       // whose connection ended ("" if it never delivered a message)
    std::string text;  // the frame as received
  };

  // Frames over limits.frame_bytes never get into memory: libzmq drops the peer's connection
  // instead (ZMQ_MAXMSGSIZE), which receive() reports as Disconnected.
  ControlChannel(zmq::context_t& context, const Limits& limits);
  const std::string& endpoint() const { return endpoint_; }
  // Sends one JSON message to the peer with that routing id; false if the peer is not connected.
  bool send(const std::string& to, const json& message);
  // The next message or disconnection, or nullopt after the timeout. Throws ProtocolError for a
  // message of more than one frame (one frame is one message).
  std::optional<Message> receive(std::chrono::milliseconds timeout);

 private:
  void read_monitor();
  std::optional<Message> read_frame();

  zmq::socket_t socket_;
  zmq::socket_t monitor_;  // ACCEPTED and DISCONNECTED events of socket_
  std::string endpoint_;
  std::map<int, std::string> peer_of_fd_;  // connection fd -> routing id of its last message
  std::deque<Message> disconnects_;
  bool attributes_disconnects_ = true;  // false once a frame came without its fd (ZMQ_SRCFD)
};

}  // namespace mpconform
