#include "adapter_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "isolation.hpp"

namespace mpconform {
namespace {

using Clock = std::chrono::steady_clock;

struct ProcStat {
  char state;
  pid_t ppid, pgrp;
};

std::optional<ProcStat> read_stat(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Fields after the command name (which may hold spaces and parentheses) start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  ProcStat s;
  if (std::sscanf(line.c_str() + close + 1, " %c %d %d", &s.state, &s.ppid, &s.pgrp) != 3) return std::nullopt;
  return s;
}

bool is_zombie(const ProcStat& s) { return s.state == 'Z' || s.state == 'X'; }

// Every process of the machine that descends from `root`, with its stat, by walking ppid links.
std::vector<std::pair<pid_t, ProcStat>> descendants_of(pid_t root) {
  std::map<pid_t, std::vector<std::pair<pid_t, ProcStat>>> children;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* e = readdir(dir)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      if (auto s = read_stat(static_cast<pid_t>(pid))) children[s->ppid].emplace_back(static_cast<pid_t>(pid), *s);
    }
    closedir(dir);
  }
  std::vector<std::pair<pid_t, ProcStat>> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (const auto& child : children[p]) {
      out.push_back(child);
      todo.push_back(child.first);
    }
  }
  return out;
}

// Whether `pid` is now a descendant of `root`: checked again after a pidfd is opened on it, so that
// a signal never reaches a process that took the number of one that has gone.
bool is_descendant(pid_t pid, pid_t root) {
  for (int depth = 0; depth < 4096 && pid > 1; ++depth) {
    auto s = read_stat(pid);
    if (!s) return false;
    if (s->ppid == root) return true;
    pid = s->ppid;
  }
  return false;
}

void send_signal(pid_t pid, int sig) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ENOSYS) ::kill(pid, sig);  // kernels before 5.3
    return;
  }
  if (is_descendant(pid, getpid())) syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0);
  close(fd);
}

// Bytes as printable ASCII: others as \xNN, so that any name or command line can be reported.
std::string printable(const std::string& bytes, std::size_t max_chars) {
  std::string out;
  for (unsigned char c : bytes) {
    if (out.size() >= max_chars) return out + "…";
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// The entries of a directory held open, sorted; a directory's name gets a trailing '/'.
std::vector<std::string> entries_of(int dir_fd) {
  std::vector<std::string> out;
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // a fresh offset for each listing
  if (fd < 0) return out;
  DIR* dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return out;
  }
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out.push_back(name + (e->d_type == DT_DIR ? "/" : ""));
  }
  closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> machine_shm() {
  std::set<std::string> out;
  int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return out;
  for (auto& e : entries_of(fd)) out.insert(std::move(e));
  close(fd);
  return out;
}

// Inodes of files in /dev/shm that a live process maps or holds open (of the processes the runner
// may look at): another program's, or a concurrent run's, in use. Without isolation these are not
// leftovers: every process of the case is gone when this is asked. By inode, not name: glibc's
// sem_open creates a semaphore under a temporary name, maps it, then links it to its own name, so
// its creator's mapping shows the temporary name, deleted. With the device: a concurrent isolated
// run's processes map files of other tmpfs, whose inode numbers may be the same.
std::set<std::pair<dev_t, ino_t>> shm_in_use() {
  std::set<std::pair<dev_t, ino_t>> out;
  const std::string prefix = "/dev/shm/";
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const std::string base = "/proc/" + std::string(e->d_name);
    std::ifstream maps(base + "/maps");
    for (std::string line; std::getline(maps, line);) {
      unsigned major_id = 0, minor_id = 0;  // address perms offset major:minor inode path
      unsigned long inode = 0;
      if (line.find(" " + prefix) != std::string::npos &&
          std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %lu", &major_id, &minor_id, &inode) == 3)
        out.emplace(makedev(major_id, minor_id), static_cast<ino_t>(inode));
    }
    if (DIR* fds = opendir((base + "/fd").c_str())) {
      while (dirent* f = readdir(fds)) {
        char target[4096];
        ssize_t n = readlinkat(dirfd(fds), f->d_name, target, sizeof target - 1);
        struct stat st;
        if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)).starts_with(prefix) &&
            fstatat(dirfd(fds), f->d_name, &st, 0) == 0)
          out.emplace(st.st_dev, st.st_ino);
      }
      closedir(fds);
    }
  }
  closedir(proc);
  return out;
}

std::string join_bounded(const std::vector<std::string>& items, std::size_t max_items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max_items) out += " and " + std::to_string(items.size() - max_items) + " more";
  return out;
}

// What the adapter's child tells the runner before it execs: 0, or an errno and the failed step.
struct SetupReport {
  int err;
  char step[100];
};

}  // namespace

