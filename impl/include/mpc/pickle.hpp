// The pickle codec for the value model (protocols 0-5).
//
// dumps() writes the bytes CPython's pickle.dumps() writes for the same object graph (identity
// and sharing included; set members in the order the Value holds them). loads() reads what
// CPython 3.8-3.13 write for this data model and refuses everything else (any other global, any
// object construction) with an error naming the opcode and its byte offset; it never executes
// anything and bounds the memory and time a hostile stream can make it use.
//
// One object beyond plain data: a Connection value (Kind::Connection), pickled as CPython's
// ForkingPickler pickles a Connection, multiprocessing.connection.rebuild_connection(
// multiprocessing.resource_sharer.DupFd with _id (address, key), readable, writable), protocol 2
// or higher. dumps() registers a duplicate of its descriptor with this process's resource
// sharer (mpc/resource_sharer.hpp); loads() of that form fetches the descriptor from the
// sharer at the address (with this process's authkey) and makes a new Connection of it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mpc/errors.hpp"
#include "mpc/value.hpp"

namespace mpc::pickle {

inline constexpr int kHighestProtocol = 5;
inline constexpr int kDefaultProtocol = 4;  // pickle.DEFAULT_PROTOCOL, what multiprocessing uses

// Base of the codec's own errors, like Python's pickle.PickleError. dumps() and loads() also
// throw mpc::TypeError (an unpicklable value; an unhashable dict key or set member in a stream)
// and mpc::ValueError (a bad protocol; text INT/LONG over 4300 digits), as CPython does.
using Error = mpc::PickleError;

// Pickles a value. A negative protocol means kHighestProtocol; above it, mpc::ValueError.
// Throws mpc::TypeError for an Unpicklable value. Works for any depth and any cycles (no
// recursion on the C++ stack).
[[nodiscard]] std::string dumps(const Value& value, int protocol = kDefaultProtocol);

// dumps() into `out`, replacing what it held but keeping its memory, so that a caller pickling
// one object after another (a Queue's put) does not allocate a fresh buffer for each. On an
// exception `out` holds unspecified bytes.
void dumps_into(std::string& out, const Value& value, int protocol = kDefaultProtocol);

// A bytes value of 64 KiB or more pickles, at protocols 4 and 5, as a short head (PROTO,
// BINBYTES or BINBYTES8 and the length), the payload outside any frame, and a 2-byte tail
// (MEMOIZE, STOP): dumps(v) == head + v.data() + tail. A Queue uses the pieces to copy such a
// payload once, straight from the value into shared memory, instead of through a pickle buffer.
struct BytesPieces {
  std::string head;
  std::string_view payload;  // v.data(): lives as long as v
  std::string_view tail;
};
// nullopt for any other value or protocol (pickle it whole with dumps()).
[[nodiscard]] std::optional<BytesPieces> split_large_bytes(const Value& value, int protocol = kDefaultProtocol);

// The reverse, for a reader that sees the first bytes of a pickle before copying the rest:
// where the payload lies if a pickle of `total` bytes that starts with `first` (its first 16
// bytes, or all of it if shorter) has split_large_bytes()'s form. The caller still checks that
// the last 2 bytes are kLargeBytesTail (else: loads() the whole).
struct BytesLayout {
  std::size_t payload_offset;
  std::size_t payload_size;
};
[[nodiscard]] std::optional<BytesLayout> large_bytes_layout(std::string_view first, std::size_t total);
inline constexpr std::string_view kLargeBytesTail{"\x94.", 2};

// Bounds on what one loads() call may build. Every limit is checked before the memory is
// taken, so a hostile stream costs at most a small multiple of its own size.
struct Limits {
  std::size_t max_stack = std::size_t{1} << 20;    // values on the unpickler stack
  std::size_t max_marks = std::size_t{1} << 16;    // open MARKs
  std::size_t max_memo = std::size_t{1} << 22;     // memo entries
  std::size_t max_objects = std::size_t{1} << 22;  // str/bytes/big ints/containers made
  // Nesting of containers in the result, counted along real paths: a reference back to a
  // container that encloses it (a cycle, `L.append(L)`) adds nothing, however often repeated.
  std::size_t max_depth = 10000;
};

// Unpickles one value: the top of the stack at STOP, as CPython takes it (values and MARKs
// below it are ignored); bytes after STOP are ignored too. Beyond what CPython writes it reads
// what CPython's C unpickler reads for this data model (spec/values.md#pickle-input). Throws
// mpc::UnpicklingError (malformed, truncated, refused or over a limit: the message names the
// opcode and byte offset), mpc::ValueError, mpc::TypeError.
[[nodiscard]] Value loads(std::string_view data, const Limits& limits = {});

}  // namespace mpc::pickle
