#include "protocol.hpp"

#include <climits>
#include <cmath>
#include <cstdio>

namespace mpconform {
namespace {

// Length of the well-formed UTF-8 sequence at text[i], or 0 if there is none (RFC 3629, table 3-7
// of the Unicode standard).
std::size_t sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  auto in = [](unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  const unsigned c = byte(0);
  if (c < 0x80) return 1;
  if (in(c, 0xC2, 0xDF)) return in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

[[noreturn]] void bad(const std::string& pointer, const std::string& what) { throw ProtocolError(pointer + " " + what); }

const json& field(const json& object, const std::string& pointer, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) bad(pointer + "/" + key, "is missing");
  return *it;
}

const json* optional_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const std::string& string_field(const json& object, const std::string& pointer, const char* key) {
  const json& v = field(object, pointer, key);
  if (!v.is_string()) bad(pointer + "/" + key, "must be a string");
  return v.get_ref<const std::string&>();
}

void optional_string(const json& object, const std::string& pointer, const char* key) {
  if (const json* v = optional_field(object, key); v && !v->is_string()) bad(pointer + "/" + key, "must be a string");
}

const json& object_field(const json& object, const std::string& pointer, const char* key) {
  const json& v = field(object, pointer, key);
  if (!v.is_object()) bad(pointer + "/" + key, "must be an object");
  return v;
}

void string_array(const json& v, const std::string& pointer) {
  if (!v.is_array()) bad(pointer, "must be an array of strings");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!v[i].is_string()) bad(pointer + "/" + std::to_string(i), "must be a string");
}

// An integer that fits the runner's int (seq numbers, pids): nlohmann would otherwise convert
// 1e300 or 2^63 to int without a word.
long long int_field(const json& object, const std::string& pointer, const char* key, long long min) {
  const json& v = field(object, pointer, key);
  if (!v.is_number_integer()) bad(pointer + "/" + key, "must be an integer");
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT_MAX) : v.get<std::int64_t>() < min)
    bad(pointer + "/" + key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(INT_MAX));
  return v.get<long long>();
}

void check_re(const json& m) { int_field(m, "", "re", 0); }

void check_hello(const json& m) {
  const std::string& role = string_field(m, "", "role");
  int_field(m, "", "pid", 1);
  if (role == "actor") {
    string_field(m, "", "name");
    return;
  }
  if (role != "controller") bad("/role", "must be \"controller\" or \"actor\"");
  const json& impl = object_field(m, "", "implementation");
  string_field(impl, "/implementation", "semantics");
  for (const char* key : {"name", "version", "language", "family", "module", "start_method", "platform"}) optional_string(impl, "/implementation", key);
  if (const json* caps = optional_field(m, "capabilities")) {
    if (!caps->is_object()) bad("/capabilities", "must be an object");
    for (const char* key : {"types", "ops", "start_methods"})
      if (const json* list = optional_field(*caps, key)) string_array(*list, std::string("/capabilities/") + key);
  }
}

void check_goodbye(const json& m) {
  check_re(m);
  const json* cleanup = optional_field(m, "cleanup");
  if (!cleanup) return;
  if (!cleanup->is_array()) bad("/cleanup", "must be an array");
  for (std::size_t i = 0; i < cleanup->size(); ++i) {
    const std::string p = "/cleanup/" + std::to_string(i);
    const json& item = (*cleanup)[i];
    if (!item.is_object()) bad(p, "must be an object");
    const std::string& kind = string_field(item, p, "kind");
    if (kind == "file") string_field(item, p, "path");
    else if (kind == "shm") string_field(item, p, "name");
    else bad(p + "/kind", "must be \"file\" or \"shm\"");
  }
}

void check_error(const json& m, bool with_kind) {
  const json& error = object_field(m, "", "error");
  if (with_kind) string_field(error, "/error", "kind");
  string_field(error, "/error", "message");
}

