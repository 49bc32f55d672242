#include "mpc/process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>
#include <typeinfo>

#include "io.hpp"
#include "mpc/errors.hpp"
#include "mpc/fd.hpp"
#include "mpc/queue.hpp"
#include "mpc/resource_sharer.hpp"
#include "spawning.hpp"

extern char** environ;

namespace mpc {

namespace detail {

struct ProcessState {
  std::function<int()> target;     // a function, forked
  std::optional<Command> command;  // a program, posix_spawn()ed
  std::optional<Target> named;     // a registered target, by `method`
  StartMethod method = StartMethod::fork;
  std::string name;
  std::vector<int> identity;  // CPython's _identity: the parent's plus this child's number
  bool daemon = false;
  pid_t creator = ::getpid();  // only this process may start/join/terminate it
  pid_t pid = -1;              // -1: not started
  Fd pidfd;                    // readable once the child has ended
  // A forkserver's child, not ours: `pidfd` is then the status pipe the server writes its wait
  // status to (and its sentinel, as in CPython).
  bool via_server = false;
  std::optional<int> returncode;
  bool closed = false;
};

}  // namespace detail

namespace {

using detail::ProcessState;

// ---- this process's identity (CPython's current_process()) -----------------------------------

struct Current {
  std::string name = "MainProcess";
  bool daemon = false;
  std::vector<int> identity;  // "1:2" style numbering of children, as CPython
  int counter = 0;
};

Current& current() {
  static auto* c = new Current;
  return *c;
}

// ---- children of this process, for the exit-time cleanup and active_children() --------------

struct Children {
  std::mutex m;
  std::vector<ProcessState*> list;
};

Children& children() {
  static auto* c = new Children;  // never destroyed: the atexit handler uses it
  return *c;
}

void children_prepare() { children().m.lock(); }
void children_parent() { children().m.unlock(); }
void children_child() {
  // The child is nobody's parent yet: its copies of the parent's Process objects describe its
  // siblings. Forget them (without touching them).
  Children& c = children();
  new (&c.m) std::mutex();
  std::vector<ProcessState*>().swap(c.list);
}

void at_exit_cleanup() noexcept;

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(children_prepare, children_parent, children_child);
    std::atexit([] { at_exit_cleanup(); });
  });
}

void add_child(ProcessState* s) {
  Children& c = children();
  std::lock_guard lk(c.m);
  c.list.push_back(s);
}

void remove_child(ProcessState* s) {
  Children& c = children();
  std::lock_guard lk(c.m);
  std::erase(c.list, s);
}

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // always close-on-exec
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int decode_status(int status) {
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 255;
}

// A forkserver child's status, from the server: 4 bytes, or end of file if the server died.
bool reap_from_server(ProcessState& s, bool block) {
  if (!detail::wait_readable(s.pidfd.get(), block ? Deadline::never() : Deadline::after(0.0))) return false;
  int status = 0;
  std::size_t got = 0;
  while (got < sizeof status) {
    const std::size_t n = detail::read_some(s.pidfd.get(), reinterpret_cast<char*>(&status) + got, sizeof status - got);
    if (n == 0) break;
    got += n;
  }
  // The server closes the pipe right after writing: wait for that, so that the sentinel stays
  // readable from now on (an emptied pipe still open would not be).
  char rest;
  while (got == sizeof status && detail::read_some(s.pidfd.get(), &rest, 1) > 0) {
  }
  s.returncode = got == sizeof status ? decode_status(status) : 255;
  return true;
}

// Collects the child's status if it has ended (or, with block, once it ends).
bool reap(ProcessState& s, bool block) {
  if (s.returncode) return true;
  if (s.via_server) return reap_from_server(s, block);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(s.pid, &status, block ? 0 : WNOHANG);
    if (r == s.pid) {
      s.returncode = decode_status(status);
      return true;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    if (errno == ECHILD) {
      // Someone else reaped it (SIGCHLD ignored, a stray waitpid(-1)): the status is lost.
      s.returncode = 255;
      return true;
    }
    detail::raise_errno(errno);
  }
}

