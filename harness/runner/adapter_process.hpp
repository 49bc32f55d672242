// The adapter of one case and every process it starts. The adapter runs in a process group of its
// own; the runner is a child subreaper, so a process that leaves the group (setsid) and is orphaned
// still comes back to the runner. A shard runs one case at a time, so every process descended from
// the runner is the case's: those are what is watched, killed and reaped, group or not.
// Where Isolation allows, the adapter has a private /dev/shm and /tmp (isolation.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "isolation.hpp"

namespace mpconform {

class AdapterProcess {
 public:
  // Starts argv[0] with argv in a new process group; stdout and stderr go to one temporary file.
  // Throws std::runtime_error if it cannot (isolation included: never silently without it).
  explicit AdapterProcess(const std::vector<std::string>& argv);
  ~AdapterProcess();  // kills whatever is left
  AdapterProcess(const AdapterProcess&) = delete;
  AdapterProcess& operator=(const AdapterProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the main process if it has exited: its wait status, or nullopt while it runs.
  std::optional<int> poll_exit();
  std::optional<int> exit_status() const { return status_; }
  // Waits for the main process to exit; true if it did within the timeout.
  bool wait_exit(std::chrono::milliseconds timeout);
  // Waits until the main process has exited and no process of the case is left (reaping those
  // that come back to the runner); true if none is left.
  bool wait_all_gone(std::chrono::milliseconds timeout);
  // The case's processes still alive (zombies excluded): every descendant of the runner.
  std::vector<pid_t> live_processes() const;
  // "pid 4242 (python3 adapter.py …), pid 4243 (…)" for those still alive.
  std::string describe_live() const;
  // SIGTERM to every process of the case, then, 2 s later, SIGKILL to what is left.
  void kill_all();
  // What the adapter printed (the last `max_bytes` of it).
  std::string output(std::size_t max_bytes = 8192) const;
  // What the adapter printed from the start, at most `max_bytes` of it; *total gets its whole size.
  std::string output_head(std::size_t max_bytes, std::size_t* total) const;
  // Sends `sig` to a process of the case through a pidfd (a case's `signal:` step); false if `pid`
  // is not a live process descended from the runner.
  bool signal_process(pid_t pid, int sig) const;

  // What the case left in /dev/shm (and, isolated, in its /tmp), once its processes are gone:
  // "/dev/shm/sem.x, /tmp/pymp-1a2b/", or "" if nothing. Exact where isolated; otherwise what
  // appeared in the machine's /dev/shm since the adapter started, which says so.
  std::string leftovers() const;
  // Whether an absolute, normal path exists as the adapter saw it (its private /dev/shm and /tmp
  // where isolated). A dangling symbolic link exists.
  bool exists_for_adapter(const std::string& path) const;

  // Makes the runner a child subreaper (Linux); called by the constructor too, and idempotent.
  static void become_subreaper();
  // Whether a process is alive (exists and is not a zombie).
  static bool process_alive(pid_t pid);
  // The wait status of a process that has ended and that its parent has not reaped yet (a zombie:
  // field 52 of /proc/PID/stat, Linux 3.5 and later); nullopt when it cannot be told.
  static std::optional<int> zombie_status(pid_t pid);
  // "pid 4242 (python3 adapter.py --endpoint …)": its command line, bounded and printable.
  static std::string describe_process(pid_t pid);
  // Ends every process descended from the runner (SIGTERM, then SIGKILL 2 s later) and reaps
  // them; says which were there, or "". For the parent of shards once every shard has ended: what
  // is left then was orphaned by a shard that died mid-case.
  static std::string end_orphans();
  // The line that says which isolation is in force (Isolation::in_force().description()).
  static const std::string& isolation_description();

 private:
  void signal_all(int sig) const;

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::optional<int> status_;
  int private_shm_ = -1, private_tmp_ = -1;  // roots of the case's own tmpfs, where isolated
  std::set<std::string> shm_before_;         // the machine's /dev/shm when the case began, where not
  TmpKeep kept_tmp_;                         // what of the machine's /tmp the adapter still sees
};

// Describes a wait status: "exit code 1", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

}  // namespace mpconform
