// mpc/spawn.hpp: the spawn and forkserver start methods for C++ programs (CPython's
// multiprocessing.spawn and multiprocessing.forkserver).
//
// A spawned child is a fresh exec of this program (/proc/self/exe): it shares none of the
// parent's memory. So that it knows what to run, the program registers its entry points by name
// and gives control to mpc at the top of main():
//
//   int worker(const mpc::SpawnArgs& args) {        // or void(const SpawnArgs&)
//     mpc::Queue q = args.queue(0);
//     q.put(args.value(1));
//     return 0;                                      // the exit code
//   }
//
//   int main(int argc, char** argv) {
//     mpc::register_target("worker", worker);        // before spawn_main: the child looks it up
//     if (auto code = mpc::spawn_main(argc, argv)) return *code;   // we are a spawned child
//     mpc::Queue q(mpc::get_context("spawn"));
//     mpc::Process p(mpc::Target{"worker", mpc::SpawnArgs().add(q).add(mpc::Value::integer(1))},
//                    {.start_method = mpc::StartMethod::spawn});
//     p.start();
//     ...
//   }
//
// The contract:
// - spawn_main() returns nullopt in the program as started by its user (argv does not carry
//   "--multiprocessing-fork", which mpc gives its spawned children: CPython's own marker). In a
//   spawned child it runs the target and returns its exit code, which main() must return, so
//   that the child exits normally: its atexit handlers run, as under CPython's spawn. Anything
//   main() did before spawn_main() also happens in every child, hence "at the top".
// - Forkserver: the first forkserver start() of a process spawns this program as its server
//   ("--multiprocessing-forkserver"; spawn_main() never returns there). The server forks each
//   child, which runs the target as a spawned one does and leaves with _exit() (no atexit
//   handlers, as CPython's forkserver children before 3.13); the server reports the child's
//   exit status to the parent, and ends at the parent's exit, after the children were joined.
// - Targets are registered before spawn_main() (or by static initializers), in the parent and so
//   in every child, under the same names. Process::start() of an unregistered name raises
//   ValueError in the parent.
// - What start() sends the child, pickled (mpc/pickle.hpp) over a pipe: the Process's name,
//   daemon flag and identity, the parent's authkey (current_process_authkey(), as CPython passes
//   it), the module's start method, the target's name and its SpawnArgs. Objects travel as the
//   memfd descriptors of their shared memory (inherited under the same numbers by a spawned child,
//   passed with SCM_RIGHTS through the server to a forkserver one); only objects made with the
//   spawn or forkserver Context have one: a fork-context object makes start() raise RuntimeError
//   (CPython's "A SemLock created in a fork context is being shared with a process in a spawn
//   context. ...") before anything is started.
// - The child's outcome is the exit code as for a fork()ed child (mpc/process.hpp): the return
//   value, SystemExit's code, or 1 with "Process NAME:" and the error on stderr. A daemon child
//   started from the main thread ends with SIGTERM when its parent dies (PR_SET_PDEATHSIG).
//
// A Target runs under fork too: the fork()ed child calls the registered function with the same
// SpawnArgs, fork-context objects included.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpc/queue.hpp"
#include "mpc/sync.hpp"
#include "mpc/value.hpp"

namespace mpc {

namespace detail {
struct SpawnAccess;
}

// The arguments of a registered target: values and mpc objects, in order. A handle, like a Python
// list given as a Process's args: copies are the same list, and what it holds when start() runs
// is what the child gets (pickled then, as CPython pickles the Process at start()).
class SpawnArgs {
 public:
  enum class Type { value, queue, joinable_queue, simple_queue, lock, rlock, semaphore, bounded_semaphore };

  SpawnArgs& add(Value value);
  SpawnArgs& add(const Queue& queue);
  SpawnArgs& add(const JoinableQueue& queue);
  SpawnArgs& add(const SimpleQueue& queue);
  SpawnArgs& add(const Lock& lock);
  SpawnArgs& add(const RLock& lock);
  SpawnArgs& add(const Semaphore& semaphore);
  SpawnArgs& add(const BoundedSemaphore& semaphore);

  [[nodiscard]] std::size_t size() const noexcept { return items_->size(); }
  [[nodiscard]] Type type(std::size_t index) const;  // IndexError past the end

  // Item `index` as what it is: TypeError when it is something else, IndexError past the end.
  // The objects are new handles to the same shared state (a queue's items, a lock's holder);
  // queue() also takes a JoinableQueue, as a Queue.
  [[nodiscard]] Value value(std::size_t index) const;
  [[nodiscard]] Queue queue(std::size_t index) const;
  [[nodiscard]] JoinableQueue joinable_queue(std::size_t index) const;
  [[nodiscard]] SimpleQueue simple_queue(std::size_t index) const;
  [[nodiscard]] Lock lock(std::size_t index) const;
  [[nodiscard]] RLock rlock(std::size_t index) const;
  [[nodiscard]] Semaphore semaphore(std::size_t index) const;
  [[nodiscard]] BoundedSemaphore bounded_semaphore(std::size_t index) const;

 private:
  friend struct detail::SpawnAccess;
  struct Item {
    Type type;
    Value value;                // Type::value
    std::shared_ptr<void> mem;  // an object's mapping (its memfd, for spawn: shared_fd)
  };
  const Item& at(std::size_t index, Type wanted) const;
  std::shared_ptr<std::vector<Item>> items_ = std::make_shared<std::vector<Item>>();
};

// A registered target and its arguments (mpc::Process(Target{...}, options)).
struct Target {
  std::string name;
  SpawnArgs args{};
};

using TargetFunction = std::function<int(const SpawnArgs&)>;

namespace detail {
void register_target_function(std::string name, TargetFunction function);
}

// Registers `function` (int or void of const SpawnArgs&) under `name`, replacing any function of
// that name. ValueError for an empty name.
template <class F>
requires std::invocable<F&, const SpawnArgs&>
void register_target(std::string name, F function) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, const SpawnArgs&>>) {
    detail::register_target_function(std::move(name), [f = std::move(function)](const SpawnArgs& args) mutable {
      std::invoke(f, args);
      return 0;
    });
  } else {
    detail::register_target_function(std::move(name), [f = std::move(function)](const SpawnArgs& args) mutable {
      return static_cast<int>(std::invoke(f, args));
    });
  }
}

// Whether a target of that name is registered.
[[nodiscard]] bool target_registered(std::string_view name);

// In a spawned child: runs its target and returns the exit code for main() to return. In a
// forkserver: serves, and never returns. Elsewhere nullopt. A child whose preparation data cannot be read (its parent
// died while sending it) returns 1 with the reason on stderr.
[[nodiscard]] std::optional<int> spawn_main(int argc, char** argv);

}  // namespace mpc
