#include "mpc/wait.hpp"

#include <poll.h>

#include <cerrno>

#include "io.hpp"
#include "mpc/errors.hpp"

namespace mpc {

std::vector<int> wait(std::span<const int> fds, Timeout timeout) {
  std::vector<pollfd> polled;
  polled.reserve(fds.size());
  for (int fd : fds) {
    // CPython's selectors refuse a negative file descriptor with ValueError.
    if (fd < 0) throw ValueError("Invalid file descriptor: " + std::to_string(fd));
    polled.push_back(pollfd{fd, POLLIN, 0});
  }
  const Deadline deadline = Deadline::after(timeout);
  for (;;) {
    int n = ::poll(polled.data(), polled.size(), deadline.poll_ms());
    if (n < 0) {
      if (errno == EINTR) {
        if (deadline.expired()) return {};
        continue;
      }
      detail::raise_errno(errno);
    }
    std::vector<int> ready;
    for (const auto& p : polled) {
      if (p.revents & POLLNVAL) detail::raise_errno(EBADF);
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) ready.push_back(p.fd);
    }
    if (!ready.empty() || deadline.expired()) return ready;
    // poll_ms rounds up, so a poll that returned early is repeated until the deadline.
  }
}

}  // namespace mpc
