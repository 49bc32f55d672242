#include "exceptions.hpp"

#include <cstring>
#include <new>
#include <string>

#include "mpc/errors.hpp"
#include "mpc/value.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

constexpr std::size_t kMessageLimit = 4096;

json str_node(const std::string& text) { return {{"t", "str"}, {"v", text}}; }

// Python's OSError(errno, strerror): args are (errno, strerror) and str() is "[Errno N] text";
// mpc puts the latter in what(). The text after the prefix is the strerror part.
json os_error_args(const mpc::OSError& e) {
  std::string message = e.what();
  std::string prefix = "[Errno " + std::to_string(e.error_number()) + "] ";
  std::string text = message.starts_with(prefix) ? message.substr(prefix.size()) : message;
  return json::array({{{"t", "int"}, {"v", std::to_string(e.error_number())}}, str_node(text)});
}

json describe(const mpc::Error& e) {
  json bases = json::array();
  for (auto base : e.python_bases()) bases.push_back(std::string(base));
  json out = {{"type", std::string(e.python_type())}, {"bases", bases}};
  if (const auto* short_buffer = dynamic_cast<const mpc::BufferTooShort*>(&e)) {
    // Python: BufferTooShort(whole_message); str() of it is the repr of those bytes.
    auto message = mpc::Value::bytes(short_buffer->message());
    out["message"] = mpc::repr(message, kMessageLimit);
    out["args"] = json::array({encode_value(message)});
    return out;
  }
  std::string message = e.what();
  out["message"] = message;
  if (const auto* os = dynamic_cast<const mpc::OSError*>(&e); os && os->error_number() != 0) {
    out["args"] = os_error_args(*os);
  } else {
    // Python's Exception("text") has args ("text",); Exception() (queue.Empty, EOFError) has ().
    out["args"] = message.empty() ? json::array() : json::array({str_node(message)});
  }
  return out;
}

}  // namespace

std::optional<json> describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const mpc::Error& e) {
    return describe(e);
  } catch (const std::bad_alloc&) {
    return json{
        {"type", "MemoryError"}, {"bases", json::array({"Exception"})}, {"message", ""}, {"args", json::array()}};
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace mpconform::cpp_adapter
