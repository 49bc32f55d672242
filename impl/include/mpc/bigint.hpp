// A small arbitrary-precision integer: enough for Python's `int` in a value model and a codec
// (decimal text, two's complement bytes, comparison, hashing), not for arithmetic.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpc {

class BigInt {
 public:
  BigInt() = default;  // zero
  explicit BigInt(std::int64_t value);

  // Python's int(text) for plain decimal: optional sign, digits, optional surrounding ASCII
  // whitespace and single underscores between digits. Throws mpc::ValueError otherwise.
  static BigInt from_decimal(std::string_view text);
  // Python's int(text, 0): optional surrounding ASCII whitespace, optional sign, a 0x/0o/0b
  // prefix (any case) or decimal without leading zeros (except for zero itself), single
  // underscores between digits (and one after a prefix). More than max_digits digits raises
  // mpc::ValueError before any conversion, like CPython's int_max_str_digits; so does bad text.
  static BigInt from_literal(std::string_view text, std::size_t max_digits = SIZE_MAX);
  // Little-endian two's complement, as pickle's LONG1/LONG4 carry it; empty means zero.
  static BigInt from_signed_le(std::string_view bytes);
  // An integral double, exactly. Throws mpc::ValueError for NaN, infinities and fractions.
  static BigInt from_double(double integral);

  // Quadratic in the number of digits: meant for ints of a few thousand digits (CPython
  // refuses str() beyond 4300 by default); to_hex() is linear.
  [[nodiscard]] std::string to_decimal() const;
  // Lowercase hexadecimal of the magnitude without prefix, '-' first when negative ("0" for 0).
  [[nodiscard]] std::string to_hex() const;
  // Bits of |value| (0 for zero), as Python's int.bit_length().
  [[nodiscard]] std::size_t bit_length() const noexcept;
  // Minimal little-endian two's complement (pickle's encode_long): empty for zero.
  [[nodiscard]] std::string to_signed_le() const;
  [[nodiscard]] std::optional<std::int64_t> to_int64() const noexcept;

  [[nodiscard]] bool is_zero() const noexcept { return magnitude_.empty(); }
  [[nodiscard]] bool is_negative() const noexcept { return negative_; }
  // Number of decimal digits of |value| is at most this (cheap upper bound).
  [[nodiscard]] std::size_t decimal_digits_upper_bound() const noexcept;
  [[nodiscard]] std::size_t hash() const noexcept;

  friend bool operator==(const BigInt&, const BigInt&) = default;
  friend std::strong_ordering operator<=>(const BigInt& a, const BigInt& b) noexcept;

 private:
  bool negative_ = false;
  std::vector<std::uint32_t> magnitude_;  // little-endian limbs, no high zero limbs

  void trim() noexcept;
};

}  // namespace mpc
