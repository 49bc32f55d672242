#include "values.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

namespace mpconform {
namespace {

constexpr std::size_t kPayloadBlock = 65521;  // prime, so misordered chunks change the bytes

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

std::string hex_decode(const std::string& hex) {
  if (hex.size() % 2 != 0) throw ValueError("hex text of odd length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) throw ValueError("bad hex text: " + hex.substr(i, 2));
    out.push_back(static_cast<char>(v));
  }
  return out;
}

std::string hex_encode(std::string_view data) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

const std::string& tag_of(const json& v) {
  static const std::string none;
  if (!v.is_object() || !v.contains("t") || !v["t"].is_string()) return none;
  return v["t"].get_ref<const std::string&>();
}

bool is_byte_kind(const std::string& t) { return t == "bytes" || t == "bytearray"; }

// Bytes, bytearray, payload and digest all reduce to (kind, length, crc) for comparison.
struct ByteSummary {
  std::string kind;
  std::uint64_t length;
  std::uint32_t crc;
};

std::optional<ByteSummary> byte_summary(const json& v) {
  const std::string& t = tag_of(v);
  if (is_byte_kind(t)) {
    std::string data = hex_decode(v["v"].get<std::string>());
    return ByteSummary{t, data.size(), crc32(data)};
  }
  if (t == "digest")
    return ByteSummary{v["of"].get<std::string>(), v["len"].get<std::uint64_t>(), v["crc32"].get<std::uint32_t>()};
  if (t == "payload") {
    json d = payload_digest(v["size"].get<std::uint64_t>(), v["seed"].get<std::uint64_t>());
    return ByteSummary{"bytes", d["len"].get<std::uint64_t>(), d["crc32"].get<std::uint32_t>()};
  }
  return std::nullopt;
}

std::string float_key(double d) {
  if (std::isnan(d)) return "nan";
  return std::to_string(std::bit_cast<std::uint64_t>(d));
}

void repr_string(std::string& out, std::string_view s, char quote) {
  out.push_back(quote);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back(quote);
}

void repr_bytes(std::string& out, std::string_view data) {
  out.push_back('b');
  out.push_back('\'');
  for (unsigned char c : data) {
    if (c == '\\' || c == '\'') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out.push_back('\'');
}

void repr_into(std::string& out, const json& v, std::size_t max_items);

// A trace shows values an adapter chose, up to a frame's size: past these, the text is cut, so
// that printing a value costs about the same whatever its size.
constexpr std::size_t kReprBudget = 4000;    // characters of one repr, nested items included
constexpr std::size_t kReprScalarMax = 200;  // bytes of one str, or digits of one int, shown

// The first `n` bytes of UTF-8 text, cut back to a character boundary.
std::string_view utf8_prefix(std::string_view s, std::size_t n) {
  if (n >= s.size()) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void repr_items(std::string& out, const json& items, std::size_t max_items, const char* open, const char* close,
                bool one_tuple) {
  out += open;
  std::size_t n = 0;
  for (const auto& item : items) {
    if (n) out += ", ";
    if (n == max_items || out.size() > kReprBudget) {
      out += "... " + std::to_string(items.size() - n) + " more";
      break;
    }
    repr_into(out, item, max_items);
    ++n;
  }
  if (one_tuple && items.size() == 1) out += ",";
  out += close;
}

void repr_into(std::string& out, const json& v, std::size_t max_items) {
  const std::string& t = tag_of(v);
  if (t == "none")
    out += "None";
  else if (t == "bool")
    out += v["v"].get<bool>() ? "True" : "False";
  else if (t == "int") {
    const std::string& digits = v["v"].get_ref<const std::string&>();
    if (digits.size() <= kReprScalarMax)
      out += digits;
    else
      out += digits.substr(0, 60) + "..." + digits.substr(digits.size() - 20) + " (" + std::to_string(digits.size()) +
             " characters)";
  } else if (t == "float") {
    std::string s = v["v"].get<std::string>();
    out += (s == "nan" || s == "inf" || s == "-inf") ? "float('" + s + "')" : s;
  } else if (t == "str") {
    const std::string& text = v["v"].get_ref<const std::string&>();
    if (text.size() <= kReprScalarMax) {
      repr_string(out, text, '\'');
    } else {
      repr_string(out, utf8_prefix(text, kReprScalarMax / 2), '\'');
      out += "... (str of " + std::to_string(utf8_length(text)) + " characters)";
    }
  } else if (t == "bytes" || t == "bytearray") {
    std::string data = hex_decode(v["v"].get<std::string>());
    if (t == "bytearray") out += "bytearray(";
    if (data.size() > 64) {
      out += "<" + std::to_string(data.size()) + " bytes crc32=" + std::to_string(crc32(data)) + ">";
    } else {
      repr_bytes(out, data);
    }
    if (t == "bytearray") out += ")";
  } else if (t == "list")
    repr_items(out, v["v"], max_items, "[", "]", false);
  else if (t == "tuple")
    repr_items(out, v["v"], max_items, "(", ")", true);
  else if (t == "set") {
    if (v["v"].empty())
      out += "set()";
    else
      repr_items(out, v["v"], max_items, "{", "}", false);
  } else if (t == "frozenset")
    repr_items(out, v["v"], max_items, "frozenset({", "})", false);
  else if (t == "dict") {
    out += "{";
    std::size_t n = 0;
    for (const auto& kv : v["v"]) {
      if (n) out += ", ";
      if (n == max_items || out.size() > kReprBudget) {
        out += "...";
        break;
      }
      repr_into(out, kv[0], max_items);
      out += ": ";
      repr_into(out, kv[1], max_items);
      ++n;
    }
    out += "}";
  } else if (t == "digest") {
    out += "<" + v["of"].get<std::string>() + " len=" + std::to_string(v["len"].get<std::uint64_t>()) +
           " crc32=" + std::to_string(v["crc32"].get<std::uint32_t>()) + ">";
  } else if (t == "payload") {
    out += "<payload size=" + std::to_string(v["size"].get<std::uint64_t>()) +
           " seed=" + std::to_string(v["seed"].get<std::uint64_t>()) + ">";
  } else if (t == "unpicklable")
    out += "<unpicklable>";
  else if (t == "local_function")
    out += "<local function>";
  else if (t == "class")
    out += v["v"].get<std::string>();
  else if (t == "ref")
    out += "<ref " + v["name"].get<std::string>() + ">";
  else if (t == "object" && v.contains("name") && v["name"].is_string())
    out += "<" + v.value("type", std::string("object")) + " " + v["name"].get<std::string>() + ">";
  else if (t == "captured")
    out += "<captured " + v["name"].get<std::string>() + ">";
  else if (t == "object")
    out += "<" + v.value("type", std::string("object")) + " " + v.value("repr", std::string()) + ">";
  else
    out += "<malformed " +
           std::string(utf8_prefix(v.dump(-1, ' ', false, json::error_handler_t::replace), kReprScalarMax)) + ">";
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
  static const auto table = make_crc_table();
  crc = ~crc;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::string payload_bytes(std::uint64_t size, std::uint64_t seed) {
  std::string block(kPayloadBlock, '\0');
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < kPayloadBlock; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    block[i] = static_cast<char>(x >> 56);
  }
  std::string out;
  out.reserve(size);
  while (out.size() < size) out.append(block, 0, std::min<std::uint64_t>(kPayloadBlock, size - out.size()));
  return out;
}

namespace {

// CRC-32 arithmetic: polynomials over GF(2) modulo the CRC's, in its reflected bit order (bit 31
// holds x^0), so that the CRC of a concatenation follows from the CRCs of its parts.
constexpr std::uint32_t kCrcPolynomial = 0xEDB88320u;

std::uint32_t gf2_multiply(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kCrcPolynomial : b >> 1;  // b *= x
  }
  return product;
}

// x^(8n) mod P: what appending n zero bytes does to a CRC register.
std::uint32_t x_to_8n(std::uint64_t n) {
  std::uint32_t result = 1u << 31;  // x^0
  std::uint32_t square = 1u << 23;  // x^8
  for (; n != 0; n >>= 1) {
    if (n & 1) result = gf2_multiply(square, result);
    square = gf2_multiply(square, square);
  }
  return result;
}

}  // namespace

std::uint32_t crc32_combine(std::uint32_t crc1, std::uint32_t crc2, std::uint64_t len2) {
  return gf2_multiply(x_to_8n(len2), crc1) ^ crc2;
}

json payload_digest(std::uint64_t size, std::uint64_t seed) {
  // The payload is one block repeated: its CRC is the block's, doubled up by crc32_combine, so
  // the digest of any size takes microseconds and no memory (the runner computes it for
  // expectations, and must never spend the case's deadline on it).
  const std::string block = payload_bytes(std::min<std::uint64_t>(size, kPayloadBlock), seed);
  const std::uint64_t whole = size / kPayloadBlock, rest = size % kPayloadBlock;
  std::uint32_t crc = 0;               // of the bytes so far (none)
  std::uint32_t power = crc32(block);  // of 2^k blocks
  std::uint64_t power_len = kPayloadBlock;
  for (std::uint64_t k = whole; k != 0; k >>= 1) {
    if (k & 1) crc = crc32_combine(crc, power, power_len);
    if (k > 1) {
      power = crc32_combine(power, power, power_len);
      power_len *= 2;
    }
  }
  crc = crc32_combine(crc, crc32(std::string_view(block).substr(0, rest)), rest);
  return {{"t", "digest"}, {"of", "bytes"}, {"len", size}, {"crc32", crc}};
}

namespace {
// Input text quoted in an error, cut short: a scalar can be a megabyte long.
std::string quoted(std::string_view text) {
  if (text.size() <= 40) return "'" + std::string(text) + "'";
  std::size_t cut = 30;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return "'" + std::string(text.substr(0, cut)) + "...' (" + std::to_string(text.size()) + " bytes)";
}
}  // namespace

std::string normalize_decimal(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) throw ValueError("not an integer: " + quoted(text));
  for (std::size_t j = i; j < text.size(); ++j)
    if (text[j] < '0' || text[j] > '9') throw ValueError("not an integer: " + quoted(text));
  while (i + 1 < text.size() && text[i] == '0') ++i;
  std::string digits(text.substr(i));
  if (digits == "0") return digits;
  return negative ? "-" + digits : digits;
}

double parse_float(std::string_view text) {
  std::string s(text);
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  bool neg = !lower.empty() && lower[0] == '-';
  std::string body = (!lower.empty() && (lower[0] == '-' || lower[0] == '+')) ? lower.substr(1) : lower;
  if (body == "nan" || body == ".nan") return std::nan("");
  if (body == "inf" || body == ".inf" || body == "infinity") return neg ? -HUGE_VAL : HUGE_VAL;
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc::result_out_of_range) throw ValueError("float out of range: " + quoted(text));
  if (ec != std::errc() || p != s.data() + s.size()) throw ValueError("not a float: " + quoted(text));
  return d;
}

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, value);
  std::string s(buf, p);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // Python's repr keeps floats looking like floats
  return s;
}

