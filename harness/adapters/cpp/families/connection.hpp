// A Connection of the case: one end of a Pipe, or one received or bound later.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mpc/connection.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

// The mpc::Connection is shared with the values it is sent as (mpc::Value::connection), as a
// Python object is with the pickler that sends it.
class ConnectionObject final : public Object {
 public:
  explicit ConnectionObject(mpc::Connection connection)
      : connection_(std::make_shared<mpc::Connection>(std::move(connection))) {}
  explicit ConnectionObject(std::shared_ptr<mpc::Connection> connection) : connection_(std::move(connection)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Connection"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Connection& connection() noexcept { return *connection_; }
  [[nodiscard]] const std::shared_ptr<mpc::Connection>& shared() const noexcept { return connection_; }
  [[nodiscard]] std::string repr() const override { return "<multiprocessing.connection.Connection object>"; }

 private:
  std::shared_ptr<mpc::Connection> connection_;
};

}  // namespace mpconform::cpp_adapter
