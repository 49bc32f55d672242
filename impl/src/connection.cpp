#include "mpc/connection.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>

#include "io.hpp"
#include "mpc/errors.hpp"
#include "mpc/pickle.hpp"

namespace mpc {

namespace {

constexpr std::uint64_t kMaxShortLength = 0x7fffffff;  // beyond: -1 + 8-byte length
constexpr std::size_t kSmallMessage = 512;             // copied next to its header

void put_be32(std::byte* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::byte>(v & 0xff);
}
void put_be64(std::byte* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::byte>(v & 0xff);
}
std::uint64_t get_be(const std::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

// A payload buffer starts at most this big and at most doubles per step, so memory follows the
// bytes that really arrived, not the length a header declares (a 4-byte header may say 2 GiB).
// 1 MiB: a lying header costs at most that, and messages up to 1 MiB are read with no regrowth.
constexpr std::size_t kFirstChunk = std::size_t{1} << 20;

// The most bytes a message may declare and still be read: what a std::string can hold, the
// memory and swap of the machine, and this process's address-space and data limits. Beyond it
// the buffer can never be allocated: MemoryError at once, as CPython gets from allocating it.
std::uint64_t max_payload() {
  static const std::uint64_t limit = [] {
    std::uint64_t bound = std::string().max_size();
    struct sysinfo info {};
    if (::sysinfo(&info) == 0) {
      const std::uint64_t memory = (std::uint64_t{info.totalram} + info.totalswap) * info.mem_unit;
      if (memory > 0) bound = std::min(bound, memory);
    }
    for (const int resource : {RLIMIT_AS, RLIMIT_DATA}) {
      rlimit rl{};
      if (::getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        bound = std::min<std::uint64_t>(bound, rl.rlim_cur);
      }
    }
    return bound;
  }();
  return limit;
}

// A declared length checked the way CPython's os.read(fd, n) sees it: beyond a Py_ssize_t it is
// OverflowError; beyond what can be allocated, MemoryError. Neither reads any payload.
std::size_t checked_length(std::uint64_t n) {
  if (n > static_cast<std::uint64_t>(INT64_MAX)) {
    throw OverflowError("message length " + std::to_string(n) + ": Python int too large to convert to C ssize_t");
  }
  if (n > max_payload()) {
    throw MemoryError("message length " + std::to_string(n) + " exceeds the " + std::to_string(max_payload()) +
                      " bytes this process can allocate");
  }
  return static_cast<std::size_t>(n);
}

}  // namespace

Connection::Connection(int fd, bool readable, bool writable) : Connection(Fd(fd), readable, writable) {}

Connection::Connection(Fd fd, bool readable, bool writable) {
  if (!fd.valid()) {
    (void)fd.release();  // not ours to close: there is nothing there
    throw ValueError("invalid handle");
  }
  if (!readable && !writable) {
    throw ValueError("at least one of `readable` and `writable` must be True");
  }
  is_socket_ = detail::is_socket(fd.get());
  fd_ = std::move(fd);
  readable_ = readable;
  writable_ = writable;
}

void Connection::check_closed() const {
  if (!fd_.valid()) throw OSError("handle is closed");
}
void Connection::check_readable() const {
  if (!readable_) throw OSError("connection is write-only");
}
void Connection::check_writable() const {
  if (!writable_) throw OSError("connection is read-only");
}

int Connection::fileno() const {
  check_closed();
  return fd_.get();
}

void Connection::close() noexcept { fd_.reset(); }

Fd Connection::release() noexcept { return std::move(fd_); }

// ---- sending ---------------------------------------------------------------------------------

void Connection::write_message(const std::byte* data, std::size_t n) {
  // Header and payload go out in one writev/sendmsg: for messages up to 16384 bytes that is the
  // single write CPython makes of header + payload (and pipe writes ≤ PIPE_BUF stay atomic);
  // for larger ones the bytes on the wire are the same as CPython's two writes, without the
  // extra system call.
  std::byte header[12];
  iovec iov[2];
  if (n > kMaxShortLength) {
    put_be32(header, 0xffffffffu);  // -1 as a signed big-endian int
    put_be64(header + 4, n);
    iov[0] = {header, 12};
  } else {
    put_be32(header, static_cast<std::uint32_t>(n));
    iov[0] = {header, 4};
  }
  if (n <= kSmallMessage) {
    // Small: one contiguous buffer and a plain write(2), a little cheaper than writev.
    std::byte buf[4 + kSmallMessage];
    std::memcpy(buf, header, 4);
    if (n > 0) std::memcpy(buf + 4, data, n);
    iovec one{buf, 4 + n};
    detail::write_all(fd_.get(), &one, 1, is_socket_);
    return;
  }
  iov[1] = {const_cast<std::byte*>(data), n};
  detail::write_all(fd_.get(), iov, 2, is_socket_);
}

void Connection::send_bytes(std::span<const std::byte> buf, std::int64_t offset, std::optional<std::int64_t> size) {
  check_closed();
  check_writable();
  const auto n = static_cast<std::int64_t>(buf.size());
  if (offset < 0) throw ValueError("offset is negative");
  if (n < offset) throw ValueError("buffer length < offset");
  std::int64_t count;
  if (!size) {
    count = n - offset;
  } else if (*size < 0) {
    throw ValueError("size is negative");
  } else if (offset + *size > n) {
    throw ValueError("buffer length < offset + size");
  } else {
    count = *size;
  }
  write_message(buf.data() + offset, static_cast<std::size_t>(count));
}

void Connection::send(const Value& obj) {
  check_closed();
  check_writable();
  // Pickle first: an unpicklable value raises here and nothing is written (as in CPython).
  std::string payload = pickle::dumps(obj, 4);
  write_message(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
}

// ---- receiving -------------------------------------------------------------------------------

void Connection::read_payload(std::byte* dst, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = detail::read_some(fd_.get(), dst + got, n - got);
    if (r == 0) throw OSError("got end of file during message");
    got += r;
  }
}

std::string Connection::read_payload(std::size_t n) {
  std::string out;
  try {
    out.resize(std::min(n, kFirstChunk));
    std::size_t got = 0;
    for (;;) {
      while (got < out.size()) {
        std::size_t r = detail::read_some(fd_.get(), out.data() + got, out.size() - got);
        if (r == 0) throw OSError("got end of file during message");
        got += r;
      }
      if (got == n) return out;
      out.resize(std::min(n, out.size() * 2));  // the buffer is full and more is due
    }
  } catch (const std::bad_alloc&) {
    throw MemoryError("cannot allocate a buffer for a message of " + std::to_string(n) + " bytes");
  }
}

std::uint64_t Connection::read_header() {
  std::byte h[8];
  // The first read decides between a clean end of stream (EOFError) and a torn message.
  std::size_t r = detail::read_some(fd_.get(), h, 4);
  if (r == 0) throw EOFError("");
  if (r < 4) read_payload(h + r, 4 - r);
  auto len = static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(h, 4)));
  if (len == -1) {
    read_payload(h, 8);
    return get_be(h, 8);
  }
  // CPython would fail later on other negative lengths (io.BytesIO size); a clear error here.
  if (len < 0) throw OSError("bad message length");
  return static_cast<std::uint64_t>(len);
}

