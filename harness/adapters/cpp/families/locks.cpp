// Family "locks": Lock, RLock, Semaphore, BoundedSemaphore over mpc/sync.hpp.
#include "families/locks.hpp"

#include <climits>
#include <memory>
#include <string>

#include "families/support.hpp"
#include "mpc/errors.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

class SemaphoreObject final : public Object {
 public:
  SemaphoreObject(bool bounded, int value, mpc::Context context = mpc::Context(mpc::StartMethod::fork))
      : bounded_(bounded),
        semaphore_(bounded ? mpc::BoundedSemaphore(value, context) : mpc::Semaphore(value, context)) {}
  SemaphoreObject(bool bounded, mpc::Semaphore semaphore) : bounded_(bounded), semaphore_(std::move(semaphore)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override {
    return bounded_ ? "BoundedSemaphore" : "Semaphore";
  }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Semaphore& semaphore() noexcept { return semaphore_; }
  [[nodiscard]] std::optional<std::string> mpc_repr() const override { return semaphore_.repr(); }
  // Shared as a Semaphore either way: the bound lives in the shared state.
  [[nodiscard]] bool share(mpc::SpawnArgs& out) const override {
    out.add(semaphore_);
    return true;
  }

 private:
  bool bounded_;
  mpc::Semaphore semaphore_;  // a BoundedSemaphore adds no state of its own: the slice is whole
};

// The operations CPython's SemLock gives every lock type: acquire(block=True, timeout=None),
// release(), and the context manager (__enter__ returns acquire()'s True, __exit__ releases).
template <class L>
Invocation acquire(L& lock, const Args& args, const std::string& type) {
  // CPython's argument clinic message (3.10-3.12) for threading's keyword, which SemLock lacks.
  if (args.keyword.count("blocking")) throw mpc::TypeError("'blocking' is an invalid keyword argument for acquire()");
  auto b = bind(type + ".acquire", args, {{"block"}, {"timeout"}});
  return [&lock, block = flag_arg(b[0], true), timeout = timeout_arg(b[1], std::nullopt)] {
    return Value::boolean(lock.acquire(block, timeout));
  };
}

template <class L>
Invocation release(L& lock, const Args& args, const std::string& type) {
  no_arguments(type + ".release", args);
  return [&lock] {
    lock.release();
    return none();
  };
}

template <class L>
Invocation enter(L& lock, const Args& args, const std::string& type) {
  no_arguments(type + ".__enter__", args);
  return [&lock] { return Value::boolean(lock.acquire()); };
}

template <class L>
Invocation exit(L& lock, const Args& args, const std::string& type) {
  // The runner sends no arguments; the adapter calls __exit__(None, None, None).
  no_arguments(type + ".__exit__", args);
  return [&lock] {
    lock.release();
    return none();
  };
}

// One table per object class, the same operations over its mpc lock.
template <class Self, class L, L& (Self::*target)()>
OpTable<Self> lock_ops() {
  return {
      {"acquire",
       [](Self& self, const Args& args) { return acquire((self.*target)(), args, std::string(self.type_name())); }},
      {"release",
       [](Self& self, const Args& args) { return release((self.*target)(), args, std::string(self.type_name())); }},
      {"__enter__",
       [](Self& self, const Args& args) { return enter((self.*target)(), args, std::string(self.type_name())); }},
      {"__exit__",
       [](Self& self, const Args& args) { return exit((self.*target)(), args, std::string(self.type_name())); }},
  };
}

const OpTable<LockObject>& plain_lock_ops() {
  static const OpTable<LockObject> ops = lock_ops<LockObject, mpc::Lock, &LockObject::lock>();
  return ops;
}

const OpTable<RLockObject>& rlock_ops() {
  static const OpTable<RLockObject> ops = lock_ops<RLockObject, mpc::RLock, &RLockObject::rlock>();
  return ops;
}

const OpTable<SemaphoreObject>& semaphore_ops() {
  static const OpTable<SemaphoreObject> ops = [] {
    auto all = lock_ops<SemaphoreObject, mpc::Semaphore, &SemaphoreObject::semaphore>();
    all.emplace("get_value", [](SemaphoreObject& self, const Args& args) -> Invocation {
      no_arguments(std::string(self.type_name()) + ".get_value", args);
      return [&s = self.semaphore()] { return Value::integer(s.get_value()); };
    });
    return all;
  }();
  return ops;
}

// The initial value as CPython's SemLock takes it: a C int (an int that does not fit raises
// OverflowError, a float TypeError, with 3.10+'s messages).
int semaphore_value(const Arg* arg) {
  if (!arg) return 1;
  if (is_plain(*arg)) {
    const Value& v = arg->value;
    if (v.is(Kind::Bool)) return v.as_bool() ? 1 : 0;
    if (v.is(Kind::Int)) {
      auto small = v.to_int64();
      if (!small || *small > INT_MAX || *small < INT_MIN)
        throw mpc::OverflowError("Python int too large to convert to C int");
      return static_cast<int>(*small);
    }
    if (v.is(Kind::Float)) throw mpc::TypeError("'float' object cannot be interpreted as an integer");
    throw mpc::TypeError("'" + std::string(mpc::kind_name(v.kind())) + "' object cannot be interpreted as an integer");
  }
  throw bad_request("expected the semaphore's value as an integer, got " + describe_arg(*arg));
}

std::optional<Created> create_in(mpc::Context context, const std::string& type, const std::vector<std::string>& names,
                                 const Args& args) {
  if (type == "Lock") {
    no_arguments(type, args);
    return Created{{names.at(0), std::make_shared<LockObject>(mpc::Lock(context))}};
  }
  if (type == "RLock") {
    no_arguments(type, args);
    return Created{{names.at(0), std::make_shared<RLockObject>(mpc::RLock(context))}};
  }
  if (type == "Semaphore" || type == "BoundedSemaphore") {
    auto b = bind(type, args, {{"value"}});
    return Created{
        {names.at(0), std::make_shared<SemaphoreObject>(type == "BoundedSemaphore", semaphore_value(b[0]), context)}};
  }
  return std::nullopt;
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  return create_in(mpc::Context(mpc::StartMethod::fork), type, names, args);
}

std::shared_ptr<Object> receive(const std::string& type, const mpc::SpawnArgs& args, std::size_t index) {
  if (type == "Lock") return std::make_shared<LockObject>(args.lock(index));
  if (type == "RLock") return std::make_shared<RLockObject>(args.rlock(index));
  if (type == "Semaphore" || type == "BoundedSemaphore")
    return std::make_shared<SemaphoreObject>(type == "BoundedSemaphore", args.semaphore(index));
  return nullptr;
}

void list(std::vector<std::string>& out) {
  list_ops(out, "Lock", plain_lock_ops());
  list_ops(out, "RLock", rlock_ops());
  list_ops(out, "Semaphore", semaphore_ops());
  list_ops(out, "BoundedSemaphore", semaphore_ops());
}

}  // namespace

Invocation LockObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, plain_lock_ops(), method, args);
}

Invocation RLockObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, rlock_ops(), method, args);
}

Invocation SemaphoreObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, semaphore_ops(), method, args);
}

Invocation semaphore_constructor(const std::string& type, const Args& args) {
  auto b = bind("multiprocessing." + type, args, {{"value"}});
  const bool bounded = type == "BoundedSemaphore";
  return [bounded, value = semaphore_value(b[0])] {
    return Outcome::of(std::make_shared<SemaphoreObject>(bounded, value));
  };
}

const Family& locks_family() {
  static const Family family{{"Lock", "RLock", "Semaphore", "BoundedSemaphore"}, create, list, create_in, receive};
  return family;
}

}  // namespace mpconform::cpp_adapter
