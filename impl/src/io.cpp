#include "io.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "mpc/errors.hpp"

namespace mpc::detail {

namespace {

// Holds SIGPIPE blocked in this thread while writing to a pipe, unless the process ignores it
// already (as every Python process does). A SIGPIPE our write caused is taken off the pending
// set before the mask is restored so that it is never delivered.
// Once SIGPIPE is seen ignored it is taken to stay so, sparing a sigaction() call on every
// write (a quarter of a small message's round trip); see io.hpp.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    static std::atomic<bool> seen_ignored{false};
    if (seen_ignored.load(std::memory_order_relaxed)) return;
    struct sigaction sa {};
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) {
      seen_ignored.store(true, std::memory_order_relaxed);
      return;
    }
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t old;
    if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0) return;
    active_ = true;
    was_blocked_ = sigismember(&old, SIGPIPE) == 1;
    old_ = old;
  }
  ~SigpipeGuard() {
    if (active_ && !was_blocked_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  // After EPIPE: discard the SIGPIPE the failed write queued for this thread.
  void swallow() noexcept {
    if (!active_ || was_blocked_) return;
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) == -1 && errno == EINTR) {
    }
  }

 private:
  bool active_ = false;
  bool was_blocked_ = false;
  sigset_t old_{};
};

}  // namespace

[[noreturn]] void raise_errno(int err) {
  // Python's str(OSError(errno, strerror)).
  std::string message = "[Errno " + std::to_string(err) + "] " + std::strerror(err);
  switch (err) {
    case EPIPE:
    case ESHUTDOWN: throw BrokenPipeError(message, err);
    case ECONNRESET: throw ConnectionResetError(message, err);
    case ETIMEDOUT: throw TimeoutError(message, err);
    default: throw OSError(message, err);
  }
}

void write_all(int fd, iovec* iov, int n, bool is_socket) {
  std::optional<SigpipeGuard> guard;
  if (!is_socket) guard.emplace();
  while (n > 0) {
    ssize_t w;
    if (n == 1) {
      w = is_socket ? ::send(fd, iov->iov_base, iov->iov_len, MSG_NOSIGNAL) : ::write(fd, iov->iov_base, iov->iov_len);
    } else if (is_socket) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(n);
      w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    } else {
      w = ::writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
    }
    if (w < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EPIPE && guard) guard->swallow();
      raise_errno(err);
    }
    auto left = static_cast<std::size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

std::size_t read_some(int fd, void* buf, std::size_t len) {
  for (;;) {
    ssize_t r = ::read(fd, buf, len);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) raise_errno(errno);
  }
}

bool wait_readable(int fd, const Deadline& deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_ms());
    if (r < 0) {
      if (errno == EINTR) continue;
      raise_errno(errno);
    }
    if (r > 0) {
      if (p.revents & POLLNVAL) raise_errno(EBADF);
      return true;
    }
    // poll_ms() rounds up, so a zero return means the deadline has passed (or was "now").
    if (deadline.expired() || deadline.poll_ms() == 0) return false;
  }
}

bool is_socket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno != EINTR) raise_errno(errno);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  return out;
}

}  // namespace mpc::detail
