// Family "barrier": Barrier over mpc::Barrier. Its action is given as a Connection
// (spec/case-format.md#callable-arguments): the action sends the pid of the process running it.

#include <climits>
#include <functional>
#include <memory>

#include "families/support.hpp"
#include "mpc/sync.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Value;

class BarrierObject final : public Object {
 public:
  BarrierObject(int parties, std::function<void()> action, mpc::Timeout timeout)
      : barrier_(parties, std::move(action), timeout) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Barrier"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Barrier& barrier() noexcept { return barrier_; }
  [[nodiscard]] std::optional<std::string> mpc_repr() const override { return barrier_.repr(); }

 private:
  mpc::Barrier barrier_;
};

template <class Read>
Invocation attribute(BarrierObject& self, const Args& args, std::string_view op, Read read) {
  no_arguments(op, args);
  return [&b = self.barrier(), read] { return read(b); };
}

const OpTable<BarrierObject>& barrier_ops() {
  static const OpTable<BarrierObject> ops = {
      {"wait",
       [](BarrierObject& self, const Args& args) -> Invocation {
         auto b = bind("Barrier.wait", args, {{"timeout"}});
         return [&barrier = self.barrier(), timeout = timeout_arg(b[0], std::nullopt)] {
           return Value::integer(barrier.wait(timeout));
         };
       }},
      {"reset",
       [](BarrierObject& self, const Args& args) -> Invocation {
         no_arguments("Barrier.reset", args);
         return [&barrier = self.barrier()] {
           barrier.reset();
           return none();
         };
       }},
      {"abort",
       [](BarrierObject& self, const Args& args) -> Invocation {
         no_arguments("Barrier.abort", args);
         return [&barrier = self.barrier()] {
           barrier.abort();
           return none();
         };
       }},
      {"parties",
       [](BarrierObject& self, const Args& args) {
         return attribute(self, args, "Barrier.parties", [](mpc::Barrier& b) { return Value::integer(b.parties()); });
       }},
      {"n_waiting",
       [](BarrierObject& self, const Args& args) {
         return attribute(self, args, "Barrier.n_waiting",
                          [](mpc::Barrier& b) { return Value::integer(b.n_waiting()); });
       }},
      {"broken",
       [](BarrierObject& self, const Args& args) {
         return attribute(self, args, "Barrier.broken", [](mpc::Barrier& b) { return Value::boolean(b.broken()); });
       }},
  };
  return ops;
}

Invocation BarrierObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, barrier_ops(), method, args);
}

// None: no action; a Connection CONN: CONN.send(os.getpid()) in the process of the party that
// runs it.
std::function<void()> action_arg(const Arg* arg) {
  if (!arg || (is_plain(*arg) && value_arg(*arg).is(mpc::Kind::None))) return {};
  return send_pid_arg(*arg, "a Barrier action");
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Barrier") return std::nullopt;
  auto b = bind(type, args, {{"parties", true}, {"action"}, {"timeout"}});
  const std::int64_t parties = int_arg(*b[0], "parties");
  if (parties < INT_MIN || parties > INT_MAX) throw bad_request("Barrier parties out of range");
  return Created{{names.at(0), std::make_shared<BarrierObject>(static_cast<int>(parties), action_arg(b[1]),
                                                               timeout_arg(b[2], std::nullopt))}};
}

void list(std::vector<std::string>& out) { list_ops(out, "Barrier", barrier_ops()); }

}  // namespace

const Family& barrier_family() {
  static const Family family{{"Barrier"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
