#include "control_channel.hpp"

#include <zmq_addon.hpp>

namespace mpconform {

ControlChannel::ControlChannel(zmq::context_t& context) : socket_(context, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);  // sending to an unknown peer fails instead of vanishing
  socket_.bind("tcp://127.0.0.1:*");
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
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

std::optional<ControlChannel::Message> ControlChannel::receive(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  std::vector<zmq::message_t> parts;
  auto n = zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait);
  if (!n || parts.empty()) return std::nullopt;
  Message m;
  m.from = parts[0].to_string();
  // A well-behaved DEALER sends one frame; more frames are joined so the parser reports them as garbage.
  for (std::size_t i = 1; i < parts.size(); ++i) m.text += parts[i].to_string();
  return m;
}

}  // namespace mpconform
