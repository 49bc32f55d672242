// mpc/resource_sharer.hpp: multiprocessing.resource_sharer for C++, the way a descriptor
// travels inside a pickle (a Connection sent over a Connection or a Queue).
//
// As CPython's: the sending process registers a duplicate of the descriptor with its sharer, a
// background thread (started on first use) serving a Listener on a fresh Unix socket path with
// this process's authkey (current_process_authkey()); the pickle carries the id (address, key).
// The receiver connects with Client(address, that authkey), sends the pickle of (key, its pid)
// and gets the descriptor by SCM_RIGHTS (send_handle/recv_handle); the sharer then closes its
// duplicate. A CPython process holding the same authkey can take a descriptor mpc registered,
// and mpc one CPython registered.
//
// The thread is stopped, unsent duplicates closed and the socket file removed by stop(), at
// exit (atexit) and before a fork()ed mpc child leaves. A fork()ed child starts with no sharer:
// it closes its copies of the parent's descriptors and never removes the parent's socket
// (CPython's _afterfork).
#pragma once

#include <cstdint>
#include <string>

#include "mpc/fd.hpp"

namespace mpc::resource_sharer {

// CPython's resource_sharer.DupFd._id.
struct Id {
  std::string address;
  std::int64_t key = 0;
};

// Registers a duplicate of `fd` to be handed to the first process that asks for the id.
// OSError when the descriptor cannot be duplicated or the sharer cannot start.
[[nodiscard]] Id share(int fd);

// CPython's DupFd.detach(): the descriptor registered under `id` by another process (or this
// one), owned by the caller. AuthenticationError when the sharer's authkey is not this
// process's; OSError when nothing listens at the address; EOFError when the sharer closed the
// connection without a descriptor (an unknown key).
[[nodiscard]] Fd detach(const Id& id);

// Stops this process's sharer, if it runs (see above). Registered descriptors not taken yet
// are closed. Safe to call any number of times.
void stop() noexcept;

}  // namespace mpc::resource_sharer
