// The control channel's value codec (spec/values.md) between JSON nodes and mpc::Value, with the
// payload generator, the CRC-32 of digests and Python's float repr.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mpc/value.hpp"

namespace mpconform::cpp_adapter {

using json = nlohmann::json;

// A value node that does not follow spec/values.md.
class ValueFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kDigestThreshold = 1024;  // longer bytes are sent as a digest
inline constexpr std::size_t kPayloadBlock = 65521;

// What a {"t": "ref"} node nested in a value stands for; throws if it cannot be a value.
using RefAsValue = std::function<mpc::Value(const std::string& name)>;

// The mpc::Value of a node. `ref` may be empty: a ref node is then a ValueFormatError.
[[nodiscard]] mpc::Value decode_value(const json& node, const RefAsValue& ref = {});

// The node of a value; bytes and bytearrays over kDigestThreshold become digests.
[[nodiscard]] json encode_value(const mpc::Value& value);

// spec/values.md#payload-generator.
[[nodiscard]] std::string payload(std::uint64_t size, std::uint64_t seed);

// zlib's CRC-32 (ISO-HDLC, reflected 0xEDB88320), as Python's zlib.crc32.
[[nodiscard]] std::uint32_t crc32(std::string_view data) noexcept;

// Python's repr(float): the shortest text that reads back the same double, "nan", "inf", "-0.0".
[[nodiscard]] std::string float_repr(double value);
// Python's float(text) for the texts float_repr and the runner write. Throws ValueFormatError.
[[nodiscard]] double parse_float(std::string_view text);

}  // namespace mpconform::cpp_adapter
