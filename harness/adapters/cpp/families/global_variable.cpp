// Family "global_variable": Global, a process-global variable.
#include "families/support.hpp"

#include <memory>
#include <mutex>

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

// A process-global variable. Each process has its own copy of it: fork() copies the object, so
// what a process sets afterwards is seen by its own threads only.
class GlobalObject final : public Object {
 public:
  explicit GlobalObject(Value value) : value_(std::move(value)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Global"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;

  [[nodiscard]] Value get() const {
    std::lock_guard lock(m_);
    return value_;
  }
  void set(Value value) {
    std::lock_guard lock(m_);
    value_ = std::move(value);
  }

 private:
  mutable std::mutex m_;
  Value value_;
};

const OpTable<GlobalObject>& global_ops() {
  static const OpTable<GlobalObject> ops = {
      {"get",
       [](GlobalObject& self, const Args& args) -> Invocation {
         no_arguments("Global.get", args);
         return [&self] { return self.get(); };
       }},
      {"set",
       [](GlobalObject& self, const Args& args) -> Invocation {
         auto b = bind("Global.set", args, {{"value", true}});
         return [&self, v = value_arg(*b[0])] {
           self.set(v);
           return none();
         };
       }},
  };
  return ops;
}

Invocation GlobalObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, global_ops(), method, args);
}

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Global") return std::nullopt;
  auto b = bind(type, args, {{"value", true}});
  return Created{{names.at(0), std::make_shared<GlobalObject>(value_arg(*b[0]))}};
}

void list(std::vector<std::string>& out) { list_ops(out, "Global", global_ops()); }

}  // namespace

const Family& global_variable_family() {
  static const Family family{{"Global"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
