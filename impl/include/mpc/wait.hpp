// mpc/wait.hpp: multiprocessing.connection.wait for C++: which of several descriptors (a
// Connection's fileno(), a Process's sentinel) are ready.
#pragma once

#include <span>
#include <vector>

#include "mpc/deadline.hpp"

namespace mpc {

// Waits until at least one of `fds` is readable (data, end of stream or hangup: a sentinel is
// ready once its child has ended) or `timeout` passes (nullopt: forever; negative: 0). Returns
// the ready ones in the order given (empty on timeout), as CPython's wait() returns its ready
// objects. EINTR is retried against one deadline. OSError(EBADF) for a descriptor that is not
// open; ValueError for a negative one.
[[nodiscard]] std::vector<int> wait(std::span<const int> fds, Timeout timeout = std::nullopt);

}  // namespace mpc
