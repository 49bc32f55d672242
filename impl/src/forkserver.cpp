// The forkserver start method (CPython's multiprocessing.forkserver): a server process, started
// by spawn on first use, forks every child. The server is a fresh program that has run nothing
// but main()'s first lines (spawn_main() at the top of main), so its children start from a clean,
// single-threaded state, however many threads the parent has.
//
// Parent and server talk over one socket pair. Per child the parent sends, with SCM_RIGHTS, the
// read end of a pipe that will carry the preparation data, the write end of a status pipe and
// the memfds of the objects; the server forks, answers the child's pid, and when the child ends
// writes its wait status (4 bytes) to the status pipe and closes it. The child is the server's,
// not the parent's: the parent learns of its end from the status pipe, which is also its
// sentinel. The server leaves when the parent's end of the socket closes (the parent's exit).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "io.hpp"
#include "mpc/errors.hpp"
#include "spawning.hpp"

namespace mpc::detail {

namespace {

// At most this many objects per child: SCM_RIGHTS carries them with the two pipe ends.
constexpr std::size_t kMaxDescriptors = 250;

struct Server {
  std::mutex m;  // one request at a time on the socket
  pid_t pid = -1;
  Fd socket;
};

Server& server() {
  static auto* s = new Server;  // never destroyed: used at exit
  return *s;
}

// A fork()ed child has its own server, if it ever needs one: the parent's socket is not its to
// use, and its copy would keep the parent's server alive after the parent.
void forget_server_in_child() {
  Server& s = server();
  new (&s.m) std::mutex();
  s.socket.reset();
  s.pid = -1;
}

const bool atfork_registered = [] {
  ::pthread_atfork(nullptr, nullptr, forget_server_in_child);
  return true;
}();

void send_with_descriptors(int socket, const std::vector<int>& fds) {
  char byte = 0;
  iovec iov{&byte, 1};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  for (;;) {
    if (::sendmsg(socket, &msg, MSG_NOSIGNAL) == 1) return;
    if (errno != EINTR) raise_errno(errno);
  }
}

// One message: nullopt at end of stream; the descriptors it carried (close-on-exec).
std::optional<std::vector<int>> receive_with_descriptors(int socket) {
  char byte = 0;
  iovec iov{&byte, 1};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (kMaxDescriptors + 2)));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const std::size_t at = fds.size();
    fds.resize(at + count);
    std::memcpy(fds.data() + at, CMSG_DATA(c), sizeof(int) * count);
  }
  return fds;
}

bool read_exactly(int fd, void* buf, std::size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const std::size_t n = read_some(fd, p, len);
    if (n == 0) return false;
    p += n;
    len -= n;
  }
  return true;
}

void write_int(int fd, std::int32_t value, bool is_socket = false) {
  iovec iov{&value, sizeof value};
  try {
    write_all(fd, &iov, 1, is_socket);
  } catch (const OSError&) {
    // The parent closed its end: nobody is waiting for this child any more.
  }
}

// Starts the server unless it runs: a spawn of this program, given its end of a socket pair.
void ensure_running(Server& s) {
  if (s.pid > 0) {
    int status = 0;
    if (::waitpid(s.pid, &status, WNOHANG) == 0) return;
    s.socket.reset();
    s.pid = -1;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) raise_errno(errno);
  Fd ours(sv[0]);
  Fd theirs(sv[1]);
  const std::string socket_arg = "socket=" + std::to_string(theirs.get());
  const pid_t pid =
      spawn_program("/proc/self/exe", {program_path(), "--multiprocessing-forkserver", socket_arg}, {theirs.get()});
  s.socket = std::move(ours);
  s.pid = pid;
}

Fd pipe_end(int (&fds)[2], int which) { return Fd(fds[which]); }

}  // namespace

