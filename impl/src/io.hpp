// Private: blocking POSIX I/O with the retry rules every mpc class shares.
//
// - EINTR is retried everywhere (PEP 475 semantics); waits recompute the time left against one
//   absolute Deadline so that retries do not stretch a timeout.
// - Writes never raise SIGPIPE: sockets use MSG_NOSIGNAL, pipes hold SIGPIPE blocked in the
//   calling thread for the duration of the write (unless it is ignored already) and discard
//   the one they caused. EPIPE then surfaces as BrokenPipeError, as in Python. Once a write
//   finds SIGPIPE ignored, later writes take it to stay ignored: a process that restores
//   SIG_DFL afterwards gets the default action (termination) on a write to a closed pipe.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "mpc/deadline.hpp"

namespace mpc::detail {

// Raises the mpc::OSError subclass Python would raise for `err` (BrokenPipeError for EPIPE,
// ...), message "[Errno N] strerror" like Python's str(OSError).
[[noreturn]] void raise_errno(int err);

// Writes all of iov[0..n) (modified in place while advancing).
void write_all(int fd, iovec* iov, int n, bool is_socket);

// One read(2), retried on EINTR. Returns 0 at end of stream.
std::size_t read_some(int fd, void* buf, std::size_t len);

// Waits until fd is readable (data or EOF/hangup) or the deadline passes. Raises OSError(EBADF)
// for a descriptor that is not open (POLLNVAL).
bool wait_readable(int fd, const Deadline& deadline);

// Whether fd refers to a socket (for MSG_NOSIGNAL).
bool is_socket(int fd);

// n bytes from the kernel's CSPRNG (getrandom(2)), as os.urandom(n): authkeys and challenges.
std::string random_bytes(std::size_t n);

}  // namespace mpc::detail
