#include "mpc/bigint.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "mpc/errors.hpp"

namespace mpc {
namespace {

constexpr std::uint32_t kDecimalChunk = 1'000'000'000;  // 10^9 fits a limb
constexpr int kDecimalChunkDigits = 9;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// magnitude = magnitude * factor + addend
void mul_add(std::vector<std::uint32_t>& magnitude, std::uint32_t factor, std::uint32_t addend) {
  std::uint64_t carry = addend;
  for (auto& limb : magnitude) {
    const std::uint64_t product = std::uint64_t{limb} * factor + carry;
    limb = static_cast<std::uint32_t>(product);
    carry = product >> 32;
  }
  if (carry != 0) magnitude.push_back(static_cast<std::uint32_t>(carry));
}

// magnitude /= divisor, returns the remainder
std::uint32_t div_small(std::vector<std::uint32_t>& magnitude, std::uint32_t divisor) {
  std::uint64_t remainder = 0;
  for (auto it = magnitude.rbegin(); it != magnitude.rend(); ++it) {
    const std::uint64_t current = (remainder << 32) | *it;
    *it = static_cast<std::uint32_t>(current / divisor);
    remainder = current % divisor;
  }
  while (!magnitude.empty() && magnitude.back() == 0) magnitude.pop_back();
  return static_cast<std::uint32_t>(remainder);
}

}  // namespace

BigInt::BigInt(std::int64_t value) {
  negative_ = value < 0;
  // Negate in unsigned arithmetic so INT64_MIN is fine.
  std::uint64_t magnitude = negative_ ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
  while (magnitude != 0) {
    magnitude_.push_back(static_cast<std::uint32_t>(magnitude));
    magnitude >>= 32;
  }
}

void BigInt::trim() noexcept {
  while (!magnitude_.empty() && magnitude_.back() == 0) magnitude_.pop_back();
  if (magnitude_.empty()) negative_ = false;
}

namespace {

// int()'s text: surrounding whitespace dropped, then an optional sign. Narrows [begin, end) to
// what follows and says whether the sign was '-'.
bool strip_space_and_sign(std::string_view text, std::size_t& begin, std::size_t& end) {
  begin = 0;
  end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  if (begin < end && (text[begin] == '+' || text[begin] == '-')) return text[begin++] == '-';
  return false;
}

// Appends decimal digits (most significant first) to a magnitude, kDecimalChunkDigits at a time.
template <class Digits, class ValueOf>
void accumulate_decimal(std::vector<std::uint32_t>& magnitude, const Digits& digits, ValueOf value_of) {
  std::size_t pos = 0;
  const auto take = [&](std::size_t count) {
    std::uint32_t chunk = 0;
    std::uint32_t scale = 1;
    for (std::size_t k = 0; k < count; ++k) {
      chunk = chunk * 10 + value_of(digits[pos++]);
      scale *= 10;
    }
    mul_add(magnitude, scale, chunk);
  };
  if (const std::size_t head = digits.size() % kDecimalChunkDigits; head != 0) take(head);
  while (pos < digits.size()) take(kDecimalChunkDigits);
}

// Python's message, quoting at most 200 characters of the text (it may be megabytes long).
ValueError invalid_literal(std::string_view text, int base) {
  return ValueError("invalid literal for int() with base " + std::to_string(base) + ": '" +
                    std::string(text.substr(0, 200)) + (text.size() > 200 ? "...'" : "'"));
}

}  // namespace

BigInt BigInt::from_decimal(std::string_view text) {
  const auto invalid = [&] { return invalid_literal(text, 10); };
  std::size_t begin = 0;
  std::size_t end = 0;
  const bool negative = strip_space_and_sign(text, begin, end);
  if (begin == end) throw invalid();
  std::string digits;
  digits.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '_' && i > begin && i + 1 < end && text[i - 1] != '_' && text[i + 1] >= '0' && text[i + 1] <= '9') {
      continue;
    } else {
      throw invalid();
    }
  }
  BigInt result;
  accumulate_decimal(result.magnitude_, digits, [](char c) { return static_cast<std::uint32_t>(c - '0'); });
  result.negative_ = negative;
  result.trim();
  return result;
}

