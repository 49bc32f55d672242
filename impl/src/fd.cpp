#include "mpc/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "io.hpp"

namespace mpc {

void Fd::reset(int fd) noexcept {
  int old = std::exchange(fd_, fd);
  if (old >= 0) ::close(old);
}

void Fd::close() {
  int old = release();
  if (old >= 0 && ::close(old) != 0 && errno != EINTR) detail::raise_errno(errno);
}

Fd Fd::dup() const {
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) detail::raise_errno(errno);
  return Fd(fd);
}

void Fd::set_inheritable(bool inheritable) {
  int flags = ::fcntl(fd_, F_GETFD);
  if (flags < 0) detail::raise_errno(errno);
  int want = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
  if (want != flags && ::fcntl(fd_, F_SETFD, want) != 0) detail::raise_errno(errno);
}

bool Fd::inheritable() const {
  int flags = ::fcntl(fd_, F_GETFD);
  if (flags < 0) detail::raise_errno(errno);
  return (flags & FD_CLOEXEC) == 0;
}

}  // namespace mpc
