// Private: anonymous MAP_SHARED mappings owned by shared_ptr handles (sync.cpp, shared_value.cpp).
//
// Made before fork(), a mapping is shared by every process that inherits it; the kernel frees
// it when the last one unmaps it or exits, so nothing ever appears in /dev/shm.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace mpc::detail {

// A zero-filled shared mapping of at least `bytes` bytes (OSError when mmap fails).
std::shared_ptr<void> map_shared(std::size_t bytes);

// Constructs a T at the start of a new mapping of at least `bytes` (default sizeof(T)).
template <class T, class... Args>
std::pair<std::shared_ptr<void>, T*> make_shared_state(std::size_t bytes, Args&&... args) {
  std::shared_ptr<void> mem = map_shared(bytes < sizeof(T) ? sizeof(T) : bytes);
  T* state = new (mem.get()) T{std::forward<Args>(args)...};
  return {std::move(mem), state};
}

}  // namespace mpc::detail
