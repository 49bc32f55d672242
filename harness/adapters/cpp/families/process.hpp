// A process actor's Process object, held by the process that started it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "mpc/context.hpp"
#include "mpc/fd.hpp"
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
  // A descriptor readable once the process has ended: only the parent's (ValueError otherwise).
  [[nodiscard]] int sentinel();

 private:
  bool current_;
  std::string name_;
  pid_t pid_;
  mpc::Fd sentinel_;
};

// What multiprocessing.get_context() returns: a concrete context of mpc's, as CPython's
// ForkContext, SpawnContext and ForkServerContext.
class ContextObject final : public Object {
 public:
  explicit ContextObject(mpc::Context context) : context_(context) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Context"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] std::string repr() const override {
    switch (context_.start_method()) {
      case mpc::StartMethod::spawn: return "<multiprocessing.context.SpawnContext object>";
      case mpc::StartMethod::forkserver: return "<multiprocessing.context.ForkServerContext object>";
      case mpc::StartMethod::fork: break;
    }
    return "<multiprocessing.context.ForkContext object>";
  }
  [[nodiscard]] mpc::Context context() const noexcept { return context_; }

 private:
  mpc::Context context_;
};

// multiprocessing.get_start_method, set_start_method, get_all_start_methods and get_context over
// mpc's (mpc/context.hpp), with CPython's per-process setting (inherited by a forked child, given
// to a spawned one).
[[nodiscard]] Invocation get_start_method_function(const Args& args);
[[nodiscard]] Invocation set_start_method_function(const Args& args);
[[nodiscard]] Invocation get_all_start_methods_function(const Args& args);
[[nodiscard]] Invocation get_context_function(const Args& args);

}  // namespace mpconform::cpp_adapter
