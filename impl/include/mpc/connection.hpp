// mpc/connection.hpp: multiprocessing.connection.Connection and Pipe() for C++.
//
// The byte stream is exactly CPython's (multiprocessing/connection.py, Unix): each message is a
// 4-byte big-endian signed length and the payload; payloads over 0x7fffffff bytes are sent as
// length -1 followed by an 8-byte big-endian length. send()/recv() carry a pickle (protocol 4,
// what ForkingPickler writes). So one end of a pipe may be a CPython
// multiprocessing.connection.Connection and the other an mpc::Connection.
//
// Reads never go past the end of the current message: a connection's descriptor may be shared
// with other processes (C++ or Python) that read the following messages.
//
// Errors are the Python ones (mpc/errors.hpp): OSError("handle is closed"),
// OSError("connection is read-only" / "connection is write-only"), EOFError when the peer is
// gone, OSError("got end of file during message"), BrokenPipeError, ValueError for bad
// offsets, BufferTooShort carrying the whole message. A header declaring more than a Py_ssize_t
// holds raises OverflowError, more than this process could ever allocate MemoryError, as
// CPython does; otherwise memory grows with the payload bytes that really arrive, so a header
// that lies about its length costs nothing.
//
// Writing to a pipe whose reader is gone raises BrokenPipeError and never delivers SIGPIPE
// (blocked for the write, unless the process ignores it, as Python processes do). Once a write
// has found SIGPIPE ignored, mpc stops checking: restore SIG_DFL later and such a write
// terminates the process, as plain write(2) would.
//
// A Connection is not meant to be used by several threads at once (neither is CPython's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mpc/deadline.hpp"
#include "mpc/fd.hpp"
#include "mpc/value.hpp"

namespace mpc {

class Connection {
 public:
  // A closed connection (closed() == true); assign a real one to use it.
  Connection() noexcept = default;

  // Takes ownership of `fd` (a pipe end, a socket, anything stream-like). Like CPython:
  // ValueError("invalid handle") for fd < 0, ValueError when neither readable nor writable.
  explicit Connection(int fd, bool readable = true, bool writable = true);
  explicit Connection(Fd fd, bool readable = true, bool writable = true);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() = default;  // closes the descriptor (Fd)

  // --- sending -------------------------------------------------------------------------------
  // Pickles `obj` (protocol 4) and sends it as one message.
  void send(const Value& obj);

  // Sends buf[offset : offset + size] as one message (size defaults to the rest). Signed
  // arguments so that CPython's checks can be made: ValueError "offset is negative",
  // "buffer length < offset", "size is negative", "buffer length < offset + size".
  void send_bytes(std::span<const std::byte> buf, std::int64_t offset = 0,
                  std::optional<std::int64_t> size = std::nullopt);
  void send_bytes(std::string_view buf, std::int64_t offset = 0, std::optional<std::int64_t> size = std::nullopt) {
    send_bytes(std::as_bytes(std::span(buf.data(), buf.size())), offset, size);
  }

  // --- receiving -----------------------------------------------------------------------------
  // Blocks for one message and unpickles it.
  Value recv();

  // Blocks for one message. With maxlength, a longer message raises OSError("bad message
  // length") and, as in CPython, leaves the connection unusable for reading: a duplex
  // connection becomes write-only, a read-only one is closed; the payload stays unread.
  std::string recv_bytes(std::optional<std::int64_t> maxlength = std::nullopt);

  // Reads one message into buf starting at byte `offset` and returns its size. A message that
  // does not fit is consumed and raised as BufferTooShort carrying the whole message.
  // ValueError "negative offset" / "offset too large" are checked before reading.
  std::size_t recv_bytes_into(std::span<std::byte> buf, std::int64_t offset = 0);
  std::size_t recv_bytes_into(std::span<char> buf, std::int64_t offset = 0) {
    return recv_bytes_into(std::as_writable_bytes(buf), offset);
  }

  // Whether a message (or EOF) is ready to read, waiting up to `timeout` seconds
  // (default 0 = just look; negative = 0; nullopt = wait forever). Never consumes data.
  bool poll(Timeout timeout = 0.0);

  // Non-throwing-on-timeout forms: nullopt when nothing arrived within `timeout`.
  std::optional<std::string> try_recv_bytes(Timeout timeout);
  std::optional<Value> try_recv(Timeout timeout);

  // --- state ---------------------------------------------------------------------------------
  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return !fd_.valid(); }
  [[nodiscard]] bool readable() const noexcept { return readable_; }
  [[nodiscard]] bool writable() const noexcept { return writable_; }
  // OSError("handle is closed") once closed.
  [[nodiscard]] int fileno() const;
  // Gives the descriptor away (the connection becomes closed). For handing an end to code
  // that owns descriptors itself.
  [[nodiscard]] Fd release() noexcept;

 private:
  void check_closed() const;
  void check_readable() const;
  void check_writable() const;
  void write_message(const std::byte* data, std::size_t n);
  // Reads a header; returns the payload length (or throws EOFError at a clean end of stream).
  std::uint64_t read_header();
  void read_payload(std::byte* dst, std::size_t n);
  // Reads an n-byte payload into a buffer that grows with the bytes received (MemoryError when
  // it cannot grow); n has been through the length checks.
  std::string read_payload(std::size_t n);
  [[noreturn]] void bad_message_length();

  Fd fd_;
  bool readable_ = true;
  bool writable_ = true;
  bool is_socket_ = false;  // sockets write with MSG_NOSIGNAL; pipes need SIGPIPE held off
};

// Pipe(duplex=true): a connected pair of duplex connections (socketpair AF_UNIX SOCK_STREAM).
// Pipe(false): (reader, writer) over pipe(2), exactly like CPython. Both ends close-on-exec.
std::pair<Connection, Connection> Pipe(bool duplex = true);

}  // namespace mpc
