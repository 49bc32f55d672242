#include "adapter_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace mpconform {
namespace {

using Clock = std::chrono::steady_clock;

pid_t group_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  char state;
  int ppid, pgrp;
  if (std::sscanf(line.c_str() + close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) return -1;
  if (state == 'Z' || state == 'X') return -2;
  return pgrp;
}

}  // namespace

AdapterProcess::AdapterProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("empty adapter command");
  char path[] = "/tmp/mpconform-adapter-XXXXXX";
  output_fd_ = mkstemp(path);
  if (output_fd_ < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  unlink(path);  // the file lives as long as the descriptor
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(output_fd_, 1);
    dup2(output_fd_, 2);
    // Close everything else the runner holds (ZeroMQ's sockets among them).
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    execvp(args[0], args.data());
    dprintf(2, "mpconform: cannot start adapter '%s': %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here, so that the group exists before the runner uses it
}

AdapterProcess::~AdapterProcess() {
  if (!live_members().empty() || !status_) {
    kill_group();
    wait_group_empty(std::chrono::seconds(5));
  }
  if (output_fd_ >= 0) close(output_fd_);
}

std::optional<int> AdapterProcess::poll_exit() {
  if (status_) return status_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) status_ = status;
  return status_;
}

bool AdapterProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!poll_exit()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<pid_t> AdapterProcess::live_members() const {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (group_of(static_cast<pid_t>(pid)) == pid_) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  return out;
}

bool AdapterProcess::wait_group_empty(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    poll_exit();
    // Reap orphans of the group that were reparented to us (we are a subreaper).
    while (waitpid(-pid_, nullptr, WNOHANG) > 0) {
    }
    if (status_ && live_members().empty()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void AdapterProcess::kill_group() {
  // SIGTERM first: CPython's resource tracker ignores it and, once every other process of the
  // group has died, unlinks the semaphores and segments they left. SIGKILL what is left after that.
  ::kill(-pid_, SIGTERM);
  if (!wait_group_empty(std::chrono::seconds(2))) ::kill(-pid_, SIGKILL);
  // Processes that left the group (setsid) are out of reach by design: the leak check reports them.
}

std::string AdapterProcess::output(std::size_t max_bytes) const {
  off_t size = lseek(output_fd_, 0, SEEK_END);
  if (size <= 0) return "";
  off_t start = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
  std::string out(static_cast<std::size_t>(size - start), '\0');
  ssize_t n = pread(output_fd_, out.data(), out.size(), start);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (start > 0) out = "[… " + std::to_string(start) + " bytes before]\n" + out;
  return out;
}

void AdapterProcess::become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

bool AdapterProcess::process_alive(pid_t pid) { return group_of(pid) >= 0; }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "wait status " + std::to_string(status);
}

}  // namespace mpconform