bool wait_until(ProcessState& s, const Deadline& deadline) {
  if (reap(s, false)) return true;
  if (s.pidfd.valid()) {
    if (!detail::wait_readable(s.pidfd.get(), deadline)) return false;
    return reap(s, true);
  }
  // No pidfd (old kernel): poll with short sleeps, never past the deadline.
  auto nap = std::chrono::microseconds(200);
  for (;;) {
    if (reap(s, false)) return true;
    if (deadline.expired()) return false;
    auto step = nap;
    if (auto tp = deadline.time_point()) {
      auto left = *tp - std::chrono::steady_clock::now();
      if (left < step) step = std::chrono::duration_cast<std::chrono::microseconds>(left);
    }
    std::this_thread::sleep_for(step);
    nap = std::min(nap * 2, std::chrono::microseconds(20'000));
  }
}

void send_signal(ProcessState& s, int sig) {
  // Only while unreaped: the pid cannot have been reused by then.
  if (s.pid > 0 && !s.returncode && ::kill(s.pid, sig) != 0 && errno != ESRCH) detail::raise_errno(errno);
}

// Children still running when this process leaves: CPython's util._exit_function().
void cleanup_children() noexcept {
  std::vector<ProcessState*> list;
  {
    std::lock_guard lk(children().m);
    list = children().list;
  }
  for (ProcessState* s : list) {
    if (s->creator == ::getpid() && s->daemon && !s->returncode) {
      try {
        send_signal(*s, SIGTERM);
      } catch (...) {
      }
    }
  }
  for (ProcessState* s : list) {
    if (s->creator != ::getpid()) continue;
    try {
      wait_until(*s, Deadline::never());
    } catch (...) {
    }
  }
}

// The forkserver goes last: it reports how the children it forked ended.
void at_exit_cleanup() noexcept {
  cleanup_children();
  detail::stop_forkserver();
}

std::vector<int> next_identity() {
  Current& c = current();
  std::vector<int> id = c.identity;
  id.push_back(++c.counter);
  return id;
}

std::string default_name(const std::vector<int>& identity) {
  std::string name = "Process-";
  for (std::size_t i = 0; i < identity.size(); ++i) {
    if (i > 0) name += ':';
    name += std::to_string(identity[i]);
  }
  return name;
}

void report_child_error(const std::string& name, const char* type, const char* what) {
  std::fprintf(stderr, "Process %s:\n%s: %s\n", name.c_str(), type, what);
}

[[noreturn]] void run_child(ProcessState& s, pid_t parent, bool arm_death_signal) {
  if (s.daemon && arm_death_signal) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    // The parent may have died between fork() and prctl(): act as if the signal came.
    if (::getppid() != parent) ::raise(SIGTERM);
  }
  detail::become_child(s.name, s.daemon, s.identity);
  const int code = detail::run_in_child(s.name, s.target);
  std::fflush(nullptr);
  ::_exit(code);
}

pid_t spawn_command(const Command& cmd) {
  if (cmd.argv.empty()) throw ValueError("Command.argv must name a program");
  std::vector<char*> envp;
  if (cmd.env) {
    for (const auto& e : *cmd.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  const bool search = cmd.argv[0].find('/') == std::string::npos;
  return detail::spawn_program(cmd.argv[0].c_str(), cmd.argv, cmd.pass_fds, cmd.env ? envp.data() : nullptr, search);
}

}  // namespace

pid_t detail::spawn_program(const char* path, const std::vector<std::string>& argv, const std::vector<int>& keep,
                            char** envp, bool search) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // dup2(fd, fd) in the child clears close-on-exec: exactly these descriptors survive the exec.
  for (int fd : keep) posix_spawn_file_actions_adddup2(&fa, fd, fd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  char** env = envp ? envp : environ;
  const int rc = search ? ::posix_spawnp(&pid, path, &fa, &attr, args.data(), env)
                        : ::posix_spawn(&pid, path, &fa, &attr, args.data(), env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) raise_errno(rc);
  return pid;
}

void detail::become_child(const std::string& name, bool daemon, const std::vector<int>& identity) {
  Current& me = current();
  me.name = name;
  me.daemon = daemon;
  me.identity = identity;
  me.counter = 0;
}

int detail::run_in_child(const std::string& name, const std::function<int()>& target) noexcept {
  int code = 0;
  try {
    code = target();
  } catch (const SystemExit& e) {
    code = e.code;
  } catch (const Error& e) {
    report_child_error(name, std::string(e.python_type()).c_str(), e.what());
    code = 1;
  } catch (const std::exception& e) {
    report_child_error(name, typeid(e).name(), e.what());
    code = 1;
  } catch (...) {
    report_child_error(name, "unknown exception", "");
    code = 1;
  }
  try {
    detail::flush_queues_before_exit();
    resource_sharer::stop();
    cleanup_children();
    detail::stop_forkserver();
  } catch (...) {
  }
  std::fflush(nullptr);
  return code;
}

// ---- Process ----------------------------------------------------------------------------------

Process::Process(Function target, ProcessOptions options) : state_(std::make_unique<ProcessState>()) {
  state_->target = std::move(target);
  state_->identity = next_identity();
  state_->name = options.name.empty() ? default_name(state_->identity) : std::move(options.name);
  state_->daemon = options.daemon.value_or(current().daemon);
}

Process::Process(Target target, ProcessOptions options) : state_(std::make_unique<ProcessState>()) {
  state_->method = options.start_method ? *options.start_method : get_context().start_method();
  state_->named = std::move(target);
  state_->identity = next_identity();
  state_->name = options.name.empty() ? default_name(state_->identity) : std::move(options.name);
  state_->daemon = options.daemon.value_or(current().daemon);
}

Process::Process(Command command, ProcessOptions options) : state_(std::make_unique<ProcessState>()) {
  state_->method = StartMethod::spawn;
  state_->command = std::move(command);
  state_->identity = next_identity();
  state_->name = options.name.empty() ? default_name(state_->identity) : std::move(options.name);
  state_->daemon = options.daemon.value_or(current().daemon);
}

Process::Process(Process&&) noexcept = default;

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Process old(std::move(*this));  // joined/terminated by its destructor
    state_ = std::move(other.state_);
  }
  return *this;
}

