// mpc/process.hpp: multiprocessing.Process for C++.
//
// Three ways to start a child:
// - a function, run in a fork()ed copy of this process (CPython's "fork" start method): it sees
//   every object of the parent, including mpc::Queue and mpc::Connection objects made before
//   start(). A function is always forked (it has no name a spawned child could find);
// - a Target: a function registered by name with its SpawnArgs (mpc/spawn.hpp), started by the
//   start method of ProcessOptions::start_method (nullopt: the module's, get_start_method()).
//   Under spawn the child is a fresh exec of this program, given its arguments pickled, which
//   must call mpc::spawn_main() at the top of main(): the contract is in mpc/spawn.hpp. Under
//   forkserver a server process (started on first use: a spawn of this program) forks the child
//   and tells us its exit status; the child is the server's, not ours, but is managed alike;
// - a Command (program + arguments), started fresh with posix_spawn: it inherits only the
//   descriptors listed in pass_fds (e.g. a Connection's fileno(), so that the program, a
//   CPython one for instance, can talk to us over it).
//
// The life cycle and errors are CPython's: start() once, join(timeout), is_alive(), exitcode()
// (nullopt while running, the exit status, or -N when killed by signal N), terminate()
// (SIGTERM), kill() (SIGKILL), close(); only the process that started a child may manage it.
//
// In every child the function's outcome becomes the exit code: returning (void) -> 0,
// returning an int -> that int, throwing mpc::SystemExit{code} -> code, any other exception ->
// "Process <name>:" and the error on stderr, exit code 1. Calling std::exit()/_exit() works
// too. Before the child leaves, stdio is flushed, its queues' feeders are flushed (like
// CPython's), its own daemon children are terminated and its other children joined. A fork()ed
// or forkserver child then _exit()s; a spawned one returns from main() (its atexit handlers run,
// as under CPython's spawn).
//
// Daemon children are terminated when the parent goes away, by three mechanisms:
// - the Process destructor terminates (SIGTERM) and reaps a running daemon child (a
//   non-daemon child is joined instead, like std::jthread);
// - an atexit handler terminates every daemon child still running and then joins every child,
//   as CPython's multiprocessing does at interpreter exit;
// - when the parent dies without running either (SIGKILL, crash), fork()ed daemon children get
//   SIGTERM from the kernel: the child sets prctl(PR_SET_PDEATHSIG, SIGTERM). The kernel ties
//   that signal to the *thread* that forked, so it is only armed when start() runs on the main
//   thread (a daemon started from a worker thread that ends early would otherwise be killed
//   with it). A spawned child arms it itself in spawn_main(); Command and forkserver children
//   cannot arm it (the latter are the server's), they rely on the first two.
//
// Fork caveat, as for any fork() in a multithreaded program: only the calling thread exists in
// the child, so the function must not depend on locks other threads of the parent held.
// mpc's own state (queues' feeder threads) is reset in the child by pthread_atfork handlers.
#pragma once

#include <sys/types.h>

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpc/context.hpp"
#include "mpc/deadline.hpp"
#include "mpc/spawn.hpp"

namespace mpc {

// Thrown in a child to end it with an exit code, like Python's SystemExit / sys.exit(code).
// Deliberately not an mpc::Error (Python's SystemExit is not an Exception either).
struct SystemExit {
  int code = 0;
};

// A program to start fresh instead of a function to fork.
struct Command {
  std::vector<std::string> argv{};                // argv[0]: the program; searched in PATH when it has no '/'
  std::vector<int> pass_fds{};                    // descriptors the program inherits, under the same numbers
  std::optional<std::vector<std::string>> env{};  // "NAME=value" entries; nullopt: inherit ours
};

struct ProcessOptions {
  std::string name{};            // empty: "Process-N" (CPython's default naming)
  std::optional<bool> daemon{};  // nullopt: the daemon flag of the current process
  // For a Target: nullopt: the module's start method (get_start_method()), as
  // multiprocessing.Process; ignored for a function (forked) and a Command.
  std::optional<StartMethod> start_method{};
};

namespace detail {
struct ProcessState;
}

class Process {
 public:
  // A function run in a fork()ed child: void() or int() (the exit code).
  template <class F>
  requires std::invocable<F&> &&(!std::same_as<std::remove_cvref_t<F>, Command>)&&(
      !std::same_as<std::remove_cvref_t<F>, Process>)explicit Process(F&& target, ProcessOptions options = {})
      : Process(wrap(std::forward<F>(target)), std::move(options)) {}

