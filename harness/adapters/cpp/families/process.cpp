// Family "process": the Process objects of process actors.
#include "families/process.hpp"

#include "families/support.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

const OpTable<ProcessObject>& process_ops() {
  static const OpTable<ProcessObject> ops = {
      {"join",
       [](ProcessObject& self, const Args& args) -> Invocation {
         auto b = bind("Process.join", args, {{"timeout"}});
         return [&p = self.process(), timeout = timeout_arg(b[0], std::nullopt)] {
           p.join(timeout);
           return none();
         };
       }},
      {"is_alive",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.is_alive", args);
         return [&p = self.process()] { return Value::boolean(p.is_alive()); };
       }},
      {"exitcode",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.exitcode", args);
         return [&p = self.process()] {
           auto code = p.exitcode();
           return code ? Value::integer(*code) : none();
         };
       }},
      {"terminate",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.terminate", args);
         return [&p = self.process()] {
           p.terminate();
           return none();
         };
       }},
      {"kill",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.kill", args);
         return [&p = self.process()] {
           p.kill();
           return none();
         };
       }},
  };
  return ops;
}
// Process objects are made by starting actors, never by setup's objects.
std::optional<Created> create(const std::string&, const std::vector<std::string>&, const Args&) { return std::nullopt; }

void list(std::vector<std::string>& out) { list_ops(out, "Process", process_ops()); }

}  // namespace

Invocation ProcessObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, process_ops(), method, args);
}

const Family& process_family() {
  static const Family family{{"Process"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