void check_result(const json& m) {
  check_re(m);
  const std::string& status = string_field(m, "", "status");
  const json& elapsed = field(m, "", "elapsed");
  if (!elapsed.is_number() || !(elapsed.get<double>() >= 0)) bad("/elapsed", "must be a number of seconds, 0 or more");
  for (const char* key : {"started_at", "ended_at"})  // optional: the adapter's monotonic clock (spec/case-format.md#ordering)
    if (const json* at = optional_field(m, key); at && (!at->is_number() || !(at->get<double>() >= 0)))
      bad(std::string("/") + key, "must be a number of seconds, 0 or more");
  if (status == "returned") {
    check_adapter_value(field(m, "", "value"), "/value");
  } else if (status == "raised") {
    const json& e = object_field(m, "", "exception");
    string_field(e, "/exception", "type");
    if (const json* bases = optional_field(e, "bases")) string_array(*bases, "/exception/bases");
    optional_string(e, "/exception", "message");
    if (const json* args = optional_field(e, "args")) {
      if (!args->is_array()) bad("/exception/args", "must be an array of values");
      for (std::size_t i = 0; i < args->size(); ++i) check_adapter_value((*args)[i], "/exception/args/" + std::to_string(i));
    }
  } else if (status == "error") {
    check_error(m, true);
  } else {
    bad("/status", "must be \"returned\", \"raised\" or \"error\"");
  }
}

bool is_lower_hex(const std::string& s) {
  if (s.size() % 2) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void unsigned_field(const json& v, const std::string& pointer, const char* key, std::uint64_t max) {
  const json& f = field(v, pointer, key);
  if (!f.is_number_unsigned() || f.get<std::uint64_t>() > max)
    bad(pointer + "/" + key, "must be an integer from 0 to " + std::to_string(max));
}

void find_invalid_utf8(const json& v, const std::string& pointer, std::optional<std::string>& found) {
  if (found) return;
  if (v.is_string()) {
    if (invalid_utf8_offset(v.get_ref<const std::string&>())) found = pointer;
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size() && !found; ++i) find_invalid_utf8(v[i], pointer + "/" + std::to_string(i), found);
  } else if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      if (invalid_utf8_offset(key)) found = pointer + "/" + valid_utf8(key);
      else find_invalid_utf8(item, pointer + "/" + key, found);
      if (found) return;
    }
  }
}

}  // namespace

