#include "mpc/reduction.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "io.hpp"
#include "mpc/errors.hpp"

namespace mpc {

void send_handle(Connection& conn, int handle, pid_t /*destination_pid*/) {
  int fd = conn.fileno();
  char count = 1;  // CPython: bytes([len(fds) % 256])
  iovec iov{&count, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&msg);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &handle, sizeof(int));
  for (;;) {
    if (::sendmsg(fd, &msg, MSG_NOSIGNAL) >= 0) return;
    if (errno != EINTR) detail::raise_errno(errno);
  }
}

int recv_handle(Connection& conn) {
  int fd = conn.fileno();
  char count = 0;
  iovec iov{&count, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) detail::raise_errno(errno);
  cmsghdr* header = CMSG_FIRSTHDR(&msg);
  if (n == 0 && !header) throw EOFError("");
  if (!header || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
    throw RuntimeError("received 0 items of ancdata");
  if (header->cmsg_len != CMSG_LEN(sizeof(int)) || (msg.msg_flags & MSG_CTRUNC)) {
    // More descriptors than asked for: close what arrived, as nothing here will own them.
    std::size_t got = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < got && CMSG_LEN(sizeof(int) * (i + 1)) <= header->cmsg_len; ++i) {
      int extra;
      std::memcpy(&extra, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      ::close(extra);
    }
    throw RuntimeError("Invalid data received");
  }
  int received;
  std::memcpy(&received, CMSG_DATA(header), sizeof(int));
  if (count != 1) {
    ::close(received);
    throw RuntimeError("Len is 1 but msg[0] is " + std::to_string(static_cast<unsigned char>(count)));
  }
  return received;
}

}  // namespace mpc
