// Private: MAP_SHARED mappings owned by shared_ptr handles (sync.cpp, shared_value.cpp,
// channel.cpp).
//
// A fork-context mapping is anonymous: shared by every process that inherits it by fork(), freed
// by the kernel when the last one unmaps it or exits, never visible in /dev/shm. A spawn- or
// forkserver-context mapping is backed by a memfd (close-on-exec), whose descriptor the handle's deleter owns, so
// that a spawned child can be given the descriptor and map the same memory (attach_shared); it is
// freed when the last mapping and descriptor are gone, equally invisible in the file system.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "mpc/context.hpp"
#include "mpc/fd.hpp"

namespace mpc::detail {

// The deleter of every mapping handle: unmaps, and closes the memfd if there is one.
struct Unmapper {
  std::size_t len = 0;
  int fd = -1;
  void operator()(void* p) const noexcept;
};

// A zero-filled shared mapping of at least `bytes` bytes, laid out for `method`'s children
// (OSError when mmap or memfd_create fails).
std::shared_ptr<void> map_shared(std::size_t bytes, StartMethod method = StartMethod::fork);

// Maps the memfd a spawning parent passed (taking ownership of it). OSError when it cannot be
// mapped, ValueError when it holds fewer than `bytes` bytes.
std::shared_ptr<void> attach_shared(Fd fd, std::size_t bytes);

// The memfd behind a mapping handle, -1 for an anonymous (fork-context) one.
[[nodiscard]] int shared_fd(const std::shared_ptr<void>& mem) noexcept;
// The length of the mapping.
[[nodiscard]] std::size_t shared_len(const std::shared_ptr<void>& mem) noexcept;

// Constructs a T at the start of a new mapping of at least `bytes` (default sizeof(T)).
template <class T, class... Args>
std::pair<std::shared_ptr<void>, T*> make_shared_state_for(StartMethod method, std::size_t bytes, Args&&... args) {
  std::shared_ptr<void> mem = map_shared(bytes < sizeof(T) ? sizeof(T) : bytes, method);
  T* state = new (mem.get()) T{std::forward<Args>(args)...};
  return {std::move(mem), state};
}

template <class T, class... Args>
std::pair<std::shared_ptr<void>, T*> make_shared_state(std::size_t bytes, Args&&... args) {
  return make_shared_state_for<T>(StartMethod::fork, bytes, std::forward<Args>(args)...);
}

}  // namespace mpc::detail
