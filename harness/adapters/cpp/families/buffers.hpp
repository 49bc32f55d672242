// The bytearray object of a case: a buffer that Connection.recv_bytes_into fills in place.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "objects.hpp"

namespace mpconform::cpp_adapter {

class ByteArrayObject final : public Object {
 public:
  explicit ByteArrayObject(std::string data) : data_(std::move(data)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "bytearray"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;

  [[nodiscard]] std::string snapshot() const {
    std::lock_guard lock(m_);
    return data_;
  }
  // Python writes into the buffer in place; here what mpc wrote into a copy is put back.
  void write(std::size_t offset, std::string_view bytes) {
    std::lock_guard lock(m_);
    if (offset > data_.size()) return;
    bytes = bytes.substr(0, data_.size() - offset);  // never grows, as a Python buffer does not
    data_.replace(offset, bytes.size(), bytes);
  }

 private:
  mutable std::mutex m_;  // thread actors of one process may read it while another fills it
  std::string data_;
};

// The bytearray object an operation writes into; bad_request for anything else.
[[nodiscard]] ByteArrayObject& bytearray_ref(const Arg& arg, std::string_view op);

}  // namespace mpconform::cpp_adapter
