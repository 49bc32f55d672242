// Family "event": Event over mpc/sync.hpp.
#include <memory>

#include "families/support.hpp"
#include "mpc/sync.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Value;

class EventObject final : public Object {
 public:
  EventObject() = default;
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Event"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Event& event() noexcept { return event_; }
  [[nodiscard]] std::optional<std::string> mpc_repr() const override { return event_.repr(); }

 private:
  mpc::Event event_;
};

const OpTable<EventObject>& event_ops() {
  static const OpTable<EventObject> ops = {
      {"is_set",
       [](EventObject& self, const Args& args) -> Invocation {
         no_arguments("Event.is_set", args);
         return [&e = self.event()] { return Value::boolean(e.is_set()); };
       }},
      {"set",
       [](EventObject& self, const Args& args) -> Invocation {
         no_arguments("Event.set", args);
         return [&e = self.event()] {
           e.set();
           return none();
         };
       }},
      {"clear",
       [](EventObject& self, const Args& args) -> Invocation {
         no_arguments("Event.clear", args);
         return [&e = self.event()] {
           e.clear();
           return none();
         };
       }},
      {"wait",
       [](EventObject& self, const Args& args) -> Invocation {
         auto b = bind("Event.wait", args, {{"timeout"}});
         return
             [&e = self.event(), timeout = timeout_arg(b[0], std::nullopt)] { return Value::boolean(e.wait(timeout)); };
       }},
  };
  return ops;
}

Invocation EventObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, event_ops(), method, args);
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Event") return std::nullopt;
  no_arguments(type, args);
  return Created{{names.at(0), std::make_shared<EventObject>()}};
}

void list(std::vector<std::string>& out) { list_ops(out, "Event", event_ops()); }

}  // namespace

const Family& event_family() {
  static const Family family{{"Event"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
