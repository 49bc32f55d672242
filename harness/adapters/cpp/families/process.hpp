// A process actor's Process object, held by the process that started it.
#pragma once

#include <string>
#include <string_view>

#include "mpc/process.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

class ProcessObject final : public Object {
 public:
  explicit ProcessObject(mpc::Process process) : process_(std::move(process)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Process"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Process& process() noexcept { return process_; }

 private:
  mpc::Process process_;
};

}  // namespace mpconform::cpp_adapter
