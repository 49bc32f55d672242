// Private: what process.cpp and spawn.cpp share to start a Target and to run a child's target.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mpc/fd.hpp"
#include "mpc/spawn.hpp"

namespace mpc::detail {

struct SpawnRequest {
  const std::string& name;
  bool daemon;
  const std::vector<int>& identity;
  const Target& target;
  bool death_signal;  // the child arms PR_SET_PDEATHSIG (a daemon started from the main thread)
};

// The pickled preparation data: what a spawned or forkserver child needs to become the Process.
// Raises for a fork-context object, or what pickling a value raises. `fds`: the descriptors of
// the objects in it, which the child must be given (spawn.cpp).
std::string preparation_data(const SpawnRequest& request, std::vector<int>& fds);

// Pickles the preparation data (raising before anything is started), execs this program with it
// and returns the child's pid (spawn.cpp).
pid_t spawn_target(const SpawnRequest& request);

// In a spawned or forkserver child: becomes the Process the preparation data describes and runs
// its target; returns the exit code. `received`: the objects' descriptors as this process got
// them, in the order of preparation_data's `fds`; null when they kept the parent's numbers
// (spawn) (spawn.cpp).
int run_prepared(const std::string& payload, const std::vector<int>* received);

// The forkserver (forkserver.cpp). forkserver_target asks this process's server (started on
// first use, a spawn of this program) to fork a child for the request: its pid, and `status`
// becomes a descriptor that turns readable with the child's wait status (a 4-byte int) once it
// has ended, or at end of file if the server died first. Raises as preparation_data does, and
// OSError when the server cannot be started or reached.
pid_t forkserver_target(const SpawnRequest& request, Fd& status);
// The server's loop, in the program spawn_main() started as the server; never returns.
[[noreturn]] void forkserver_main(int socket);
// Ends this process's server, if it has one (at exit, once the children have been joined).
void stop_forkserver() noexcept;

// posix_spawn of `path` (searched in PATH when `search`) with `argv`, `envp` (null: ours) and an
// empty signal mask, in which exactly `keep` of our close-on-exec descriptors stay open, under
// the same numbers. Raises OSError (process.cpp).
pid_t spawn_program(const char* path, const std::vector<std::string>& argv, const std::vector<int>& keep,
                    char** envp = nullptr, bool search = false);

// The path of this program, for its children's argv[0] (spawn.cpp).
std::string program_path();

// The registered function of that name; ValueError when none is (spawn.cpp).
TargetFunction find_target(std::string_view name);

// A child's identity, as current_process() sees it (process.cpp).
void become_child(const std::string& name, bool daemon, const std::vector<int>& identity);

// Runs a child's target as mpc::Process does and cleans up after it (the queues' feeders, the
// resource sharer, its own children): returns the exit code (process.cpp).
int run_in_child(const std::string& name, const std::function<int()>& target) noexcept;

}  // namespace mpc::detail
