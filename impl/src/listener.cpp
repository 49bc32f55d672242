#include "mpc/listener.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "io.hpp"
#include "mpc/errors.hpp"

namespace mpc {
namespace {

constexpr std::string_view kChallenge = "#CHALLENGE#";
constexpr std::string_view kWelcome = "#WELCOME#";
constexpr std::string_view kFailure = "#FAILURE#";
constexpr std::size_t kMessageLength = 40;         // 3.12+'s MESSAGE_LENGTH
constexpr std::size_t kLegacyChallenge = 20;       // 3.8-3.11's, and the shortest accepted
constexpr std::size_t kMd5Length = 16;             // a legacy answer
constexpr std::size_t kMaxHandshakeMessage = 256;  // CPython's recv_bytes(256)

// The digests CPython 3.12+ accept by name in a `{name}` prefix.
const EVP_MD* digest_by_name(std::string_view name) {
  if (name == "md5") return EVP_md5();
  if (name == "sha256") return EVP_sha256();
  if (name == "sha384") return EVP_sha384();
  if (name == "sha3_256") return EVP_sha3_256();
  if (name == "sha3_384") return EVP_sha3_384();
  return nullptr;
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), out.data(), &length) == nullptr)
    throw AuthenticationError("HMAC failed");
  return {reinterpret_cast<const char*>(out.data()), length};
}

// CPython's _get_digest_name_and_payload: "" for the legacy (unprefixed MD5) form.
std::pair<std::string, std::string_view> digest_name_and_payload(std::string_view message) {
  if (message.size() == kLegacyChallenge || message.size() == kMd5Length) return {"", message};
  if (!message.empty() && message[0] == '{') {
    const std::size_t close = message.find('}', 1);
    if (close != std::string_view::npos && close <= 9) {  // the longest name, sha3_384, and '}'
      std::string name(message.substr(1, close - 1));
      if (digest_by_name(name) != nullptr) return {name, message.substr(close + 1)};
    }
  }
  throw AuthenticationError("unsupported message length, missing digest prefix, or unsupported digest");
}

// One handshake message, at most kMaxHandshakeMessage bytes, before the deadline. Reads exactly
// the message (a header and its payload), never beyond it.
std::string recv_handshake(Connection& conn, const Deadline& deadline) {
  const int fd = conn.fileno();
  auto read_exact = [&](char* dst, std::size_t n, bool message_start) {
    std::size_t got = 0;
    while (got < n) {
      if (!detail::wait_readable(fd, deadline))
        throw AuthenticationError("the peer did not complete the authentication handshake in time");
      const std::size_t r = detail::read_some(fd, dst + got, n - got);
      if (r == 0) {
        if (got == 0 && message_start) throw EOFError("");
        throw OSError("got end of file during message");
      }
      got += r;
    }
  };
  std::array<unsigned char, 4> header{};
  read_exact(reinterpret_cast<char*>(header.data()), header.size(), true);
  const std::int32_t length =
      static_cast<std::int32_t>((std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                                (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]});
  // A negative length (-1: an 8-byte length follows) is over the bound as well.
  if (length < 0 || static_cast<std::size_t>(length) > kMaxHandshakeMessage) throw OSError("bad message length");
  std::string payload(static_cast<std::size_t>(length), '\0');
  read_exact(payload.data(), payload.size(), false);
  return payload;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

void deliver_challenge(Connection& conn, std::string_view authkey, double timeout) {
  const Deadline deadline = Deadline::after_seconds(timeout);
  const std::string message = "{sha256}" + detail::random_bytes(kMessageLength);
  conn.send_bytes(std::string(kChallenge) + message);
  const std::string response = recv_handshake(conn, deadline);
  try {
    auto [name, mac] = digest_name_and_payload(response);
    const std::string expected = hmac(name.empty() ? EVP_md5() : digest_by_name(name), authkey, message);
    if (expected.size() != mac.size())
      throw AuthenticationError("expected '" + (name.empty() ? std::string("md5") : name) + "' of length " +
                                std::to_string(expected.size()) + " got " + std::to_string(mac.size()));
    if (CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) != 0)
      throw AuthenticationError("digest received was wrong");
  } catch (const AuthenticationError&) {
    conn.send_bytes(kFailure);
    throw;
  }
  conn.send_bytes(kWelcome);
}