pid_t forkserver_target(const SpawnRequest& request, Fd& status) {
  std::vector<int> objects;
  const std::string payload = preparation_data(request, objects);
  if (objects.size() > kMaxDescriptors) throw ValueError("too many objects for one forkserver child");
  int data_fds[2], status_fds[2];
  if (::pipe2(data_fds, O_CLOEXEC) != 0) raise_errno(errno);
  Fd data_read = pipe_end(data_fds, 0), data_write = pipe_end(data_fds, 1);
  if (::pipe2(status_fds, O_CLOEXEC) != 0) raise_errno(errno);
  Fd status_read = pipe_end(status_fds, 0), status_write = pipe_end(status_fds, 1);

  std::vector<int> sent = {data_read.get(), status_write.get()};
  sent.insert(sent.end(), objects.begin(), objects.end());
  std::int32_t pid = -1;
  {
    Server& s = server();
    std::lock_guard lk(s.m);
    ensure_running(s);
    send_with_descriptors(s.socket.get(), sent);
    if (!read_exactly(s.socket.get(), &pid, sizeof pid)) {
      s.socket.reset();  // a dead server: the next start makes a new one
      throw OSError("the forkserver ended before starting the process");
    }
    if (pid <= 0) throw OSError("the forkserver could not fork the process");
  }
  data_read.reset();
  status_write.reset();
  try {
    iovec iov{const_cast<char*>(payload.data()), payload.size()};
    write_all(data_write.get(), &iov, 1, false);
  } catch (const OSError&) {
    // The child died before reading: its wait status tells the story.
  }
  status = std::move(status_read);
  return pid;
}

void stop_forkserver() noexcept {
  Server& s = server();
  std::lock_guard lk(s.m);
  if (s.pid <= 0) return;
  s.socket.reset();  // the server reads end of file and leaves
  int status = 0;
  while (::waitpid(s.pid, &status, 0) < 0 && errno == EINTR) {
  }
  s.pid = -1;
}

void forkserver_main(int socket_fd) {
  Fd socket(socket_fd);
  socket.set_inheritable(false);
  // SIGCHLD through a descriptor, so that one poll() waits for requests and ends alike; SIGINT
  // (a terminal's ^C) is the parent's to handle, as in CPython's server.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  ::signal(SIGINT, SIG_IGN);
  Fd children_ended(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  std::map<pid_t, int> status_of;  // running children -> the write end of their status pipe

  for (;;) {
    pollfd fds[2] = {{socket.get(), POLLIN, 0}, {children_ended.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) {
      signalfd_siginfo info;
      while (::read(children_ended.get(), &info, sizeof info) == sizeof info) {
      }
      int wait_status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &wait_status, WNOHANG)) > 0) {
        auto it = status_of.find(pid);
        if (it == status_of.end()) continue;
        write_int(it->second, wait_status);
        ::close(it->second);
        status_of.erase(it);
      }
    }
    if (!fds[0].revents) continue;
    auto received = receive_with_descriptors(socket.get());
    if (!received) break;  // the parent is gone
    if (received->size() < 2) {
      for (int fd : *received) ::close(fd);
      continue;
    }
    const int data_read = (*received)[0], status_write = (*received)[1];
    const std::vector<int> objects(received->begin() + 2, received->end());
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::signal(SIGINT, SIG_DFL);
      ::sigprocmask(SIG_UNBLOCK, &chld, nullptr);
      children_ended.reset();
      socket.reset();
      for (const auto& [other, fd] : status_of) ::close(fd);
      ::close(status_write);
      std::string payload;
      try {
        char buf[65536];
        for (std::size_t n; (n = read_some(data_read, buf, sizeof buf)) > 0;) payload.append(buf, n);
      } catch (const Error& e) {
        std::fprintf(stderr, "forkserver child: cannot read its preparation data: %s\n", e.what());
        ::_exit(1);
      }
      ::close(data_read);
      const int code = run_prepared(payload, &objects);
      std::fflush(nullptr);
      ::_exit(code);
    }
    ::close(data_read);
    for (int fd : objects) ::close(fd);
    if (pid < 0) {
      ::close(status_write);
      write_int(socket.get(), -1, true);
      continue;
    }
    status_of[pid] = status_write;
    write_int(socket.get(), pid, true);
  }
  std::fflush(nullptr);
  ::_exit(0);
}

}  // namespace mpc::detail
