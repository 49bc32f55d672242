// mpc/reduction.hpp: multiprocessing.reduction.send_handle / recv_handle for C++: a file
// descriptor passed over a duplex Connection (a Unix socket) with SCM_RIGHTS, byte-compatible with
// CPython's (one data byte, the count of descriptors mod 256; no acknowledgement on Linux).
#pragma once

#include <sys/types.h>

#include "mpc/connection.hpp"

namespace mpc {

// Sends a duplicate of `handle` to the process at the other end of `conn`. destination_pid is
// unused on POSIX (CPython's signature). OSError when `conn` is not a socket or sendmsg fails.
void send_handle(Connection& conn, int handle, pid_t destination_pid);

// Receives one descriptor sent by send_handle: a new descriptor of this process, owned by the
// caller. EOFError at end of stream; RuntimeError for a message without exactly one descriptor
// (CPython: "received 0 items of ancdata" / "Len is … but msg[0] is …").
[[nodiscard]] int recv_handle(Connection& conn);

}  // namespace mpc
