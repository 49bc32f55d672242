// Family "condition": Condition over mpc::Condition. Its wait_for predicate is given as a
// Connection (spec/case-format.md#callable-arguments): the predicate is CONN.poll().
#include <algorithm>
#include <climits>
#include <memory>

#include "families/connection.hpp"
#include "families/locks.hpp"
#include "families/support.hpp"
#include "mpc/sync.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Value;

class ConditionObject final : public Object {
 public:
  explicit ConditionObject(mpc::Condition condition) : condition_(std::move(condition)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Condition"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Condition& condition() noexcept { return condition_; }

 private:
  mpc::Condition condition_;
};

std::shared_ptr<ConnectionObject> predicate_arg(const Arg& arg) {
  auto conn = std::dynamic_pointer_cast<ConnectionObject>(arg.ref);
  if (!conn) throw bad_request("Condition.wait_for's predicate is given as a Connection, got " + describe_arg(arg));
  return conn;
}

const OpTable<ConditionObject>& condition_ops() {
  static const OpTable<ConditionObject> ops = {
      {"acquire",
       [](ConditionObject& self, const Args& args) -> Invocation {
         auto b = bind("Condition.acquire", args, {{"block"}, {"timeout"}});
         return [&c = self.condition(), block = flag_arg(b[0], true), timeout = timeout_arg(b[1], std::nullopt)] {
           return Value::boolean(c.acquire(block, timeout));
         };
       }},
      {"release",
       [](ConditionObject& self, const Args& args) -> Invocation {
         no_arguments("Condition.release", args);
         return [&c = self.condition()] {
           c.release();
           return none();
         };
       }},
      {"__enter__",
       [](ConditionObject& self, const Args& args) -> Invocation {
         no_arguments("Condition.__enter__", args);
         return [&c = self.condition()] { return Value::boolean(c.acquire()); };
       }},
      {"__exit__",
       [](ConditionObject& self, const Args& args) -> Invocation {
         no_arguments("Condition.__exit__", args);
         return [&c = self.condition()] {
           c.release();
           return none();
         };
       }},
      {"wait",
       [](ConditionObject& self, const Args& args) -> Invocation {
         auto b = bind("Condition.wait", args, {{"timeout"}});
         return [&c = self.condition(), timeout = timeout_arg(b[0], std::nullopt)] {
           return Value::boolean(c.wait(timeout));
         };
       }},
      {"wait_for",
       [](ConditionObject& self, const Args& args) -> Invocation {
         auto b = bind("Condition.wait_for", args, {{"predicate", true}, {"timeout"}});
         return [&c = self.condition(), conn = predicate_arg(*b[0]), timeout = timeout_arg(b[1], std::nullopt)] {
           return Value::boolean(c.wait_for([&conn] { return conn->connection().poll(0.0); }, timeout));
         };
       }},
      {"notify",
       [](ConditionObject& self, const Args& args) -> Invocation {
         auto b = bind("Condition.notify", args, {{"n"}});
         const std::int64_t n = b[0] ? int_arg(*b[0], "n") : 1;
         return [&c = self.condition(), n] {
           c.notify(static_cast<int>(std::clamp<std::int64_t>(n, 0, INT_MAX)));
           return none();
         };
       }},
      {"notify_all",
       [](ConditionObject& self, const Args& args) -> Invocation {
         no_arguments("Condition.notify_all", args);
         return [&c = self.condition()] {
           c.notify_all();
           return none();
         };
       }},
  };
  return ops;
}

Invocation ConditionObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, condition_ops(), method, args);
}

// Condition(lock=None): a new RLock, or the given Lock or RLock object.
mpc::Condition condition_over(const Arg* lock) {
  if (!lock || (is_plain(*lock) && value_arg(*lock).is(mpc::Kind::None))) return mpc::Condition();
  if (auto* l = dynamic_cast<LockObject*>(lock->ref.get())) return mpc::Condition(mpc::AnyLock(l->lock()));
  if (auto* r = dynamic_cast<RLockObject*>(lock->ref.get())) return mpc::Condition(mpc::AnyLock(r->rlock()));
  throw bad_request("Condition(lock=...) needs a Lock or RLock object, got " + describe_arg(*lock));
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Condition") return std::nullopt;
  auto b = bind(type, args, {{"lock"}});
  return Created{{names.at(0), std::make_shared<ConditionObject>(condition_over(b[0]))}};
}

void list(std::vector<std::string>& out) { list_ops(out, "Condition", condition_ops()); }

}  // namespace

const Family& condition_family() {
  static const Family family{{"Condition"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