Process::~Process() {
  if (!state_) return;
  ProcessState& s = *state_;
  if (s.creator != ::getpid()) return;  // a copy inherited by fork(): not ours to manage
  if (s.pid > 0 && !s.closed) {
    try {
      if (s.daemon && !reap(s, false)) send_signal(s, SIGTERM);
      wait_until(s, Deadline::never());
    } catch (...) {
    }
  }
  remove_child(&s);
}

namespace {
void check_closed(const ProcessState& s) {
  if (s.closed) throw ValueError("process object is closed");
}
}  // namespace

void Process::start() {
  ProcessState& s = *state_;
  check_closed(s);
  if (s.pid != -1) throw AssertionError("cannot start a process twice");
  if (s.creator != ::getpid()) throw AssertionError("can only start a process object created by current process");
  if (current().daemon) throw AssertionError("daemonic processes are not allowed to have children");
  install_handlers_once();

  if (s.named && !s.target) {
    // Looked up now, in the parent, so that a name no child could find starts nothing.
    s.target = [function = detail::find_target(s.named->name), &args = s.named->args] { return function(args); };
  }
  pid_t pid;
  if (s.command) {
    pid = spawn_command(*s.command);
  } else if (s.named && s.method == StartMethod::spawn) {
    (void)current_process_authkey();  // made now if it was not yet: the child is given this one
    pid = detail::spawn_target({s.name, s.daemon, s.identity, *s.named, s.daemon && ::gettid() == ::getpid()});
  } else if (s.named && s.method == StartMethod::forkserver) {
    // The server's child: no parent-death signal can tie it to us (CPython's neither).
    Fd status;
    pid = detail::forkserver_target({s.name, s.daemon, s.identity, *s.named, false}, status);
    s.pid = pid;
    s.pidfd = std::move(status);
    s.via_server = true;
    add_child(&s);
    return;
  } else {
    // Flush stdio first, or buffered output would be written by both processes.
    std::fflush(nullptr);
    // The key is made now if it was not yet, so that the child inherits this one.
    (void)current_process_authkey();
    const pid_t parent = ::getpid();
    // PR_SET_PDEATHSIG follows the forking *thread*; arm it only from the main thread.
    const bool main_thread = ::gettid() == parent;
    pid = ::fork();
    if (pid < 0) detail::raise_errno(errno);
    if (pid == 0) run_child(s, parent, main_thread);
  }
  s.pid = pid;
  int pfd = pidfd_open(pid);
  if (pfd >= 0) s.pidfd.reset(pfd);
  add_child(&s);
}