  explicit Process(Command command, ProcessOptions options = {});
  explicit Process(Target target, ProcessOptions options = {});

  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // A running child: daemon -> terminate() and reap; otherwise join(). Only in the process
  // that started it.
  ~Process();

  // AssertionError "cannot start a process twice"; "daemonic processes are not allowed to have
  // children"; ValueError "process object is closed". OSError when fork/spawn fails. For a
  // Target: ValueError when its name is not registered; under spawn and forkserver,
  // RuntimeError when its arguments hold a fork-context object, and what pickling its values
  // raises. On any of them nothing is started and the Process stays unstarted.
  void start();

  // Waits for the child to end, at most `timeout` seconds (nullopt: forever; negative: 0).
  // AssertionError "can only join a started process" / "can only join a child process".
  void join(Timeout timeout = std::nullopt);
  bool try_join(Timeout timeout);  // join(); returns whether the child has ended

  [[nodiscard]] bool is_alive();
  // nullopt until the child has ended (and before start); -N if a signal N killed it.
  // ValueError "process object is closed" after close().
  [[nodiscard]] std::optional<int> exitcode();
  [[nodiscard]] std::optional<pid_t> pid() const noexcept;
  // A descriptor that becomes readable when the child ends (a pidfd; for a forkserver child the
  // pipe the server reports its end on, as CPython's). ValueError "process not started" before
  // start().
  [[nodiscard]] int sentinel() const;

  void terminate();  // SIGTERM; nothing before start() or after the child was reaped
  void kill();       // SIGKILL

  // Releases the resources; ValueError while the child is still running. Afterwards every
  // method but close() raises ValueError("process object is closed").
  void close();

  [[nodiscard]] const std::string& name() const noexcept;
  // Renames the Process object (CPython's name setter); a started child keeps the name it had.
  void set_name(std::string name);
  [[nodiscard]] bool daemon() const noexcept;
  // AssertionError "process has already started" after start().
  void set_daemon(bool daemon);
  // How start() starts the child: a Target's method; fork for a function, spawn for a Command.
  [[nodiscard]] StartMethod start_method() const noexcept;

 private:
  using Function = std::function<int()>;
  Process(Function target, ProcessOptions options);

  template <class F>
  static Function wrap(F&& f) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      return [g = std::forward<F>(f)]() mutable {
        std::invoke(g);
        return 0;
      };
    } else {
      return [g = std::forward<F>(f)]() mutable { return static_cast<int>(std::invoke(g)); };
    }
  }

  std::unique_ptr<detail::ProcessState> state_;
};

// The current process's own name ("MainProcess" in the top process, as in CPython) and daemon
// flag (inside a daemon child: true).
[[nodiscard]] const std::string& current_process_name();
[[nodiscard]] bool current_process_daemon();

// This process's authentication key (CPython's current_process().authkey, bytes): 32 random
// bytes in the top process, made on first use; a fork()ed child inherits its parent's, a spawned
// one is given it. The
// resource sharer (mpc/resource_sharer.hpp) authenticates with it on both sides, so a process
// that receives a Connection from another one must hold the sender's key: a child does; a
// program started otherwise (a Command, a CPython process) must be given it, as CPython's
// spawn gives it to its children. set_…: ValueError for an empty key.
[[nodiscard]] std::string current_process_authkey();
void set_current_process_authkey(std::string key);

// Children started by this process that have not been joined yet (CPython's
// active_children(), which also reaps the ones that ended): their pids.
std::vector<pid_t> active_children();

// The number of CPUs online (CPython's os.cpu_count() on Linux: sysconf(_SC_NPROCESSORS_ONLN)),
// nullopt when it cannot be told (multiprocessing.cpu_count() then raises NotImplementedError).
[[nodiscard]] std::optional<int> cpu_count() noexcept;

}  // namespace mpc
