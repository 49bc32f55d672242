// Private: what process.cpp and spawn.cpp share to start a Target and to run a child's target.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mpc/spawn.hpp"

namespace mpc::detail {

struct SpawnRequest {
  const std::string& name;
  bool daemon;
  const std::vector<int>& identity;
  const Target& target;
  bool death_signal;  // the child arms PR_SET_PDEATHSIG (a daemon started from the main thread)
};

// Pickles the preparation data (raising before anything is started), execs this program with it
// and returns the child's pid (spawn.cpp).
pid_t spawn_target(const SpawnRequest& request);

// The registered function of that name; ValueError when none is (spawn.cpp).
TargetFunction find_target(std::string_view name);

// A child's identity, as current_process() sees it (process.cpp).
void become_child(const std::string& name, bool daemon, const std::vector<int>& identity);

// Runs a child's target as mpc::Process does and cleans up after it (the queues' feeders, the
// resource sharer, its own children): returns the exit code (process.cpp).
int run_in_child(const std::string& name, const std::function<int()>& target) noexcept;

}  // namespace mpc::detail