AdapterProcess::AdapterProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("empty adapter command");
  become_subreaper();
  const Isolation& isolation = Isolation::in_force();
  char path[] = "/tmp/mpconform-adapter-XXXXXX";  // in the runner's /tmp, never the adapter's
  output_fd_ = mkstemp(path);
  if (output_fd_ < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  unlink(path);               // the file lives as long as the descriptor
  int channel[2] = {-1, -1};  // the child reports its isolation, and hands over the tmpfs roots
  if (isolation.isolated() && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
    int err = errno;
    close(output_fd_);
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(err));
  }
  if (!isolation.isolated()) shm_before_ = machine_shm();
  if (isolation.isolated()) kept_tmp_ = TmpKeep::for_command(argv);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t runner = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    int err = errno;
    close(output_fd_);
    if (channel[0] >= 0) close(channel[0]), close(channel[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(err));
  }
  if (pid_ == 0) {
    // Only system calls from here to exec: the runner has other threads (ZeroMQ's).
    // A runner that dies takes its adapter along. The signal comes when the thread that forked
    // exits; that is the runner's main thread, which runs every case.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != runner) _exit(127);  // it died before the prctl
    setpgid(0, 0);
    // Cases make processes crash on purpose (SIGSEGV): no core file may be left behind, nor time
    // spent writing one. A hard limit, so that no descendant raises it.
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (channel[1] >= 0) {
      int roots[2];
      const char* step = "";
      SetupReport report{isolation.enter(roots, &step, kept_tmp_), {}};
      std::strncpy(report.step, step, sizeof report.step - 1);
      iovec iov{&report, sizeof report};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof roots)] = {};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      if (report.err == 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof roots);
        std::memcpy(CMSG_DATA(c), roots, sizeof roots);
      }
      if (sendmsg(channel[1], &msg, MSG_NOSIGNAL) < 0 || report.err != 0) _exit(127);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(output_fd_, 1);
    dup2(output_fd_, 2);
    // Close everything else the runner holds (ZeroMQ's sockets among them), and the tmpfs roots.
    if (close_range(3, ~0U, 0) != 0)
      for (int fd = 3; fd < 65536; ++fd) close(fd);
    execvp(args[0], args.data());
    dprintf(2, "mpconform: cannot start adapter '%s': %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here, so that the group exists before the runner uses it
  if (channel[0] >= 0) {
    close(channel[1]);
    SetupReport report{EIO, "the adapter's child ended before it said how its isolation went"};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
    iovec iov{&report, sizeof report};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    pollfd p{channel[0], POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) {
      report.err = ETIMEDOUT;
      std::strncpy(report.step, "the adapter's child said nothing about its isolation for 10 s",
                   sizeof report.step - 1);
    } else if (recvmsg(channel[0], &msg, MSG_CMSG_CLOEXEC) == static_cast<ssize_t>(sizeof report) && report.err == 0) {
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(2 * sizeof(int))) {
        int roots[2];
        std::memcpy(roots, CMSG_DATA(c), sizeof roots);
        private_shm_ = roots[0];
        private_tmp_ = roots[1];
      } else {
        report.err = EPROTO;
        std::strncpy(report.step, "the adapter's child sent no tmpfs roots", sizeof report.step - 1);
      }
    }
    close(channel[0]);
    if (private_shm_ < 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      close(output_fd_);
      report.step[sizeof report.step - 1] = '\0';
      throw std::runtime_error(std::string("cannot give the adapter a private /dev/shm and /tmp (") +
                               isolation.description() + "): " + report.step + ": " + std::strerror(report.err) +
                               "; MPCONFORM_ISOLATION=none runs without");
    }
  }
}