BigInt BigInt::from_literal(std::string_view text, std::size_t max_digits) {
  const auto invalid = [&] { return invalid_literal(text, 0); };
  std::size_t begin = 0;
  std::size_t end = 0;
  const bool negative = strip_space_and_sign(text, begin, end);
  std::uint32_t base = 10;
  bool prefixed = false;
  if (end - begin >= 2 && text[begin] == '0') {
    const char p = static_cast<char>(text[begin + 1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) {
      begin += 2;
      prefixed = true;
      if (begin < end && text[begin] == '_') ++begin;  // 0x_1f is valid
    }
  }
  const auto digit_value = [](char c) -> std::uint32_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint32_t>(c - '0');
    const char lower = static_cast<char>(c | 0x20);
    if (lower >= 'a' && lower <= 'z') return static_cast<std::uint32_t>(lower - 'a' + 10);
    return 99;
  };
  // Digits with single underscores between them; at least one digit.
  std::vector<std::uint32_t> digits;
  for (std::size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (c == '_') {
      if (i == begin || text[i - 1] == '_' || i + 1 == end) throw invalid();
      if (prefixed && i == begin) throw invalid();
      continue;
    }
    const std::uint32_t d = digit_value(c);
    if (d >= base) throw invalid();
    digits.push_back(d);
    if (digits.size() > max_digits) {
      throw ValueError("Exceeds the limit (" + std::to_string(max_digits) + " digits) for integer string conversion");
    }
  }
  if (digits.empty()) throw invalid();
  // Base 0 refuses leading zeros in decimal ("010"), but not zero itself ("00", "0_0").
  if (base == 10 && digits.size() > 1 && digits[0] == 0) {
    for (const auto d : digits) {
      if (d != 0) throw invalid();
    }
  }
  BigInt result;
  if (base == 10) {
    accumulate_decimal(result.magnitude_, digits, [](std::uint32_t d) { return d; });
  } else {
    // Powers of two: shift the bits in, linear in the digits.
    const int shift = base == 16 ? 4 : base == 8 ? 3 : 1;
    std::size_t bit = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it, bit += static_cast<std::size_t>(shift)) {
      const std::size_t limb = bit / 32;
      const std::size_t offset = bit % 32;
      if (result.magnitude_.size() < limb + 2) result.magnitude_.resize(limb + 2, 0);
      const std::uint64_t wide = std::uint64_t{*it} << offset;
      result.magnitude_[limb] |= static_cast<std::uint32_t>(wide);
      result.magnitude_[limb + 1] |= static_cast<std::uint32_t>(wide >> 32);
    }
  }
  result.negative_ = negative;
  result.trim();
  return result;
}

BigInt BigInt::from_signed_le(std::string_view bytes) {
  BigInt result;
  if (bytes.empty()) return result;
  const bool negative = (static_cast<unsigned char>(bytes.back()) & 0x80) != 0;
  result.magnitude_.assign((bytes.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto byte = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    if (negative) byte = ~byte & 0xff;
    result.magnitude_[i / 4] |= byte << (8 * (i % 4));
  }
  if (negative) {
    // Two's complement: magnitude = ~bits + 1 (the complement was taken bytewise above; the
    // top byte had its sign bit set, so the increment cannot run off the top).
    for (auto& limb : result.magnitude_) {
      if (++limb != 0) break;
    }
  }
  result.negative_ = negative;
  result.trim();
  return result;
}

BigInt BigInt::from_double(double integral) {
  if (!std::isfinite(integral) || std::trunc(integral) != integral) {
    throw ValueError("cannot convert a non-integral float to an int");
  }
  BigInt result;
  result.negative_ = integral < 0;
  double magnitude = std::fabs(integral);
  int exponent = 0;
  const double mantissa = std::frexp(magnitude, &exponent);  // magnitude = mantissa * 2^exponent
  if (magnitude == 0) return result;
  // 53 significant bits as an integer, shifted left by exponent - 53.
  auto bits = static_cast<std::uint64_t>(std::ldexp(mantissa, 53));
  int shift = exponent - 53;
  if (shift < 0) {
    bits >>= -shift;
    shift = 0;
  }
  result.magnitude_ = {static_cast<std::uint32_t>(bits), static_cast<std::uint32_t>(bits >> 32)};
  // Shift left by `shift` bits.
  const int limb_shift = shift / 32;
  const int bit_shift = shift % 32;
  if (bit_shift != 0) {
    std::uint32_t carry = 0;
    for (auto& limb : result.magnitude_) {
      const std::uint32_t next = limb >> (32 - bit_shift);
      limb = (limb << bit_shift) | carry;
      carry = next;
    }
    result.magnitude_.push_back(carry);
  }
  result.magnitude_.insert(result.magnitude_.begin(), static_cast<std::size_t>(limb_shift), 0);
  result.trim();
  return result;
}

std::string BigInt::to_decimal() const {
  if (is_zero()) return "0";
  std::vector<std::uint32_t> work = magnitude_;
  std::vector<std::uint32_t> chunks;  // base 10^9, little-endian
  while (!work.empty()) chunks.push_back(div_small(work, kDecimalChunk));
  std::string out = negative_ ? "-" : "";
  out += std::to_string(chunks.back());
  for (auto it = chunks.rbegin() + 1; it != chunks.rend(); ++it) {
    const std::string part = std::to_string(*it);
    out.append(kDecimalChunkDigits - part.size(), '0');
    out += part;
  }
  return out;
}

std::string BigInt::to_signed_le() const {
  if (is_zero()) return {};
  std::string bytes;
  bytes.reserve(magnitude_.size() * 4 + 1);
  for (const auto limb : magnitude_) {
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<char>((limb >> (8 * k)) & 0xff));
  }
  while (bytes.size() > 1 && bytes.back() == 0) bytes.pop_back();
  if (negative_) {
    // Two's complement of the magnitude over bytes.size() bytes.
    bool carry = true;
    for (auto& c : bytes) {
      unsigned value = ~static_cast<unsigned char>(c) & 0xffU;
      if (carry) {
        value += 1;
        carry = value > 0xff;
        value &= 0xff;
      }
      c = static_cast<char>(value);
    }
    // Needs a sign byte unless the top bit is already set.
    if ((static_cast<unsigned char>(bytes.back()) & 0x80) == 0) bytes.push_back('\xff');
    // Drop a redundant 0xff when the next byte already carries the sign.
    while (bytes.size() > 1 && static_cast<unsigned char>(bytes.back()) == 0xff &&
           (static_cast<unsigned char>(bytes[bytes.size() - 2]) & 0x80) != 0) {
      bytes.pop_back();
    }
  } else if ((static_cast<unsigned char>(bytes.back()) & 0x80) != 0) {
    bytes.push_back('\0');
  }
  return bytes;
}