json make_int(std::string_view decimal) { return {{"t", "int"}, {"v", normalize_decimal(decimal)}}; }
json make_int(std::int64_t value) { return {{"t", "int"}, {"v", std::to_string(value)}}; }
json make_float(double value) { return {{"t", "float"}, {"v", format_float(value)}}; }
json make_str(std::string_view text) { return {{"t", "str"}, {"v", std::string(text)}}; }
json make_bytes(std::string_view data, bool bytearray) {
  return {{"t", bytearray ? "bytearray" : "bytes"}, {"v", hex_encode(data)}};
}
json make_none() { return {{"t", "none"}}; }
json make_bool(bool value) { return {{"t", "bool"}, {"v", value}}; }

void check_value(const json& v) {
  const std::string& t = tag_of(v);
  auto need = [&](const char* key, bool ok) {
    if (!v.contains(key) || !ok) throw ValueError("value of type '" + t + "' needs a valid '" + key + "': " + v.dump());
  };
  if (t.empty()) throw ValueError("not a typed value (an object with a string 't'): " + v.dump());
  if (t == "none" || t == "unpicklable" || t == "local_function") return;
  if (t == "class") return need("v", v.contains("v") && v["v"].is_string());
  if (t == "bool") return need("v", v.contains("v") && v["v"].is_boolean());
  if (t == "int") {
    need("v", v.contains("v") && v["v"].is_string());
    normalize_decimal(v["v"].get<std::string>());
    return;
  }
  if (t == "float") {
    need("v", v.contains("v") && v["v"].is_string());
    parse_float(v["v"].get<std::string>());
    return;
  }
  if (t == "str") return need("v", v.contains("v") && v["v"].is_string());
  if (is_byte_kind(t)) {
    need("v", v.contains("v") && v["v"].is_string());
    hex_decode(v["v"].get<std::string>());
    return;
  }
  if (t == "list" || t == "tuple" || t == "set" || t == "frozenset") {
    need("v", v.contains("v") && v["v"].is_array());
    for (const auto& item : v["v"]) check_value(item);
    return;
  }
  if (t == "dict") {
    need("v", v.contains("v") && v["v"].is_array());
    for (const auto& kv : v["v"]) {
      if (!kv.is_array() || kv.size() != 2) throw ValueError("dict item is not a [key, value] pair: " + kv.dump());
      check_value(kv[0]);
      check_value(kv[1]);
    }
    return;
  }
  if (t == "digest") {
    need("of", v.contains("of") && v["of"].is_string() && is_byte_kind(v["of"].get<std::string>()));
    need("len", v.contains("len") && v["len"].is_number_unsigned());
    need("crc32", v.contains("crc32") && v["crc32"].is_number_unsigned());
    return;
  }
  if (t == "payload") {
    need("size", v.contains("size") && v["size"].is_number_unsigned());
    need("seed", v.contains("seed") && v["seed"].is_number_unsigned());
    return;
  }
  if (t == "ref") return need("name", v.contains("name") && v["name"].is_string());
  if (t == "object") return;
  throw ValueError("unknown value type '" + t + "'");
}

