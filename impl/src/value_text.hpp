// Private text helpers shared by the value printer and the pickle codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mpc::detail {

// Python's repr(float): shortest round-trip digits, "1e+16", "1e-05", "0.0001", "-0.0",
// "inf", "-inf", "nan".
[[nodiscard]] std::string float_repr(double value);

// Decodes the code point at text[pos] and advances pos. UTF-8 as CPython's "surrogatepass"
// accepts it: well-formed UTF-8 plus surrogates U+D800-U+DFFF in their 3-byte form. Returns
// false (pos unchanged) on anything else.
[[nodiscard]] bool next_code_point(std::string_view text, std::size_t& pos, std::uint32_t& code_point) noexcept;
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;
// Appends code point (at most 0x10FFFF; surrogates allowed) as UTF-8.
void append_utf8(std::string& out, std::uint32_t code_point);

}  // namespace mpc::detail
