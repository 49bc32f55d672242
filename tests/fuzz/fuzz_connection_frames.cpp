// libFuzzer target: mpc::Connection's frame reader on arbitrary byte streams, every receiving
// form (recv_bytes, recv_bytes with maxlength, recv_bytes_into, recv), over pipe(2) and an
// AF_UNIX socketpair, checked message by message against a model of the framing.
//
// Input: byte 0 picks the transport (bit 0) and seeds the choice of form per message; bytes 1-2
// are a maxlength / buffer size; the rest is what the peer wrote, followed by end of file.
// Findings: a crash or sanitizer report; a foreign exception (std::bad_alloc, ...); a result or
// error that differs from the model; an allocation the size of a header's claim (caught by
// -malloc_limit_mb, see run.sh).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpc/connection.hpp"
#include "mpc/errors.hpp"
#include "mpc/pickle.hpp"
#include "mpc/value.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_connection_frames: %s\n", what.c_str());
  std::abort();
}

// One frame as the model reads it from the stream at `pos`.
struct Frame {
  enum class Kind { Whole, Eof, Torn, Negative } kind;
  std::uint64_t length = 0;  // declared
  std::string payload;       // Whole only
};

Frame model_frame(std::string_view stream, std::size_t& pos) {
  const auto get_be = [&](std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(stream[at + static_cast<std::size_t>(i)]);
    return v;
  };
  if (pos == stream.size()) return {Frame::Kind::Eof};
  if (stream.size() - pos < 4) return {Frame::Kind::Torn};
  const auto len = static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(pos, 4)));
  std::size_t at = pos + 4;
  std::uint64_t n;
  if (len == -1) {
    if (stream.size() - at < 8) return {Frame::Kind::Torn};
    n = get_be(at, 8);
    at += 8;
  } else if (len < 0) {
    return {Frame::Kind::Negative};
  } else {
    n = static_cast<std::uint64_t>(len);
  }
  if (n > stream.size() - at) return {Frame::Kind::Torn, n};
  pos = at + static_cast<std::size_t>(n);
  return {Frame::Kind::Whole, n, std::string(stream.substr(at, static_cast<std::size_t>(n)))};
}