std::string canonical_key(const json& v) {
  const std::string& t = tag_of(v);
  if (auto b = byte_summary(v)) return b->kind + ":" + std::to_string(b->length) + ":" + std::to_string(b->crc);
  if (t == "none" || t == "unpicklable" || t == "local_function") return t;
  if (t == "class") return "class:" + v["v"].get<std::string>();
  if (t == "bool") return v["v"].get<bool>() ? "bool:1" : "bool:0";
  if (t == "int") return "int:" + normalize_decimal(v["v"].get<std::string>());
  if (t == "float") return "float:" + float_key(parse_float(v["v"].get<std::string>()));
  if (t == "str")
    return "str:" + std::to_string(v["v"].get_ref<const std::string&>().size()) + ":" + v["v"].get<std::string>();
  if (t == "list" || t == "tuple" || t == "set" || t == "frozenset" || t == "dict") {
    std::vector<std::string> parts;
    if (t == "dict") {
      for (const auto& kv : v["v"]) parts.push_back(canonical_key(kv[0]) + "=" + canonical_key(kv[1]));
    } else {
      for (const auto& item : v["v"]) parts.push_back(canonical_key(item));
    }
    if (t != "list" && t != "tuple") std::sort(parts.begin(), parts.end());
    std::string out = t + "[";
    for (const auto& p : parts) out += std::to_string(p.size()) + ":" + p;
    return out + "]";
  }
  // object, ref and malformed values equal nothing: make their keys unique.
  static std::uint64_t unique = 0;
  return "unique:" + std::to_string(++unique);
}

