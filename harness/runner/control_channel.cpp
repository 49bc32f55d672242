#include "control_channel.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "protocol.hpp"

namespace mpconform {
namespace {

// Messages queued per peer before libzmq stops reading its connection: with frames up to
// frame_bytes, this bounds the memory one peer can make the runner hold. A peer has at most a
// few messages outstanding (hello, started, result).
constexpr int kReceiveHighWater = 16;

}  // namespace

ControlChannel::ControlChannel(zmq::context_t& context, const Limits& limits)
    : socket_(context, zmq::socket_type::router), monitor_(context, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);  // sending to an unknown peer fails instead of vanishing
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(limits.frame_bytes));
  socket_.set(zmq::sockopt::rcvhwm, kReceiveHighWater);
  // A dropped connection (an oversized frame, a broken ZMTP stream, a peer that closed its socket)
  // is seen at once through the monitor rather than as a silence that only a timeout ends.
  const std::string monitor_endpoint =
      "inproc://mpconform-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
    throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor_endpoint);
  // An abstract Unix socket with an unguessable name, new for every session: a stray adapter of an
  // earlier run that reconnects on its own (ZeroMQ does) can never reach this one, as it could
  // through a reused loopback port; and it leaves no socket file anywhere.
  std::random_device random;
  char name[64];
  std::snprintf(name, sizeof name, "ipc://@mpconform-%d-%08x%08x", static_cast<int>(getpid()), random(), random());
  socket_.bind(name);
  endpoint_ = name;
}

bool ControlChannel::send(const std::string& to, const json& message) {
  std::string text = message.dump();
  try {
    socket_.send(zmq::buffer(to), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(text), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return false;
    throw;
  }
  return true;
}

void ControlChannel::read_monitor() {
  for (;;) {
    zmq::message_t event;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    // Frame 1: uint16 event, uint32 value (the connection's fd); frame 2: the endpoint.
    while (event.more()) {
      zmq::message_t rest;
      if (!monitor_.recv(rest, zmq::recv_flags::dontwait) || !rest.more()) break;
    }
    if (event.size() < 6) continue;
    std::uint16_t id;
    std::int32_t fd;
    std::memcpy(&id, event.data(), 2);
    std::memcpy(&fd, static_cast<const char*>(event.data()) + 2, 4);
    if (id == ZMQ_EVENT_ACCEPTED) {
      peer_of_fd_[fd] = "";  // a new connection: whose it is shows in its first message
    } else if (id == ZMQ_EVENT_DISCONNECTED && attributes_disconnects_) {
      auto it = peer_of_fd_.find(fd);
      Message m;
      m.kind = Message::Kind::Disconnected;
      if (it != peer_of_fd_.end()) {
        m.from = it->second;
        peer_of_fd_.erase(it);
      }
      disconnects_.push_back(m);
    }
  }
}

std::optional<ControlChannel::Message> ControlChannel::read_frame() {
  zmq::message_t id;
  if (!socket_.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
  Message m;
  m.from = id.to_string();
  if (!id.more()) throw ProtocolError("'" + m.from + "' sent a message of no frame after its routing id");
  zmq::message_t body;
  (void)socket_.recv(body);  // the parts of a message arrive together
  // Events are read before frames (and a connection is accepted before it delivers anything), so
  // the fd names the connection this frame came on.
  // ZMQ_SRCFD is deprecated in libzmq 4.3 but still answered; where it is not, disconnections
  // cannot be attributed, and the runner falls back to its timeouts.
  int fd = -1;
  try {
    fd = body.get(ZMQ_SRCFD);
  } catch (const zmq::error_t&) {
  }
  if (fd >= 0)
    peer_of_fd_[fd] = m.from;
  else
    attributes_disconnects_ = false;
  std::size_t frames = 1;
  for (bool more = body.more(); more; ++frames) {
    zmq::message_t extra;  // read and dropped one by one: never joined, never all held at once
    (void)socket_.recv(extra);
    more = extra.more();
  }
  if (frames > 1)
    throw ProtocolError("'" + m.from + "' sent a message of " + std::to_string(frames) +
                        " frames: one frame is one message (spec/adapter-protocol.md#transport)");
  m.text = body.to_string();
  return m;
}

std::optional<ControlChannel::Message> ControlChannel::receive(std::chrono::milliseconds timeout) {
  auto next_disconnect = [&]() -> std::optional<Message> {
    if (disconnects_.empty()) return std::nullopt;
    Message m = disconnects_.front();
    disconnects_.pop_front();
    return m;
  };
  read_monitor();
  if (auto m = next_disconnect()) return m;
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 2, timeout);
  read_monitor();
  // Frames first: a peer's last message (an exit's result) comes before its connection ends.
  if (items[0].revents & ZMQ_POLLIN)
    if (auto m = read_frame()) return m;
  return next_disconnect();
}

}  // namespace mpconform