void Connection::bad_message_length() {
  // CPython's after-effects (connection.py _bad_message_length): a connection that can still
  // write becomes write-only, a read-only one is closed. The payload stays unread.
  if (writable_) {
    readable_ = false;
  } else {
    close();
  }
  throw OSError("bad message length");
}

std::string Connection::recv_bytes(std::optional<std::int64_t> maxlength) {
  check_closed();
  check_readable();
  if (maxlength && *maxlength < 0) throw ValueError("negative maxlength");
  std::uint64_t n = read_header();
  if (maxlength && n > static_cast<std::uint64_t>(*maxlength)) bad_message_length();
  return read_payload(checked_length(n));
}

std::size_t Connection::recv_bytes_into(std::span<std::byte> buf, std::int64_t offset) {
  check_closed();
  check_readable();
  const auto bytesize = static_cast<std::int64_t>(buf.size());
  if (offset < 0) throw ValueError("negative offset");
  if (offset > bytesize) throw ValueError("offset too large");
  std::uint64_t n = read_header();
  if (n > static_cast<std::uint64_t>(bytesize - offset)) {
    // Consumed anyway, and handed to the caller inside the exception, as CPython does.
    throw BufferTooShort(read_payload(checked_length(n)));
  }
  read_payload(buf.data() + offset, static_cast<std::size_t>(n));
  return static_cast<std::size_t>(n);
}

Value Connection::recv() {
  check_closed();
  check_readable();
  std::uint64_t n = read_header();
  return pickle::loads(read_payload(checked_length(n)));
}

bool Connection::poll(Timeout timeout) {
  check_closed();
  check_readable();
  return detail::wait_readable(fd_.get(), Deadline::after(timeout));
}

std::optional<std::string> Connection::try_recv_bytes(Timeout timeout) {
  if (!poll(timeout)) return std::nullopt;
  return recv_bytes();
}

std::optional<Value> Connection::try_recv(Timeout timeout) {
  if (!poll(timeout)) return std::nullopt;
  return recv();
}

// ---- Pipe ------------------------------------------------------------------------------------

std::pair<Connection, Connection> Pipe(bool duplex) {
  int fds[2];
  if (duplex) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) detail::raise_errno(errno);
    return {Connection(Fd(fds[0])), Connection(Fd(fds[1]))};
  }
  if (::pipe2(fds, O_CLOEXEC) != 0) detail::raise_errno(errno);
  return {Connection(Fd(fds[0]), true, false), Connection(Fd(fds[1]), false, true)};
}

}  // namespace mpc
