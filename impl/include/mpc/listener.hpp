// mpc/listener.hpp: multiprocessing.connection.Listener and Client for C++, AF_UNIX addresses.
//
// A connection made here is a plain mpc::Connection over a Unix stream socket. With an authkey,
// both sides authenticate each other as CPython's do (deliver_challenge / answer_challenge), so
// that a CPython 3.8-3.13 Client can connect to an mpc Listener and an mpc Client to a CPython
// Listener:
// - the server sends `#CHALLENGE#{sha256}` and 40 random bytes (3.12+'s form; a 3.8-3.11 client
//   answers it with the raw HMAC-MD5 of everything after `#CHALLENGE#`), and accepts an answer
//   of 16 or 20 bytes as legacy HMAC-MD5, else `{name}` + HMAC with name among md5, sha256,
//   sha384, sha3_256, sha3_384, compared in constant time; it replies `#WELCOME#` or
//   `#FAILURE#`;
// - the client answers a 20-byte challenge (3.8-3.11 servers) with the raw HMAC-MD5, a
//   `{name}`-prefixed one with `{name}` + HMAC over the whole challenge after `#CHALLENGE#`.
// A failed check raises AuthenticationError on the side that found it, and the other side gets
// `#FAILURE#` (AuthenticationError "digest sent was rejected") when it is the server that
// refused. Every handshake message is read with CPython's bound (256 bytes: a longer one raises
// OSError "bad message length" without reading it) and the whole handshake has a deadline
// (handshake_timeout seconds, AuthenticationError when it passes), so a peer that sends
// garbage, a huge length or nothing at all costs neither memory nor an unbounded wait.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>

#include "mpc/connection.hpp"
#include "mpc/fd.hpp"

namespace mpc {

inline constexpr double kHandshakeTimeout = 10.0;  // seconds for a whole authentication

// The server side of the handshake (CPython's deliver_challenge) and the client side
// (answer_challenge), on any connected Connection. Throws AuthenticationError, OSError,
// EOFError.
void deliver_challenge(Connection& conn, std::string_view authkey, double timeout = kHandshakeTimeout);
void answer_challenge(Connection& conn, std::string_view authkey, double timeout = kHandshakeTimeout);

class Listener {
 public:
  // Binds and listens on `address` (a filesystem path), or on a fresh path in a new private
  // directory when it is nullopt (CPython: a `listener-XXXXXXXX` under a `pymp-` directory).
  // With an authkey every accepted connection is authenticated (CPython: authkey not None).
  // OSError when the socket cannot be made (EADDRINUSE for a path that exists).
  explicit Listener(std::optional<std::string> address = std::nullopt,
                    std::optional<std::string> authkey = std::nullopt, int backlog = 1);
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();  // close()

  // Waits for a client, then authenticates it. AuthenticationError (the connection is closed),
  // OSError("handle is closed") after close().
  Connection accept();

  // Closes the socket and, in the process that made it, removes the socket file (and the
  // directory made for it); a fork()ed copy only closes its descriptor, as CPython's
  // Finalize-based unlink does nothing in another process.
  void close() noexcept;

  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  // The listening socket (for poll): OSError("handle is closed") after close().
  [[nodiscard]] int fileno() const;

 private:
  Fd fd_;
  std::string address_;
  std::string directory_;  // made for address_, removed with it; empty for a caller's path
  std::optional<std::string> authkey_;
  pid_t creator_ = -1;
};

// Connects to a Listener at `address` (a path) and, with an authkey, authenticates both ways.
// OSError (FileNotFoundError's errno, ECONNREFUSED) when nothing listens there.
[[nodiscard]] Connection Client(const std::string& address, std::optional<std::string> authkey = std::nullopt);

}  // namespace mpc
