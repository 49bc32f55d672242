// mpc/fd.hpp: an owned POSIX file descriptor.
//
// The one RAII handle every other IPC class in mpc is built on. Move-only; the destructor
// closes. `get()` reaches below to the raw descriptor, `release()` gives ownership away.
#pragma once

#include <utility>

namespace mpc {

class Fd {
 public:
  Fd() noexcept = default;
  // Takes ownership of `fd` (-1 means "no descriptor").
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }

  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the current descriptor (errors ignored: after close(2) fails the descriptor is
  // gone anyway on Linux, and retrying on EINTR could close a reused number).
  void reset(int fd = -1) noexcept;

  // Closes now and reports close(2)'s error as mpc::OSError.
  void close();

  // A new descriptor for the same open file, close-on-exec.
  [[nodiscard]] Fd dup() const;

  // Whether exec'd programs inherit the descriptor (FD_CLOEXEC cleared).
  void set_inheritable(bool inheritable);
  [[nodiscard]] bool inheritable() const;

 private:
  int fd_ = -1;
};

}  // namespace mpc
