// The lock objects of the case (Lock, RLock), which other families hand out or take: a
// synchronized Value's get_lock() returns one, a Condition is made over one.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mpc/sync.hpp"
#include "objects.hpp"

namespace mpconform::cpp_adapter {

class LockObject final : public Object {
 public:
  explicit LockObject(mpc::Lock lock) : lock_(std::move(lock)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Lock"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Lock& lock() noexcept { return lock_; }
  [[nodiscard]] std::string repr() const override { return lock_.repr(); }
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    out.add(lock_);
    return true;
  }

 private:
  mpc::Lock lock_;
};

class RLockObject final : public Object {
 public:
  explicit RLockObject(mpc::RLock rlock) : rlock_(std::move(rlock)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "RLock"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::RLock& rlock() noexcept { return rlock_; }
  [[nodiscard]] std::string repr() const override { return rlock_.repr(); }
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    out.add(rlock_);
    return true;
  }

 private:
  mpc::RLock rlock_;
};

// multiprocessing.Semaphore(value=1) / BoundedSemaphore(value=1) as module-level calls, so that
// a case can expect what the constructor raises (TypeError, OverflowError, OSError).
[[nodiscard]] Invocation semaphore_constructor(const std::string& type, const Args& args);

}  // namespace mpconform::cpp_adapter
