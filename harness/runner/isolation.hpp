// Where a case's adapter runs. Where the runner may create a mount namespace (root, or an
// unprivileged user namespace), each case's adapter gets a fresh tmpfs of its own on /dev/shm and
// on /tmp: what is left there after its processes are gone is exactly what the case left, and
// concurrent runs never see each other's files. Elsewhere the runner falls back to a snapshot of
// the machine's /dev/shm before and after each case (inexact when other programs use it).
//
// MPCONFORM_ISOLATION=none turns isolation off (so that the fallback can be tested as root);
// MPCONFORM_ISOLATION=auto, or unset, uses it where it is possible.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mpconform {

// The top-level entries of the machine's /tmp that an adapter must still see in its private /tmp:
// those on the way to its working directory and to each absolute path on its command line (a
// clone or build tree under /tmp holds the adapter itself). Isolation::enter binds them back from
// the machine's /tmp; what is kept is never counted as left behind. Made in the runner before
// fork, so that the child only reads it.
struct TmpKeep {
  std::vector<std::string> names;    // "work-1"
  std::vector<std::string> targets;  // "/tmp/work-1"
  std::vector<char> is_dir;
  std::string cwd;  // the runner's working directory, entered again once /tmp is private

  static TmpKeep for_command(const std::vector<std::string>& argv);
  bool keeps(const std::string& name) const;
};

class Isolation {
 public:
  enum class Kind { MountNamespace, UserNamespace, None };

  // Decided once per process: MPCONFORM_ISOLATION, then a trial child that tries each kind.
  static const Isolation& in_force();

  Kind kind() const { return kind_; }
  bool isolated() const { return kind_ != Kind::None; }
  // One line for the run's output: "isolation: private /dev/shm and /tmp per case (mount namespace)".
  const std::string& description() const { return description_; }

  // Called in the adapter's child between fork and exec, so only system calls (async-signal-safe):
  // enters the namespaces, makes every mount private (nothing propagates to the machine), mounts a
  // fresh tmpfs on /dev/shm and on /tmp, and opens their roots into roots[0] and roots[1] (these
  // keep the tmpfs readable by the runner once the namespace is gone). Returns 0, or an errno with
  // *step naming what failed.
  int enter(int roots[2], const char** step, const TmpKeep& keep) const { return enter(kind_, roots, step, keep); }

 private:
  Isolation(Kind kind, std::string description, uid_t uid, gid_t gid)
      : kind_(kind), description_(std::move(description)), uid_(uid), gid_(gid) {}
  static Isolation detect();
  int enter(Kind kind, int roots[2], const char** step, const TmpKeep& keep) const;

  Kind kind_;
  std::string description_;
  uid_t uid_;  // the runner's, mapped to itself in a user namespace
  gid_t gid_;
};

// Cleanup names from the adapter's goodbye become paths only through these. Each throws
// std::invalid_argument saying what is wrong, so that a name never reaches the file system as
// anything but the one entry it names.
// A POSIX shared-memory or semaphore name ("/psm_1a2b" or "psm_1a2b"): its path in /dev/shm.
std::string shm_name_path(const std::string& name);
// A file path: absolute and normal (no "." or ".." component, no empty one, no trailing '/').
void check_absolute_normal(const std::string& path);

}  // namespace mpconform
