#include "values.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "mpc/errors.hpp"

namespace mpconform::cpp_adapter {
namespace {

// Deeper containers are reported as `object` values: the runner's JSON reader recurses too.
constexpr std::size_t kMaxEncodeDepth = 500;
constexpr std::size_t kObjectReprLimit = 200;

const std::string& text_of(const json& node, std::string_view tag) {
  auto it = node.find("v");
  if (it == node.end() || !it->is_string()) throw ValueFormatError(std::string(tag) + " value needs a string 'v'");
  return it->get_ref<const std::string&>();
}

const json& list_of(const json& node, std::string_view tag) {
  auto it = node.find("v");
  if (it == node.end() || !it->is_array()) throw ValueFormatError(std::string(tag) + " value needs a list 'v'");
  return *it;
}

mpc::Value int_from_text(const std::string& text) {
  std::int64_t small = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, small);
  if (ec == std::errc() && ptr == end && !text.empty()) return mpc::Value::integer(small);
  bool plain = !text.empty();
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(text[i])) || (i == 0 && (text[i] == '-' || text[i] == '+'))))
      plain = false;
  if (!plain || text == "-" || text == "+")
    throw ValueFormatError("int value must be decimal text, got '" + text.substr(0, 80) + "'");
  return mpc::Value::integer(mpc::BigInt::from_decimal(text));
}

std::uint64_t count_field(const json& node, const char* key) {
  auto it = node.find(key);
  if (it == node.end()) throw ValueFormatError(std::string("payload needs '") + key + "'");
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    // A negative seed is taken modulo 2**64, as the generator's state is.
    if (v < 0 && std::string_view(key) == "seed") return static_cast<std::uint64_t>(v);
    if (v < 0) throw ValueFormatError(std::string("payload ") + key + " must not be negative");
    return static_cast<std::uint64_t>(v);
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return v;
  }
  throw ValueFormatError(std::string("payload ") + key + " must be a non-negative integer");
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string from_hex(const std::string& text, std::string_view tag) {
  if (text.size() % 2 != 0) throw ValueFormatError(std::string(tag) + " value is not hex text (odd length)");
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      throw ValueFormatError(std::string(tag) + " value is not hex text: '" + text.substr(0, 80) + "'");
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string to_hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::vector<mpc::Value> decode_items(const json& list, const RefAsValue& ref) {
  std::vector<mpc::Value> items;
  items.reserve(list.size());
  for (const auto& item : list) items.push_back(decode_value(item, ref));
  return items;
}

json object_node(const mpc::Value& value) {
  return {{"t", "object"},
          {"type", std::string(mpc::kind_name(value.kind()))},
          {"repr", mpc::repr(value, kObjectReprLimit)}};
}

class Encoder {
 public:
  json encode(const mpc::Value& value, std::size_t depth) {
    using mpc::Kind;
    switch (value.kind()) {
      case Kind::None: return {{"t", "none"}};
      case Kind::Bool: return {{"t", "bool"}, {"v", value.as_bool()}};
      case Kind::Int: {
        auto small = value.to_int64();
        return {{"t", "int"}, {"v", small ? std::to_string(*small) : value.as_int().to_decimal()}};
      }
      case Kind::Float: return {{"t", "float"}, {"v", float_repr(value.as_float())}};
      case Kind::Str: return {{"t", "str"}, {"v", std::string(value.data())}};
      case Kind::Bytes:
      case Kind::ByteArray: {
        const char* tag = value.is(Kind::Bytes) ? "bytes" : "bytearray";
        auto data = value.data();
        if (data.size() > kDigestThreshold)
          return {{"t", "digest"}, {"of", tag}, {"len", data.size()}, {"crc32", crc32(data)}};
        return {{"t", tag}, {"v", to_hex(data)}};
      }
      case Kind::Unpicklable: return {{"t", "unpicklable"}};
      case Kind::Connection: return object_node(value);
      case Kind::List:
      case Kind::Tuple:
      case Kind::Set:
      case Kind::FrozenSet:
      case Kind::Dict: return encode_container(value, depth);
    }
    return object_node(value);
  }

 private:
  json encode_container(const mpc::Value& value, std::size_t depth) {
    // A container that holds itself is cut at the repeat, as an object value (as CPython's adapter).
    const void* id = value.identity();
    if (depth >= kMaxEncodeDepth || open_.contains(id)) return object_node(value);
    open_.insert(id);
    json items = json::array();
    if (value.is(mpc::Kind::Dict)) {
      for (std::size_t i = 0; i < value.size(); ++i)
        items.push_back(json::array({encode(value.key(i), depth + 1), encode(value.value(i), depth + 1)}));
    } else {
      for (std::size_t i = 0; i < value.size(); ++i) items.push_back(encode(value.at(i), depth + 1));
    }
    open_.erase(id);
    return {{"t", std::string(mpc::kind_name(value.kind()))}, {"v", std::move(items)}};
  }

  std::set<const void*> open_;
};

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrcTable = make_crc_table();

}  // namespace