AdapterProcess::~AdapterProcess() {
  if (!status_ || !live_processes().empty()) {
    kill_all();
    wait_all_gone(std::chrono::seconds(5));
  }
  for (int fd : {output_fd_, private_shm_, private_tmp_})
    if (fd >= 0) close(fd);  // the last reference to the case's tmpfs: its memory is freed
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

std::vector<pid_t> AdapterProcess::live_processes() const {
  std::vector<pid_t> out;
  for (const auto& [pid, s] : descendants_of(getpid()))
    if (!is_zombie(s)) out.push_back(pid);
  return out;
}

std::string AdapterProcess::describe_live() const {
  std::vector<std::string> parts;
  for (pid_t p : live_processes()) parts.push_back(describe_process(p));
  return join_bounded(parts, 10);
}

bool AdapterProcess::wait_all_gone(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const pid_t self = getpid();
  while (true) {
    poll_exit();
    // Reap the runner's zombie children but the main process (poll_exit keeps its status): orphans
    // of the case come back to the runner, a subreaper.
    bool alive = !status_;
    for (const auto& [pid, s] : descendants_of(self)) {
      if (!is_zombie(s))
        alive = true;
      else if (s.ppid == self && pid != pid_)
        waitpid(pid, nullptr, WNOHANG);
    }
    if (!alive) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void AdapterProcess::signal_all(int sig) const {
  if (!status_) ::kill(-pid_, sig);  // the group: its number cannot be reused while its leader is unreaped
  for (pid_t p : live_processes()) send_signal(p, sig);
}

void AdapterProcess::kill_all() {
  // SIGTERM first: CPython's resource tracker ignores it and, once every other process of the case
  // has died, unlinks the semaphores and segments they left. SIGKILL what is left after that, again
  // and again for a while, in case something forks between the listing and the signal.
  signal_all(SIGTERM);
  if (wait_all_gone(std::chrono::seconds(2))) return;
  auto deadline = Clock::now() + std::chrono::seconds(3);
  do signal_all(SIGKILL);
  while (!wait_all_gone(std::chrono::milliseconds(100)) && Clock::now() < deadline);
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

std::string AdapterProcess::output_head(std::size_t max_bytes, std::size_t* total) const {
  off_t size = lseek(output_fd_, 0, SEEK_END);
  *total = size > 0 ? static_cast<std::size_t>(size) : 0;
  std::string out(std::min(*total, max_bytes), '\0');
  ssize_t n = out.empty() ? 0 : pread(output_fd_, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

bool AdapterProcess::signal_process(pid_t pid, int sig) const {
  if (pid <= 1 || !process_alive(pid)) return false;
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno != ENOSYS || !is_descendant(pid, getpid())) return false;
    return ::kill(pid, sig) == 0;  // kernels before 5.3
  }
  // Checked once the pidfd holds the process: the number cannot now name another one.
  const bool ok = is_descendant(pid, getpid()) && syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) == 0;
  close(fd);
  return ok;
}

std::string AdapterProcess::leftovers() const {
  std::vector<std::string> left;
  if (private_shm_ >= 0) {
    for (const auto& e : entries_of(private_shm_)) left.push_back("/dev/shm/" + printable(e, 200));
    for (const auto& e : entries_of(private_tmp_))
      if (!kept_tmp_.keeps(e.ends_with("/") ? e.substr(0, e.size() - 1) : e))
        left.push_back("/tmp/" + printable(e, 200));
    return join_bounded(left, 20);
  }
  std::vector<std::string> appeared;
  for (const auto& e : machine_shm())
    if (!shm_before_.contains(e)) appeared.push_back(e);
  if (appeared.empty()) return "";
  const auto in_use = shm_in_use();
  for (const auto& e : appeared) {
    struct stat st;
    std::string name = e.ends_with("/") ? e.substr(0, e.size() - 1) : e;
    if (lstat(("/dev/shm/" + name).c_str(), &st) != 0) continue;  // gone meanwhile
    if (!in_use.contains({st.st_dev, st.st_ino})) left.push_back("/dev/shm/" + printable(e, 200));
  }
  if (left.empty()) return "";
  return join_bounded(left, 20) +
         " (appeared in the machine's /dev/shm during the case and held by no process: without isolation, another "
         "program may have made it)";
}

bool AdapterProcess::exists_for_adapter(const std::string& path) const {
  struct stat st;
  if (private_shm_ >= 0) {
    for (auto [root, fd] :
         {std::pair{std::string("/dev/shm"), private_shm_}, std::pair{std::string("/tmp"), private_tmp_}}) {
      if (path == root) return true;
      if (!path.starts_with(root + "/")) continue;
      const std::string rest = path.substr(root.size() + 1);
      if (fd == private_tmp_ && kept_tmp_.keeps(rest.substr(0, rest.find('/')))) break;  // the machine's, bound in
      return fstatat(fd, rest.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    }
  }
  return lstat(path.c_str(), &st) == 0;
}

std::string AdapterProcess::end_orphans() {
  const pid_t self = getpid();
  auto live = [&] {
    std::vector<pid_t> out;
    for (const auto& [pid, s] : descendants_of(self)) {
      if (!is_zombie(s))
        out.push_back(pid);
      else if (s.ppid == self)
        waitpid(pid, nullptr, WNOHANG);
    }
    return out;
  };
  std::vector<std::string> found;
  for (pid_t p : live()) found.push_back(describe_process(p));
  if (found.empty()) return "";
  int sig = SIGTERM;  // first, for the resource tracker's sake (see kill_all)
  for (auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
    auto pids = live();
    if (pids.empty()) break;
    if (Clock::now() > deadline - std::chrono::seconds(3)) sig = SIGKILL;
    for (pid_t p : pids) send_signal(p, sig);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  live();  // reap the last ones
  return join_bounded(found, 10);
}

void AdapterProcess::become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

bool AdapterProcess::process_alive(pid_t pid) {
  auto s = read_stat(pid);
  return s && !is_zombie(*s);
}

std::optional<int> AdapterProcess::zombie_status(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int n = 3; fields >> field; ++n) {  // the state is field 3
    if (n == 3 && field != "Z") return std::nullopt;
    if (n == 52) {
      try {
        return std::stoi(field);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::string AdapterProcess::describe_process(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmdline(4096, '\0');
  in.read(cmdline.data(), static_cast<std::streamsize>(cmdline.size()));
  cmdline.resize(static_cast<std::size_t>(in.gcount()));
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  if (cmdline.empty()) {  // a process that cleared it, or is exiting: its name from stat
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto open = line.find('('), close = line.rfind(')');
    cmdline = open != std::string::npos && close > open ? "[" + line.substr(open + 1, close - open - 1) + "]" : "?";
  }
  return "pid " + std::to_string(pid) + " (" + printable(cmdline, 300) + ")";
}

const std::string& AdapterProcess::isolation_description() { return Isolation::in_force().description(); }

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