void answer_challenge(Connection& conn, std::string_view authkey, double timeout) {
  const Deadline deadline = Deadline::after_seconds(timeout);
  std::string message = recv_handshake(conn, deadline);
  if (!starts_with(message, kChallenge)) throw AuthenticationError("Protocol error, expected challenge");
  message.erase(0, kChallenge.size());
  if (message.size() < kLegacyChallenge)
    throw AuthenticationError("challenge too short: " + std::to_string(message.size()) + " bytes");
  const std::string name = digest_name_and_payload(message).first;
  // The MAC covers the whole challenge, `{name}` included.
  if (name.empty()) {
    conn.send_bytes(hmac(EVP_md5(), authkey, message));
  } else {
    conn.send_bytes("{" + name + "}" + hmac(digest_by_name(name), authkey, message));
  }
  if (recv_handshake(conn, deadline) != kWelcome) throw AuthenticationError("digest sent was rejected");
}

// ---- Listener

namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) throw OSError("AF_UNIX path too long", ENAMETOOLONG);
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

Fd unix_socket() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) detail::raise_errno(errno);
  return Fd(fd);
}

}  // namespace

Listener::Listener(std::optional<std::string> address, std::optional<std::string> authkey, int backlog)
    : authkey_(std::move(authkey)), creator_(::getpid()) {
  if (address) {
    address_ = std::move(*address);
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mpc-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) detail::raise_errno(errno);
    directory_ = dir;
    address_ = dir + "/listener-" + std::to_string(::getpid());
  }
  try {
    Fd fd = unix_socket();
    const sockaddr_un sa = unix_address(address_);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) detail::raise_errno(errno);
    if (::listen(fd.get(), backlog) != 0) {
      const int err = errno;
      ::unlink(address_.c_str());
      detail::raise_errno(err);
    }
    fd_ = std::move(fd);
  } catch (...) {
    if (!directory_.empty()) ::rmdir(directory_.c_str());
    throw;
  }
}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::move(other.fd_)),
      address_(std::move(other.address_)),
      directory_(std::exchange(other.directory_, {})),
      authkey_(std::move(other.authkey_)),
      creator_(other.creator_) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::move(other.fd_);
    address_ = std::move(other.address_);
    directory_ = std::exchange(other.directory_, {});
    authkey_ = std::move(other.authkey_);
    creator_ = other.creator_;
  }
  return *this;
}

Listener::~Listener() { close(); }

int Listener::fileno() const {
  if (!fd_.valid()) throw OSError("handle is closed");
  return fd_.get();
}

Connection Listener::accept() {
  const int listening = fileno();
  int fd;
  do {
    fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) detail::raise_errno(errno);
  Connection conn(fd);
  if (authkey_) {
    deliver_challenge(conn, *authkey_);
    answer_challenge(conn, *authkey_);
  }
  return conn;
}

void Listener::close() noexcept {
  if (!fd_.valid()) return;
  fd_.reset();
  if (creator_ == ::getpid()) {
    ::unlink(address_.c_str());
    if (!directory_.empty()) ::rmdir(directory_.c_str());
  }
  directory_.clear();
}

Connection Client(const std::string& address, std::optional<std::string> authkey) {
  Fd fd = unix_socket();
  const sockaddr_un sa = unix_address(address);
  // A Unix socket connects at once or fails (no EINTR retry dance needed).
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) detail::raise_errno(errno);
  Connection conn(std::move(fd));
  if (authkey) {
    answer_challenge(conn, *authkey);
    deliver_challenge(conn, *authkey);
  }
  return conn;
}

}  // namespace mpc