void Process::join(Timeout timeout) { (void)try_join(timeout); }

bool Process::try_join(Timeout timeout) {
  ProcessState& s = *state_;
  check_closed(s);
  if (s.creator != ::getpid()) throw AssertionError("can only join a child process");
  if (s.pid == -1) throw AssertionError("can only join a started process");
  bool ended = wait_until(s, Deadline::after(timeout));
  if (ended) remove_child(&s);
  return ended;
}

bool Process::is_alive() {
  ProcessState& s = *state_;
  check_closed(s);
  if (s.creator != ::getpid()) throw AssertionError("can only test a child process");
  if (s.pid == -1) return false;
  if (reap(s, false)) {
    remove_child(&s);
    return false;
  }
  return true;
}

std::optional<int> Process::exitcode() {
  ProcessState& s = *state_;
  check_closed(s);
  if (s.pid == -1 || s.creator != ::getpid()) return s.returncode;
  reap(s, false);
  return s.returncode;
}

std::optional<pid_t> Process::pid() const noexcept {
  if (!state_ || state_->pid == -1) return std::nullopt;
  return state_->pid;
}

int Process::sentinel() const {
  const ProcessState& s = *state_;
  check_closed(s);
  if (s.pid == -1) throw ValueError("process not started");
  if (!s.pidfd.valid()) detail::raise_errno(ENOSYS);
  return s.pidfd.get();
}

void Process::terminate() {
  check_closed(*state_);
  send_signal(*state_, SIGTERM);
}

void Process::kill() {
  check_closed(*state_);
  send_signal(*state_, SIGKILL);
}

void Process::close() {
  ProcessState& s = *state_;
  if (s.closed) return;
  if (s.pid != -1 && s.creator == ::getpid() && !reap(s, false)) {
    throw ValueError("Cannot close a process while it is still running. You should first call join() or terminate().");
  }
  s.pidfd.reset();
  s.target = nullptr;
  s.named.reset();  // its arguments' objects
  remove_child(&s);
  s.closed = true;
}

const std::string& Process::name() const noexcept { return state_->name; }
bool Process::daemon() const noexcept { return state_->daemon; }
void Process::set_name(std::string name) { state_->name = std::move(name); }

StartMethod Process::start_method() const noexcept { return state_->method; }

void Process::set_daemon(bool daemon) {
  if (state_->pid != -1) throw AssertionError("process has already started");
  state_->daemon = daemon;
}

const std::string& current_process_name() { return current().name; }
bool current_process_daemon() { return current().daemon; }

namespace {

// CPython's current_process().authkey: os.urandom(32) in the top process; a fork()ed child
// has its parent's, being a copy of its memory.
struct Authkey {
  std::mutex m;
  std::string key;
};

Authkey& authkey() {
  static auto* a = new Authkey;  // never destroyed: the resource sharer uses it at exit
  return *a;
}

}  // namespace

std::string current_process_authkey() {
  Authkey& a = authkey();
  std::lock_guard lk(a.m);
  if (a.key.empty()) a.key = detail::random_bytes(32);
  return a.key;
}

void set_current_process_authkey(std::string key) {
  if (key.empty()) throw ValueError("an authkey must not be empty");
  Authkey& a = authkey();
  std::lock_guard lk(a.m);
  a.key = std::move(key);
}

std::vector<pid_t> active_children() {
  std::vector<ProcessState*> list;
  {
    std::lock_guard lk(children().m);
    list = children().list;
  }
  std::vector<pid_t> alive;
  for (ProcessState* s : list) {
    if (s->creator != ::getpid()) continue;
    if (reap(*s, false)) {
      remove_child(s);
    } else {
      alive.push_back(s->pid);
    }
  }
  return alive;
}

std::optional<int> cpu_count() noexcept {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) return std::nullopt;
  return static_cast<int>(n);
}

}  // namespace mpc