std::optional<std::size_t> invalid_utf8_offset(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

std::string valid_utf8(std::string_view text) {
  if (!invalid_utf8_offset(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    if (std::size_t n = sequence_length(text, i)) {
      out.append(text, i, n);
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
    }
  }
  return out;
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return valid_utf8(text);
  std::size_t end = max_bytes;
  // Back off over continuation bytes so that a well-formed sequence is never cut in two.
  for (int k = 0; k < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++k) --end;
  return valid_utf8(text.substr(0, end)) + "…";
}

std::optional<std::size_t> nesting_exceeds(std::string_view text, int max_depth) {
  long depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character, which may be '"'
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

std::optional<std::string> invalid_utf8_pointer(const json& value) {
  std::optional<std::string> found;
  find_invalid_utf8(value, "", found);
  if (found && found->empty()) found = "/";  // the value itself is the string
  return found;
}

void check_adapter_value(const json& v, const std::string& p) {
  if (!v.is_object()) bad(p, "must be a typed value (an object with a string \"t\")");
  const std::string& t = string_field(v, p, "t");
  if (t == "none" || t == "unpicklable") return;
  if (t == "bool") {
    if (!field(v, p, "v").is_boolean()) bad(p + "/v", "must be true or false");
  } else if (t == "int") {
    const std::string& digits = string_field(v, p, "v");
    try {
      normalize_decimal(digits);
    } catch (const ValueError&) {
      bad(p + "/v", "must be decimal integer text, not \"" + excerpt(digits, 40) + "\"");
    }
  } else if (t == "float") {
    const std::string& text = string_field(v, p, "v");
    try {
      parse_float(text);
    } catch (const ValueError&) {
      bad(p + "/v", "must be float text (Python's repr), not \"" + excerpt(text, 40) + "\"");
    }
  } else if (t == "str") {
    string_field(v, p, "v");
  } else if (t == "bytes" || t == "bytearray") {
    if (!is_lower_hex(string_field(v, p, "v"))) bad(p + "/v", "must be lower-case hex text of even length");
  } else if (t == "list" || t == "tuple" || t == "set" || t == "frozenset") {
    const json& items = field(v, p, "v");
    if (!items.is_array()) bad(p + "/v", "must be an array of values");
    for (std::size_t i = 0; i < items.size(); ++i) check_adapter_value(items[i], p + "/v/" + std::to_string(i));
  } else if (t == "dict") {
    const json& items = field(v, p, "v");
    if (!items.is_array()) bad(p + "/v", "must be an array of [key, value] pairs");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string pi = p + "/v/" + std::to_string(i);
      if (!items[i].is_array() || items[i].size() != 2) bad(pi, "must be a [key, value] pair");
      check_adapter_value(items[i][0], pi + "/0");
      check_adapter_value(items[i][1], pi + "/1");
    }
  } else if (t == "digest") {
    const std::string& of = string_field(v, p, "of");
    if (of != "bytes" && of != "bytearray") bad(p + "/of", "must be \"bytes\" or \"bytearray\"");
    unsigned_field(v, p, "len", UINT64_MAX);
    unsigned_field(v, p, "crc32", UINT32_MAX);
  } else if (t == "object") {
    optional_string(v, p, "type");
    optional_string(v, p, "repr");
  } else if (t == "payload" || t == "ref") {
    bad(p + "/t", "\"" + t + "\" is sent by the runner only, never by an adapter");
  } else {
    bad(p + "/t", "\"" + excerpt(t, 40) + "\" is not a value type of spec/values.md");
  }
}

void check_message(const json& m) {
  if (!m.is_object()) throw ProtocolError("a message that is not a JSON object");
  const std::string* type_ptr = nullptr;
  try {
    const json& protocol = field(m, "", "protocol");
    if (!protocol.is_number_integer() || protocol != 1) bad("/protocol", "must be 1, not " + excerpt(protocol.dump(), 40));
    type_ptr = &string_field(m, "", "type");
  } catch (const ProtocolError& e) {
    throw ProtocolError(std::string("a message where ") + e.what());
  }
  const std::string& type = *type_ptr;
  try {
    if (type == "hello") check_hello(m);
    else if (type == "ready" || type == "started") check_re(m);
    else if (type == "setup_failed") check_re(m), check_error(m, false);
    else if (type == "goodbye") check_goodbye(m);
    else if (type == "result") check_result(m);
    else bad("/type", "\"" + excerpt(type, 40) + "\" is not a message an adapter sends");
  } catch (const ProtocolError& e) {
    throw ProtocolError("a bad '" + type + "' message: " + e.what());
  }
}

json decode_message(std::string_view frame, const Limits& limits) {
  if (frame.size() > limits.frame_bytes)
    throw ProtocolError("a frame of " + std::to_string(frame.size()) + " bytes, over the limit of " + std::to_string(limits.frame_bytes) +
                        " (--max-frame-bytes)");
  if (auto at = invalid_utf8_offset(frame))
    throw ProtocolError("a frame that is not UTF-8: byte " + hex_byte(static_cast<unsigned char>(frame[*at])) + " at offset " +
                        std::to_string(*at) + " (" + excerpt(frame, 80) + ")");
  if (auto at = nesting_exceeds(frame, limits.message_nesting))
    throw ProtocolError("a message nested deeper than " + std::to_string(limits.message_nesting) + " levels (at byte " + std::to_string(*at) +
                        "; --max-message-nesting)");
  json message;
  try {
    message = json::parse(frame);
  } catch (const json::parse_error& e) {
    throw ProtocolError("a frame that is not JSON (near byte " + std::to_string(e.byte) + "): '" + excerpt(frame, 80) + "'");
  } catch (const json::exception& e) {
    // out_of_range.406, a number past a double (1e1211), found by fuzz_adapter_message.
    std::string why = e.what();
    if (auto end = why.find("] "); why.starts_with("[json.exception") && end != std::string::npos) why.erase(0, end + 2);
    throw ProtocolError("a frame that is not JSON the runner can read (" + excerpt(why, 120) + "): '" + excerpt(frame, 80) + "'");
  }
  check_message(message);
  return message;
}

}  // namespace mpconform