// Writes the whole stream without blocking (the input is capped below the buffer sizes).
bool fill(int fd, std::string_view stream) {
  while (!stream.empty()) {
    const ssize_t w = ::write(fd, stream.data(), stream.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    stream.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

enum class Form { RecvBytes, RecvBytesMax, RecvBytesInto, Recv };

// What a receive did: a payload (or the value's pickle for recv), or the Python error type and
// message.
struct Outcome {
  bool ok = false;
  std::string payload;
  std::string error_type;
  std::string message;
};

Outcome receive(mpc::Connection& c, Form form, std::int64_t limit, std::vector<char>& buffer) {
  Outcome out;
  try {
    switch (form) {
      case Form::RecvBytes: out.payload = c.recv_bytes(); break;
      case Form::RecvBytesMax: out.payload = c.recv_bytes(limit); break;
      case Form::RecvBytesInto: {
        const std::int64_t offset = limit % 5;
        const std::size_t n = c.recv_bytes_into(std::span<char>(buffer), offset);
        out.payload.assign(buffer.data() + offset, n);
        break;
      }
      case Form::Recv: out.payload = mpc::pickle::dumps(c.recv(), 5); break;
    }
    out.ok = true;
  } catch (const mpc::BufferTooShort& e) {
    out.error_type = "BufferTooShort";
    out.message = e.message();
  } catch (const mpc::Error& e) {
    out.error_type = std::string(e.python_type());
    out.message = e.what();
  }
  return out;
}

void check(bool socket, std::uint8_t seed, std::int64_t limit, std::string_view stream) {
  int fds[2];
  if (socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0 : ::pipe2(fds, O_CLOEXEC) != 0) {
    return;  // out of descriptors: nothing to learn
  }
  if (!socket) (void)::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  (void)::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  if (!fill(fds[1], stream)) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  ::close(fds[1]);
  mpc::Connection c(fds[0], true, false);
  std::vector<char> buffer(static_cast<std::size_t>(limit % 300) + 5);

  std::size_t pos = 0;
  std::uint32_t state = seed * 2654435761u + 1;
  for (int message = 0; message < 1000; ++message) {
    state = state * 1103515245u + 12345u;
    const auto form = static_cast<Form>((state >> 16) % 4);
    const Frame frame = model_frame(stream, pos);
    const Outcome got = receive(c, form, limit, buffer);
    const std::string where = std::string(socket ? "socketpair" : "pipe") + ", message " + std::to_string(message) +
                              ", form " + std::to_string(static_cast<int>(form)) + ": ";
    switch (frame.kind) {
      case Frame::Kind::Eof:
        if (got.error_type != "EOFError")
          finding(where + "at end of stream expected EOFError, got " + got.error_type + " " + got.message);
        return;
      case Frame::Kind::Negative:
        if (got.error_type != "OSError" || got.message != "bad message length") {
          finding(where + "a negative length must be 'bad message length', got " + got.error_type + " " + got.message);
        }
        return;
      case Frame::Kind::Torn: {
        // Past the checks on its length, a short message is a torn one. A length too big to
        // allocate, or beyond a Py_ssize_t, is refused first, as in CPython.
        if (form == Form::RecvBytesMax && frame.length > static_cast<std::uint64_t>(limit) &&
            got.message == "bad message length") {
          return;
        }
        const bool torn = got.error_type == "OSError" && got.message == "got end of file during message";
        const bool too_big = got.error_type == "MemoryError" && frame.length > (std::uint64_t{1} << 31);
        const bool overflow = got.error_type == "OverflowError" && frame.length > static_cast<std::uint64_t>(INT64_MAX);
        if (frame.length > static_cast<std::uint64_t>(INT64_MAX) && !overflow) {
          finding(where + "a length beyond 2^63-1 must be OverflowError, got " + got.error_type + " " + got.message);
        }
        if (!torn && !too_big && !overflow) finding(where + "torn message: got " + got.error_type + " " + got.message);
        return;
      }
      case Frame::Kind::Whole: break;
    }
    switch (form) {
      case Form::RecvBytesMax:
        if (frame.length > static_cast<std::uint64_t>(limit)) {
          if (got.message != "bad message length")
            finding(where + "over maxlength: got " + got.error_type + " " + got.message);
          if (!c.closed()) finding(where + "a read-only end must be closed after 'bad message length'");
          return;
        }
        [[fallthrough]];
      case Form::RecvBytes:
        if (!got.ok || got.payload != frame.payload)
          finding(where + "payload differs: " + got.error_type + " " + got.message);
        break;
      case Form::RecvBytesInto: {
        const std::size_t room = buffer.size() - static_cast<std::size_t>(limit % 5);
        if (frame.payload.size() > room) {
          if (got.error_type != "BufferTooShort" || got.message != frame.payload) {
            finding(where + "too long for the buffer: expected BufferTooShort with the message, got " + got.error_type);
          }
        } else if (!got.ok || got.payload != frame.payload) {
          finding(where + "recv_bytes_into payload differs: " + got.error_type + " " + got.message);
        }
        break;
      }
      case Form::Recv: {
        // recv() is loads(recv_bytes()): the same value or the same error.
        Outcome direct;
        try {
          direct.payload = mpc::pickle::dumps(mpc::pickle::loads(frame.payload), 5);
          direct.ok = true;
        } catch (const mpc::Error& e) {
          direct.error_type = std::string(e.python_type());
          direct.message = e.what();
        }
        if (got.ok != direct.ok || got.payload != direct.payload || got.error_type != direct.error_type ||
            got.message != direct.message) {
          finding(where + "recv() differs from loads(payload): " + got.error_type + " " + got.message + " vs " +
                  direct.error_type + " " + direct.message);
        }
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3 || size > 100'000) return 0;  // the stream must fit the pipe/socket buffer
  const std::int64_t limit = (std::int64_t{data[1]} << 8) | data[2];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);
  check((data[0] & 1) != 0, data[0], limit, stream);
  return 0;
}