int compare_numbers(const json& a, const json& b) {
  auto kind = [](const json& v) {
    const std::string t = v.is_object() ? v.value("t", std::string()) : "";
    if (t != "int" && t != "float") throw ValueError("not a number: " + to_python_repr(v));
    return t;
  };
  const std::string ka = kind(a), kb = kind(b);
  const std::string& ta = a["v"].get_ref<const std::string&>();
  const std::string& tb = b["v"].get_ref<const std::string&>();
  if (ka == "int" && kb == "int") {  // normalised decimal text: sign, then length, then digits
    const std::string x = normalize_decimal(ta), y = normalize_decimal(tb);
    const bool nx = x[0] == '-', ny = y[0] == '-';
    if (nx != ny) return nx ? -1 : 1;
    int order = x.size() != y.size() ? (x.size() < y.size() ? -1 : 1) : (x < y ? -1 : x > y ? 1 : 0);
    return nx ? -order : order;
  }
  auto as_double = [](const std::string& text) {
    try {
      return parse_float(text);
    } catch (const ValueError&) {
      return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;  // an integer past a double's range
    }
  };
  const double x = as_double(ta), y = as_double(tb);
  if (std::isnan(x) || std::isnan(y)) throw ValueError("nan has no order");
  return x < y ? -1 : x > y ? 1 : 0;
}

