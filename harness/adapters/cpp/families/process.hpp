// A process actor's Process object, held by the process that started it.
#pragma once

#include <sys/types.h>

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
  [[nodiscard]] Invocation prepare_set(const std::string& attribute, const Arg& value) override;
  [[nodiscard]] std::string repr() const override;
  [[nodiscard]] mpc::Process& process() noexcept { return process_; }

 private:
  mpc::Process process_;
};

// What multiprocessing.current_process() and parent_process() return: a process seen by name and
// pid, not one this process manages.
class ProcessView final : public Object {
 public:
  ProcessView(bool current, std::string name, pid_t pid) : current_(current), name_(std::move(name)), pid_(pid) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Process"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] std::string repr() const override;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool is_alive() const;
  [[nodiscard]] bool daemon() const;

 private:
  bool current_;
  std::string name_;
  pid_t pid_;
};

}  // namespace mpconform::cpp_adapter