std::optional<std::int64_t> BigInt::to_int64() const noexcept {
  if (magnitude_.size() > 2) return std::nullopt;
  std::uint64_t magnitude = 0;
  for (std::size_t i = magnitude_.size(); i-- > 0;) magnitude = (magnitude << 32) | magnitude_[i];
  if (negative_) {
    if (magnitude > (std::uint64_t{1} << 63)) return std::nullopt;
    return static_cast<std::int64_t>(~magnitude + 1);
  }
  if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(magnitude);
}

std::string BigInt::to_hex() const {
  if (is_zero()) return "0";
  constexpr char kHex[] = "0123456789abcdef";
  const std::size_t sign = negative_ ? 1 : 0;
  const std::size_t digits = (bit_length() + 3) / 4;
  std::string out(sign + digits, '-');
  // Digit k (from the right) is nibble k % 8 of limb k / 8.
  for (std::size_t k = 0; k < digits; ++k) {
    out[sign + digits - 1 - k] = kHex[(magnitude_[k / 8] >> (4 * (k % 8))) & 0xf];
  }
  return out;
}

std::size_t BigInt::bit_length() const noexcept {
  if (is_zero()) return 0;
  return (magnitude_.size() - 1) * 32 + static_cast<std::size_t>(std::bit_width(magnitude_.back()));
}

std::size_t BigInt::decimal_digits_upper_bound() const noexcept {
  if (is_zero()) return 1;
  const std::size_t bits = (magnitude_.size() - 1) * 32 + static_cast<std::size_t>(std::bit_width(magnitude_.back()));
  // log10(2) < 0.30103; one more for rounding.
  return bits * 30103 / 100000 + 1;
}

std::size_t BigInt::hash() const noexcept {
  std::size_t h = negative_ ? 0x9e3779b97f4a7c15ULL : 0;
  for (const auto limb : magnitude_) h = (h ^ limb) * 0x100000001b3ULL;
  return h;
}

std::strong_ordering operator<=>(const BigInt& a, const BigInt& b) noexcept {
  if (a.negative_ != b.negative_) {
    return a.negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  std::strong_ordering magnitude = std::strong_ordering::equal;
  if (a.magnitude_.size() != b.magnitude_.size()) {
    magnitude = a.magnitude_.size() <=> b.magnitude_.size();
  } else {
    for (std::size_t i = a.magnitude_.size(); i-- > 0;) {
      if (a.magnitude_[i] != b.magnitude_[i]) {
        magnitude = a.magnitude_[i] <=> b.magnitude_[i];
        break;
      }
    }
  }
  if (a.negative_) return 0 <=> magnitude;  // reversed for negatives
  return magnitude;
}

}  // namespace mpc
