// The adapter's process group: started in a group of its own so that everything it starts can be
// seen and killed together. The runner is a child subreaper, so orphans come back to it to be reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mpconform {

class AdapterProcess {
 public:
  // Starts argv[0] with argv in a new process group; stdout and stderr go to one temporary file.
  explicit AdapterProcess(const std::vector<std::string>& argv);
  ~AdapterProcess();  // kills the group if anything is left
  AdapterProcess(const AdapterProcess&) = delete;
  AdapterProcess& operator=(const AdapterProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the main process if it has exited: its wait status, or nullopt while it runs.
  std::optional<int> poll_exit();
  std::optional<int> exit_status() const { return status_; }
  // Waits for the main process to exit; true if it did within the timeout.
  bool wait_exit(std::chrono::milliseconds timeout);
  // Waits until no process of the group is left (reaping orphans); true if the group emptied.
  bool wait_group_empty(std::chrono::milliseconds timeout);
  // Pids of the group's processes still alive (zombies excluded).
  std::vector<pid_t> live_members() const;
  void kill_group();
  // What the adapter printed (the last `max_bytes` of it).
  std::string output(std::size_t max_bytes = 8192) const;

  // Call once at start: makes the runner a child subreaper (Linux).
  static void become_subreaper();
  // Whether a process is alive (exists and is not a zombie).
  static bool process_alive(pid_t pid);

 private:
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::optional<int> status_;
};

// Describes a wait status: "exit code 1", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

}  // namespace mpconform
