#include "channel.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include <zmq.hpp>

#include "log.hpp"

namespace mpconform::cpp_adapter {

using Clock = std::chrono::steady_clock;

Channel::Channel(const std::string& endpoint, const std::string& routing_id) : owner_(::getpid()), name_(routing_id) {
  context_ = std::make_unique<zmq::context_t>(1);
  socket_ = std::make_unique<zmq::socket_t>(*context_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::routing_id, routing_id);
  socket_->set(zmq::sockopt::linger, kLingerMs);
  socket_->connect(endpoint);
}

Channel::~Channel() {
  if (::getpid() != owner_) {
    // Inherited through fork(): see the header. Leaked on purpose.
    (void)socket_.release();
    (void)context_.release();
    return;
  }
  close();
}

void Channel::close() noexcept {
  if (::getpid() != owner_) return;
  try {
    if (socket_) socket_->close();
    socket_.reset();
    if (context_) context_->close();  // zmq_ctx_term: flushes within the linger time; retries EINTR
    context_.reset();
  } catch (const std::exception& e) {
    log(name_, std::string("closing the control channel failed: ") + e.what());
  }
}

void Channel::send(const json& message) {
  // Invalid UTF-8 (a str with lone surrogates) is replaced rather than made an exception: the
  // runner then sees a different str, which is a visible failure, not a lost reply.
  std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
  for (;;) {
    try {
      socket_->send(zmq::buffer(text), zmq::send_flags::none);
      return;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

std::optional<json> Channel::receive(std::optional<std::chrono::milliseconds> timeout) {
  const auto deadline = timeout ? std::optional(Clock::now() + *timeout) : std::nullopt;
  for (;;) {
    long wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      wait_ms = left > 0 ? left : 0;
    }
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    int ready = 0;
    try {
      ready = zmq::poll(&item, 1, std::chrono::milliseconds(wait_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
      continue;
    }
    if (ready == 0) {
      if (deadline && Clock::now() >= *deadline) return std::nullopt;
      continue;
    }
    std::vector<zmq::message_t> frames;
    for (;;) {
      zmq::message_t frame;
      try {
        if (!socket_->recv(frame, zmq::recv_flags::none)) continue;
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
        continue;
      }
      bool more = frame.more();
      frames.push_back(std::move(frame));
      if (!more) break;
    }
    if (frames.size() != 1) {
      log(name_, "ignoring a message of " + std::to_string(frames.size()) + " frames (one expected)");
      continue;
    }
    json message = json::parse(frames[0].to_string_view(), nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
      log(name_,
          "ignoring a frame that is not a JSON object: " + std::string(frames[0].to_string_view().substr(0, 120)));
      continue;
    }
    return message;
  }
}

}  // namespace mpconform::cpp_adapter