bool values_equal(const json& observed, const json& expected) {
  auto ob = byte_summary(observed);
  auto ex = byte_summary(expected);
  if (ob || ex) return ob && ex && ob->kind == ex->kind && ob->length == ex->length && ob->crc == ex->crc;
  const std::string& t = tag_of(observed);
  // {$ref: a} expects the object named a (spec/values.md#equality): an object value naming it.
  if (t == "object" && tag_of(expected) == "ref")
    return observed.contains("name") && observed["name"].is_string() && observed["name"] == expected["name"];
  if (t != tag_of(expected) || t.empty() || t == "object" || t == "ref") return false;
  if (t == "list" || t == "tuple") {
    const auto& a = observed["v"];
    const auto& b = expected["v"];
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!values_equal(a[i], b[i])) return false;
    return true;
  }
  return canonical_key(observed) == canonical_key(expected);
}

std::string explain_difference(const json& observed, const json& expected) {
  const std::string& a = tag_of(observed);
  const std::string& b = tag_of(expected);
  auto ob = byte_summary(observed);
  auto ex = byte_summary(expected);
  if (ob && ex && ob->kind == ex->kind) {
    if (ob->length != ex->length)
      return "length " + std::to_string(ob->length) + ", expected " + std::to_string(ex->length);
    return "same length, different bytes (crc32 " + std::to_string(ob->crc) + ", expected " + std::to_string(ex->crc) +
           ")";
  }
  if (a == "object" && b == "ref")
    return "the object " +
           (observed.contains("name") && observed["name"].is_string() ? "named " + observed["name"].get<std::string>()
                                                                      : "without a name") +
           ", expected the one named " + expected["name"].get<std::string>();
  std::string kind_a = ob ? ob->kind : a, kind_b = ex ? ex->kind : b;
  if (kind_a != kind_b) return "type " + kind_a + ", expected " + kind_b;
  if (a == "list" || a == "tuple") {
    const auto& x = observed["v"];
    const auto& y = expected["v"];
    for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i)
      if (!values_equal(x[i], y[i])) return "at [" + std::to_string(i) + "]: " + explain_difference(x[i], y[i]);
    if (x.size() != y.size()) return "length " + std::to_string(x.size()) + ", expected " + std::to_string(y.size());
  }
  return to_python_repr(observed, 8) + " != " + to_python_repr(expected, 8);
}

std::string to_python_repr(const json& value, std::size_t max_items) {
  std::string out;
  try {
    repr_into(out, value, max_items);
  } catch (const std::exception&) {
    out = "<malformed " +
          std::string(utf8_prefix(value.dump(-1, ' ', false, json::error_handler_t::replace), kReprScalarMax)) + ">";
  }
  return out;
}

std::string check_interleaving(const json& observed, const json& sequences) {
  if (tag_of(observed) != "list") return "expected a list, got " + to_python_repr(observed, 5);
  // Where each expected item lives: (sequence, position). Items must be distinct to be traceable.
  std::map<std::string, std::pair<std::size_t, std::size_t>> where;
  std::vector<std::size_t> lengths;
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    const auto& seq = sequences[s];
    if (tag_of(seq) != "list") return "returns_interleaving: sequence " + std::to_string(s + 1) + " is not a list";
    lengths.push_back(seq["v"].size());
    for (std::size_t i = 0; i < seq["v"].size(); ++i) {
      if (!where.emplace(canonical_key(seq["v"][i]), std::make_pair(s, i)).second)
        return "returns_interleaving: item " + to_python_repr(seq["v"][i]) + " occurs twice in the expected sequences";
    }
  }
  std::vector<std::size_t> next(sequences.size(), 0);
  const auto& items = observed["v"];
  for (std::size_t k = 0; k < items.size(); ++k) {
    auto it = where.find(canonical_key(items[k]));
    if (it == where.end())
      return "item " + std::to_string(k) + " " + to_python_repr(items[k]) + " is in no expected sequence";
    auto [s, pos] = it->second;
    if (pos < next[s])
      return "item " + std::to_string(k) + " " + to_python_repr(items[k]) + " of sequence " + std::to_string(s + 1) +
             " is a duplicate";
    if (pos > next[s])
      return "item " + std::to_string(k) + " " + to_python_repr(items[k]) + " of sequence " + std::to_string(s + 1) +
             " came before item " + std::to_string(next[s]) + " of that sequence (lost or out of order)";
    ++next[s];
  }
  for (std::size_t s = 0; s < sequences.size(); ++s)
    if (next[s] != lengths[s])
      return "sequence " + std::to_string(s + 1) + ": got " + std::to_string(next[s]) + " of " +
             std::to_string(lengths[s]) + " items";
  return "";
}

}  // namespace mpconform
