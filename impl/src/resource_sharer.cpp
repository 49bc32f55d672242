#include "mpc/resource_sharer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

#include "io.hpp"
#include "mpc/errors.hpp"
#include "mpc/listener.hpp"
#include "mpc/process.hpp"
#include "mpc/reduction.hpp"
#include "mpc/value.hpp"

namespace mpc::resource_sharer {
namespace {

// How long the thread waits for a connected client's request before dropping it.
constexpr double kRequestTimeout = kHandshakeTimeout;

struct Sharer {
  std::mutex m;
  std::int64_t key = 0;
  std::map<std::int64_t, Fd> cache;
  std::optional<Listener> listener;
  Fd wake_read;  // the thread stops when wake_write is written or closed
  Fd wake_write;
  // Heap-held so that a fork()ed child can drop its copy, which names no thread there.
  std::thread* thread = nullptr;
};

Sharer& sharer() {
  static auto* s = new Sharer;  // never destroyed: atexit and atfork handlers use it
  return *s;
}

void report(const char* what) {
  // CPython hands the exception to sys.excepthook and carries on.
  std::fprintf(stderr, "mpc resource sharer: %s\n", what);
}

// One client: authenticated by accept(); its request is None (stop, as CPython's stop() sends)
// or (key, pid).
void serve_one(Listener& listener) {
  Connection conn = listener.accept();
  std::optional<Value> request = conn.try_recv(kRequestTimeout);
  if (!request || request->is(Kind::None)) return;
  if (!request->is(Kind::Tuple) || request->size() != 2 || !request->at(0).is(Kind::Int) || !request->at(0).to_int64())
    throw ValueError("bad request " + repr(*request, 200));
  const std::int64_t key = *request->at(0).to_int64();
  Fd fd;
  {
    Sharer& s = sharer();
    std::lock_guard lk(s.m);
    auto it = s.cache.find(key);
    if (it == s.cache.end()) throw LookupError("no descriptor registered under key " + std::to_string(key));
    fd = std::move(it->second);
    s.cache.erase(it);
  }
  send_handle(conn, fd.get(), 0);  // the destination pid is unused on POSIX
}

void serve(Listener* listener, int wake) {
  for (;;) {
    pollfd fds[2] = {{listener->fileno(), POLLIN, 0}, {wake, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      report(std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    try {
      serve_one(*listener);
    } catch (const std::exception& e) {
      report(e.what());
    }
  }
}

void atfork_prepare() { sharer().m.lock(); }
void atfork_parent() { sharer().m.unlock(); }
void atfork_child() {
  Sharer& s = sharer();
  new (&s.m) std::mutex();
  s.thread = nullptr;  // leaked on purpose: it is the parent's thread, not one of ours
  s.wake_read.reset();
  s.wake_write.reset();
  s.listener.reset();  // a copy: closes the descriptor, leaves the parent's socket file
  s.cache.clear();
  s.key = 0;
}

void start_locked(Sharer& s) {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    std::atexit([] { stop(); });
  });
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) detail::raise_errno(errno);
  s.wake_read.reset(pipe_fds[0]);
  s.wake_write.reset(pipe_fds[1]);
  s.listener.emplace(std::nullopt, current_process_authkey(), 128);
  // The thread takes no signals (CPython blocks them all in its sharer thread): it inherits the
  // mask in force while it is made.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    s.thread = new std::thread(serve, &*s.listener, s.wake_read.get());
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    s.listener.reset();
    s.wake_read.reset();
    s.wake_write.reset();
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

Id share(int fd) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) detail::raise_errno(errno);
  Fd duplicate(copy);
  Sharer& s = sharer();
  std::lock_guard lk(s.m);
  if (s.thread == nullptr && s.listener) throw OSError("the resource sharer is stopping");
  if (s.thread == nullptr) start_locked(s);
  const std::int64_t key = ++s.key;
  s.cache.emplace(key, std::move(duplicate));
  return {s.listener->address(), key};
}

Fd detach(const Id& id) {
  Connection conn = Client(id.address, current_process_authkey());
  conn.send(Value::tuple({Value::integer(id.key), Value::integer(::getpid())}));
  return Fd(recv_handle(conn));
}

void stop() noexcept {
  Sharer& s = sharer();
  std::unique_lock lk(s.m);
  if (s.thread == nullptr) return;
  std::thread* thread = std::exchange(s.thread, nullptr);
  s.wake_write.reset();  // POLLHUP on wake_read
  // The thread takes the lock to look a key up: join without holding it.
  lk.unlock();
  thread->join();
  delete thread;
  lk.lock();
  s.wake_read.reset();
  s.listener.reset();  // closes and removes the socket file
  s.cache.clear();     // closes the duplicates nobody took
}

}  // namespace mpc::resource_sharer
