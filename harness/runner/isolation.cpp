#include "isolation.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace mpconform {
namespace {

// Writes all of `text` to a /proc file; 0 or an errno. System calls only (see Isolation::enter).
int write_proc(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, text, strlen(text));
  int err = n == static_cast<ssize_t>(strlen(text)) ? 0 : (n < 0 ? errno : EIO);
  close(fd);
  return err;
}

// "ID ID 1\n" into buf without the C library's formatting (not async-signal-safe).
void identity_map(char* buf, unsigned long id) {
  char digits[24];
  int n = 0;
  do digits[n++] = static_cast<char>('0' + id % 10);
  while ((id /= 10) != 0);
  char* p = buf;
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = n - 1; i >= 0; --i) *p++ = digits[i];
    *p++ = ' ';
  }
  *p++ = '1';
  *p++ = '\n';
  *p = '\0';
}

const char* kind_words(Isolation::Kind kind) {
  return kind == Isolation::Kind::MountNamespace ? "mount namespace" : "user and mount namespaces";
}

}  // namespace

TmpKeep TmpKeep::for_command(const std::vector<std::string>& argv) {
  TmpKeep keep;
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf)) keep.cwd = buf;
  std::vector<std::string> paths = argv;
  paths.push_back(keep.cwd);
  for (const auto& p : argv)
    if (char* real = p.starts_with("/") ? realpath(p.c_str(), nullptr) : nullptr) {
      paths.emplace_back(real);
      free(real);
    }
  for (const auto& p : paths) {
    if (!p.starts_with("/tmp/")) continue;
    std::string name = p.substr(5, p.find('/', 5) == std::string::npos ? std::string::npos : p.find('/', 5) - 5);
    if (name.empty() || name == "." || name == ".." || keep.keeps(name)) continue;
    struct stat st;
    if (lstat(("/tmp/" + name).c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
    keep.names.push_back(name);
    keep.targets.push_back("/tmp/" + name);
    keep.is_dir.push_back(S_ISDIR(st.st_mode));
  }
  return keep;
}

bool TmpKeep::keeps(const std::string& name) const {
  return std::find(names.begin(), names.end(), name) != names.end();
}

int Isolation::enter(Kind kind, int roots[2], const char** step, const TmpKeep& keep) const {
  roots[0] = roots[1] = -1;
  if (kind == Kind::None) return 0;
  if (kind == Kind::UserNamespace) {
    *step = "unshare(CLONE_NEWUSER | CLONE_NEWNS)";
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    // The adapter keeps the runner's uid and gid (mapped to themselves), so it is no more
    // privileged inside than outside; setgroups must be denied before an unprivileged gid_map.
    char map[64];
    *step = "write /proc/self/setgroups";
    if (int err = write_proc("/proc/self/setgroups", "deny\n")) return err;
    identity_map(map, uid_);
    *step = "write /proc/self/uid_map";
    if (int err = write_proc("/proc/self/uid_map", map)) return err;
    identity_map(map, gid_);
    *step = "write /proc/self/gid_map";
    if (int err = write_proc("/proc/self/gid_map", map)) return err;
  } else {
    *step = "unshare(CLONE_NEWNS)";
    if (unshare(CLONE_NEWNS) != 0) return errno;
  }
  // A new mount namespace keeps the shared propagation of its parent's mounts (systemd makes /
  // shared): without this, the tmpfs below would appear on the machine's /dev/shm and /tmp.
  *step = "mount --make-rprivate /";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  *step = "mount -t tmpfs tmpfs /dev/shm";
  if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) return errno;
  // The working directory keeps the machine's /tmp, covered by the tmpfs, in reach: what the
  // adapter needs from it is bound back by its relative name.
  *step = "chdir /tmp";
  if (!keep.names.empty() && chdir("/tmp") != 0) return errno;
  *step = "mount -t tmpfs tmpfs /tmp";
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) return errno;
  for (std::size_t i = 0; i < keep.names.size(); ++i) {
    *step = "keep a path of the adapter's under /tmp";
    if (keep.is_dir[i]) {
      if (mkdir(keep.targets[i].c_str(), 0700) != 0) return errno;
    } else {
      int fd = open(keep.targets[i].c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return errno;
      close(fd);
    }
    if (mount(keep.names[i].c_str(), keep.targets[i].c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
  }
  *step = "chdir back to the working directory";
  if (!keep.names.empty() && chdir(keep.cwd.c_str()) != 0) return errno;
  *step = "open /dev/shm";
  roots[0] = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (roots[0] < 0) return errno;
  *step = "open /tmp";
  roots[1] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (roots[1] < 0) return errno;
  return 0;
}

Isolation Isolation::detect() {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  const char* fallback = "/dev/shm snapshot per case (inexact while other programs or runs use /dev/shm)";
  const char* env = std::getenv("MPCONFORM_ISOLATION");
  const std::string setting = env ? env : "auto";
  if (setting == "none")
    return Isolation(Kind::None, std::string("isolation: none (MPCONFORM_ISOLATION=none): ") + fallback, uid, gid);
  if (setting != "auto")
    return Isolation(Kind::None,
                     "isolation: none (MPCONFORM_ISOLATION=" + setting + " is neither auto nor none): " + fallback, uid,
                     gid);

  std::string why_not;
  for (Kind kind : {Kind::MountNamespace, Kind::UserNamespace}) {
    // Tried in a child that does what an adapter's child will do, then exits: the namespaces and
    // the tmpfs vanish with it. It reports the errno and the failed step through a pipe.
    Isolation trial(kind, "", uid, gid);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
      why_not = std::string("pipe: ") + std::strerror(errno);
      break;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      int roots[2];
      const char* step = "";
      int err = trial.enter(roots, &step, TmpKeep{});
      char msg[128];
      std::size_t n = std::min(strlen(step), sizeof(msg) - sizeof(int));
      std::memcpy(msg, &err, sizeof(int));
      std::memcpy(msg + sizeof(int), step, n);
      ssize_t ignored = write(pipefd[1], msg, sizeof(int) + n);
      (void)ignored;
      _exit(err == 0 ? 0 : 1);
    }
    close(pipefd[1]);
    if (pid < 0) {
      close(pipefd[0]);
      why_not = std::string("fork: ") + std::strerror(errno);
      break;
    }
    char msg[128];
    ssize_t n = read(pipefd[0], msg, sizeof(msg));
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int err = EIO;
    std::string step = "the trial child ended without a word";
    if (n >= static_cast<ssize_t>(sizeof(int))) {
      std::memcpy(&err, msg, sizeof(int));
      step.assign(msg + sizeof(int), static_cast<std::size_t>(n) - sizeof(int));
    }
    if (err == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      return Isolation(kind, std::string("isolation: private /dev/shm and /tmp per case (") + kind_words(kind) + ")",
                       uid, gid);
    why_not +=
        std::string(why_not.empty() ? "" : "; ") + "no " + kind_words(kind) + ": " + step + ": " + std::strerror(err);
  }
  return Isolation(Kind::None, "isolation: none (" + why_not + "): " + fallback, uid, gid);
}

const Isolation& Isolation::in_force() {
  static const Isolation decided = detect();
  return decided;
}

std::string shm_name_path(const std::string& name) {
  // POSIX: one leading '/', then a name with no other '/' (glibc maps it to /dev/shm/NAME).
  std::string bare = name.starts_with("/") ? name.substr(1) : name;
  if (bare.empty()) throw std::invalid_argument("is empty");
  if (bare.find('\0') != std::string::npos) throw std::invalid_argument("holds a NUL byte");
  if (bare.find('/') != std::string::npos) throw std::invalid_argument("has a '/' after its first character");
  if (bare == "." || bare == "..") throw std::invalid_argument("is '" + bare + "'");
  if (bare.size() > NAME_MAX) throw std::invalid_argument("is longer than " + std::to_string(NAME_MAX) + " bytes");
  return "/dev/shm/" + bare;
}

void check_absolute_normal(const std::string& path) {
  if (path.find('\0') != std::string::npos) throw std::invalid_argument("holds a NUL byte");
  if (!path.starts_with("/")) throw std::invalid_argument("is not absolute");
  if (path.size() >= PATH_MAX) throw std::invalid_argument("is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  if (path == "/") return;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty()) throw std::invalid_argument("is not normal (an empty component: '//' or a trailing '/')");
    if (part == "." || part == "..") throw std::invalid_argument("is not normal (a '" + part + "' component)");
    start = end + 1;
  }
}

}  // namespace mpconform
