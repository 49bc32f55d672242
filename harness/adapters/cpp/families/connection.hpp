// A Connection of the case: one end of a Pipe, or one received or bound later.
#pragma once

#include <string>
#include <string_view>

#include "mpc/connection.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

class ConnectionObject final : public Object {
 public:
  explicit ConnectionObject(mpc::Connection connection) : connection_(std::move(connection)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Connection"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Connection& connection() noexcept { return connection_; }
  [[nodiscard]] std::string repr() const override { return "<multiprocessing.connection.Connection object>"; }

 private:
  mpc::Connection connection_;
};

}  // namespace mpconform::cpp_adapter
