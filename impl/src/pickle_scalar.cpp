#include "pickle_scalar.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#include "pickle_opcodes.hpp"

namespace mpc::pickle::fast {
namespace {

constexpr std::size_t kFrameHeaderSize = 9;  // FRAME and an 8-byte little-endian length
constexpr std::size_t kFrameSizeMin = 4;     // CPython frames nothing shorter

void put_le(char* p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

}  // namespace

std::optional<std::string> dump_scalar(const Value& v, int protocol) {
  if (protocol < 2 || protocol > 5) return std::nullopt;
  char body[9];  // the opcode and its argument (at most BINFLOAT's 8 bytes)
  std::size_t n = 0;
  switch (v.kind()) {
    case Kind::None: body[n++] = op::NONE; break;
    case Kind::Bool: body[n++] = v.as_bool() ? op::NEWTRUE : op::NEWFALSE; break;
    case Kind::Int: {
      // save_long: BININT1/BININT2 for small non-negative ints, BININT for the rest of
      // the 32-bit range; wider ints take LONG1 through the general encoder.
      const auto i = v.to_int64();
      if (!i || *i < INT32_MIN || *i > INT32_MAX) return std::nullopt;
      if (*i >= 0 && *i <= 0xff) {
        body[n++] = op::BININT1;
        put_le(body + n, static_cast<std::uint64_t>(*i), 1);
        n += 1;
      } else if (*i >= 0 && *i <= 0xffff) {
        body[n++] = op::BININT2;
        put_le(body + n, static_cast<std::uint64_t>(*i), 2);
        n += 2;
      } else {
        body[n++] = op::BININT;
        put_le(body + n, static_cast<std::uint32_t>(static_cast<std::int32_t>(*i)), 4);
        n += 4;
      }
      break;
    }
    case Kind::Float: {
      body[n++] = op::BINFLOAT;  // big-endian IEEE 754 double
      const auto bits = std::bit_cast<std::uint64_t>(v.as_float());
      for (int k = 7; k >= 0; --k) body[n++] = static_cast<char>((bits >> (8 * k)) & 0xff);
      break;
    }
    default: return std::nullopt;
  }
  const std::size_t framed = n + 1;  // a frame holds the opcode and STOP
  const bool frame = protocol >= 4 && framed >= kFrameSizeMin;
  std::string out;
  out.reserve(2 + (frame ? kFrameHeaderSize : 0) + framed);
  out.push_back(op::PROTO);
  out.push_back(static_cast<char>(protocol));
  if (frame) {
    char header[kFrameHeaderSize];
    header[0] = op::FRAME;
    put_le(header + 1, framed, 8);
    out.append(header, kFrameHeaderSize);
  }
  out.append(body, n);
  out.push_back(op::STOP);
  return out;
}

std::optional<Value> load_scalar(std::string_view data) {
  if (data.size() < 4 || data[0] != op::PROTO) return std::nullopt;
  const int protocol = static_cast<unsigned char>(data[1]);
  if (protocol < 2 || protocol > 5) return std::nullopt;
  std::string_view rest = data.substr(2);
  if (rest[0] == op::FRAME) {
    if (protocol < 4 || rest.size() < kFrameHeaderSize) return std::nullopt;
    if (get_le(rest.data() + 1, 8) != rest.size() - kFrameHeaderSize) return std::nullopt;
    rest.remove_prefix(kFrameHeaderSize);
  }
  if (rest.size() < 2 || rest.back() != op::STOP) return std::nullopt;  // an opcode, then STOP
  const char* arg = rest.data() + 1;
  const std::size_t arg_len = rest.size() - 2;  // between the opcode and STOP
  switch (rest[0]) {
    case op::NONE:
      if (arg_len == 0) return Value::none();
      break;
    case op::NEWTRUE:
      if (arg_len == 0) return Value::boolean(true);
      break;
    case op::NEWFALSE:
      if (arg_len == 0) return Value::boolean(false);
      break;
    case op::BININT1:
      if (arg_len == 1) return Value::integer(static_cast<std::int64_t>(get_le(arg, 1)));
      break;
    case op::BININT2:
      if (arg_len == 2) return Value::integer(static_cast<std::int64_t>(get_le(arg, 2)));
      break;
    case op::BININT:
      if (arg_len == 4) {
        return Value::integer(static_cast<std::int32_t>(static_cast<std::uint32_t>(get_le(arg, 4))));
      }
      break;
    case op::BINFLOAT:
      if (arg_len == 8) {
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<unsigned char>(arg[k]);
        return Value::floating(std::bit_cast<double>(bits));
      }
      break;
    default: break;
  }
  return std::nullopt;
}

}  // namespace mpc::pickle::fast
