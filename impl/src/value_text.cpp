#include "value_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace mpc::detail {

std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  // text is "[-]d[.ddd]e(+|-)XX": collect the digits and the decimal exponent.
  std::string out;
  std::size_t pos = 0;
  if (text[pos] == '-') {
    out.push_back('-');
    ++pos;
  }
  std::string digits;
  while (pos < text.size() && text[pos] != 'e') {
    if (text[pos] != '.') digits.push_back(text[pos]);
    ++pos;
  }
  const int exponent = std::atoi(std::string(text.substr(pos + 1)).c_str());
  const int decpt = exponent + 1;  // value = 0.DIGITS * 10^decpt
  const auto ndigits = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-decpt), '0');
      out += digits;
    } else if (decpt >= ndigits) {
      out += digits;
      out.append(static_cast<std::size_t>(decpt - ndigits), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(decpt));
      out.push_back('.');
      out += digits.substr(static_cast<std::size_t>(decpt));
    }
    return out;
  }
  out.push_back(digits[0]);
  if (ndigits > 1) {
    out.push_back('.');
    out += digits.substr(1);
  }
  const int shown = decpt - 1;
  out.push_back('e');
  out.push_back(shown < 0 ? '-' : '+');
  const std::string magnitude = std::to_string(std::abs(shown));
  if (magnitude.size() < 2) out.push_back('0');
  out += magnitude;
  return out;
}

bool next_code_point(std::string_view text, std::size_t& pos, std::uint32_t& code_point) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const std::size_t left = text.size() - pos;
  if (left == 0) return false;
  const unsigned lead = byte(pos);
  const auto continuation = [&](std::size_t i) { return (byte(i) & 0xc0) == 0x80; };
  if (lead < 0x80) {
    code_point = lead;
    pos += 1;
    return true;
  }
  if (lead >= 0xc2 && lead <= 0xdf) {
    if (left < 2 || !continuation(pos + 1)) return false;
    code_point = ((lead & 0x1fU) << 6) | (byte(pos + 1) & 0x3fU);
    pos += 2;
    return true;
  }
  if (lead >= 0xe0 && lead <= 0xef) {
    if (left < 3 || !continuation(pos + 1) || !continuation(pos + 2)) return false;
    const std::uint32_t cp = ((lead & 0x0fU) << 12) | ((byte(pos + 1) & 0x3fU) << 6) | (byte(pos + 2) & 0x3fU);
    if (cp < 0x800) return false;  // overlong; surrogates are allowed (surrogatepass)
    code_point = cp;
    pos += 3;
    return true;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (left < 4 || !continuation(pos + 1) || !continuation(pos + 2) || !continuation(pos + 3)) {
      return false;
    }
    const std::uint32_t cp = ((lead & 0x07U) << 18) | ((byte(pos + 1) & 0x3fU) << 12) | ((byte(pos + 2) & 0x3fU) << 6) |
                             (byte(pos + 3) & 0x3fU);
    if (cp < 0x10000 || cp > 0x10ffff) return false;
    code_point = cp;
    pos += 4;
    return true;
  }
  return false;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t pos = 0;
  std::uint32_t cp = 0;
  while (pos < text.size()) {
    // Fast path for ASCII runs.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (!next_code_point(text, pos, cp)) return false;
  }
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace mpc::detail