mpc::Value decode_value(const json& node, const RefAsValue& ref) {
  if (!node.is_object())
    throw ValueFormatError("a value must be a JSON object with a 't' tag, got " + node.dump().substr(0, 80));
  auto tag_it = node.find("t");
  if (tag_it == node.end() || !tag_it->is_string()) throw ValueFormatError("a value needs a string 't' tag");
  const std::string& tag = tag_it->get_ref<const std::string&>();
  if (tag == "none") return mpc::Value::none();
  if (tag == "bool") {
    auto it = node.find("v");
    if (it == node.end() || !it->is_boolean()) throw ValueFormatError("bool value needs true or false");
    return mpc::Value::boolean(it->get<bool>());
  }
  if (tag == "int") {
    auto it = node.find("v");
    if (it != node.end() && it->is_number_integer() && !it->is_number_unsigned())
      return mpc::Value::integer(it->get<std::int64_t>());
    return int_from_text(text_of(node, tag));
  }
  if (tag == "float") return mpc::Value::floating(parse_float(text_of(node, tag)));
  if (tag == "str") return mpc::Value::str(text_of(node, tag));
  if (tag == "bytes") return mpc::Value::bytes(from_hex(text_of(node, tag), tag));
  if (tag == "bytearray") return mpc::Value::bytearray(from_hex(text_of(node, tag), tag));
  if (tag == "list") return mpc::Value::list(decode_items(list_of(node, tag), ref));
  if (tag == "tuple") return mpc::Value::tuple(decode_items(list_of(node, tag), ref));
  if (tag == "set") return mpc::Value::set(decode_items(list_of(node, tag), ref));
  if (tag == "frozenset") return mpc::Value::frozenset(decode_items(list_of(node, tag), ref));
  if (tag == "dict") {
    std::vector<std::pair<mpc::Value, mpc::Value>> items;
    for (const auto& pair : list_of(node, tag)) {
      if (!pair.is_array() || pair.size() != 2) throw ValueFormatError("dict item must be a [key, value] pair");
      items.emplace_back(decode_value(pair[0], ref), decode_value(pair[1], ref));
    }
    return mpc::Value::dict(std::move(items));
  }
  if (tag == "payload") return mpc::Value::bytes(payload(count_field(node, "size"), count_field(node, "seed")));
  if (tag == "unpicklable") return mpc::Value::unpicklable();
  if (tag == "ref") {
    auto it = node.find("name");
    if (it == node.end() || !it->is_string()) throw ValueFormatError("ref value needs a string 'name'");
    if (!ref) throw ValueFormatError("ref '" + it->get<std::string>() + "' is not allowed here");
    return ref(it->get<std::string>());
  }
  throw ValueFormatError("unknown value tag '" + tag + "'");
}

json encode_value(const mpc::Value& value) { return Encoder().encode(value, 0); }

std::string payload(std::uint64_t size, std::uint64_t seed) {
  // The block of the last seeds asked for: a case sends the same payload and expects it back.
  static std::mutex cache_lock;
  static std::map<std::uint64_t, std::string> cache;
  std::string block;
  {
    std::lock_guard lock(cache_lock);
    auto it = cache.find(seed);
    if (it != cache.end()) block = it->second;
  }
  if (block.empty()) {
    block.resize(kPayloadBlock);
    std::uint64_t x = seed;
    for (std::size_t i = 0; i < kPayloadBlock; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // mod 2**64 by unsigned wrap-around
      block[i] = static_cast<char>(x >> 56);
    }
    std::lock_guard lock(cache_lock);
    if (cache.size() >= 8) cache.clear();
    cache.emplace(seed, block);
  }
  std::string out;
  out.reserve(size);
  while (out.size() + kPayloadBlock <= size) out += block;
  out.append(block, 0, size - out.size());
  return out;
}

std::uint32_t crc32(std::string_view data) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : data) c = kCrcTable[(c ^ byte) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form ("-d.ddde+XX"), then laid out as Python's
  // repr does: positional when -4 <= exponent < 16, else scientific with a 2-digit exponent.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  auto e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits.push_back(c);
  int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
  const int n = static_cast<int>(digits.size());
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      if (n > exponent + 1) {
        out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
      } else {
        out += digits + std::string(exponent + 1 - n, '0') + ".0";
      }
    } else {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  std::string exp_digits = std::to_string(exponent < 0 ? -exponent : exponent);
  if (exp_digits.size() < 2) exp_digits.insert(0, "0");
  out += (exponent < 0 ? "e-" : "e+") + exp_digits;
  return out;
}

double parse_float(std::string_view text) {
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);  // from_chars refuses a '+'
  double value = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  // Out of range is not an error: Python's float("1e999") is inf, and from_chars leaves the
  // value alone then, so it is computed here.
  if (ec == std::errc::result_out_of_range && ptr == body.data() + body.size()) {
    bool negative = !body.empty() && body.front() == '-';
    auto e = body.find_first_of("eE");
    bool tiny = e != std::string_view::npos && body.substr(e + 1).starts_with('-');
    return tiny ? (negative ? -0.0 : 0.0) : (negative ? -HUGE_VAL : HUGE_VAL);
  }
  if (ec != std::errc() || ptr != body.data() + body.size() || body.empty())
    throw ValueFormatError("float value is not a number: '" + std::string(text.substr(0, 80)) + "'");
  return value;
}

}  // namespace mpconform::cpp_adapter
