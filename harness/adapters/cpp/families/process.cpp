// Family "process": the Process objects of process actors.
#include "families/process.hpp"

#include "families/support.hpp"

#include <unistd.h>

#include "mpc/errors.hpp"

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
      {"pid",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.pid", args);
         return [&p = self.process()] {
           auto pid = p.pid();
           return pid ? Value::integer(*pid) : none();
         };
       }},
      {"sentinel",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.sentinel", args);
         return [&p = self.process()] { return Value::integer(p.sentinel()); };
       }},
      {"name",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.name", args);
         return [&p = self.process()] { return Value::str(p.name()); };
       }},
      {"kill",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.kill", args);
         return [&p = self.process()] {
           p.kill();
           return none();
         };
       }},
      {"close",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.close", args);
         return [&p = self.process()] {
           p.close();
           return none();
         };
       }},
      // Only a second start() can be asked for: the actor was started by setup or a start step.
      {"start",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.start", args);
         return [&p = self.process()] {
           p.start();
           return none();
         };
       }},
      {"daemon",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.daemon", args);
         return [&p = self.process()] { return Value::boolean(p.daemon()); };
       }},
      // CPython's ident is the pid.
      {"ident",
       [](ProcessObject& self, const Args& args) -> Invocation {
         no_arguments("Process.ident", args);
         return [&p = self.process()] {
           auto pid = p.pid();
           return pid ? Value::integer(*pid) : none();
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

Invocation ProcessObject::prepare_set(const std::string& attribute, const Arg& value) {
  if (attribute == "daemon") {
    bool flag = is_plain(value) && value.value.is(Kind::Bool) && value.value.as_bool();
    return [&p = process_, flag] {
      p.set_daemon(flag);  // AssertionError "process has already started" once started
      return none();
    };
  }
  if (attribute != "name") return Object::prepare_set(attribute, value);
  // CPython: assert isinstance(name, str), 'name must be a string'.
  std::optional<std::string> text;
  if (is_plain(value) && value.value.is(Kind::Str)) text = std::string(value.value.data());
  return [&p = process_, text] {
    if (!text) throw mpc::AssertionError("name must be a string");
    p.set_name(*text);
    return none();
  };
}

std::string ProcessObject::repr() const {
  auto& p = const_cast<mpc::Process&>(process_);
  std::string text = "<Process name='" + p.name() + "'";
  if (auto pid = p.pid()) text += " pid=" + std::to_string(*pid);
  return text + ">";
}

// ---- the current process and its parent -------------------------------------------------------

namespace {

const OpTable<ProcessView>& view_ops() {
  static const OpTable<ProcessView> ops = {
      {"name",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.name", args);
         return [&self] { return Value::str(self.name()); };
       }},
      {"pid",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.pid", args);
         return [&self] { return Value::integer(self.pid()); };
       }},
      {"is_alive",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.is_alive", args);
         return [&self] { return Value::boolean(self.is_alive()); };
       }},
      {"ident",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.ident", args);
         return [&self] { return Value::integer(self.pid()); };
       }},
      {"daemon",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.daemon", args);
         return [&self] { return Value::boolean(self.daemon()); };
       }},
      {"exitcode",
       [](ProcessView&, const Args& args) -> Invocation {
         no_arguments("Process.exitcode", args);
         return [] { return none(); };  // a running process, as seen from inside
       }},
  };
  return ops;
}

}  // namespace

bool ProcessView::is_alive() const {
  // The current process is alive; its parent, while it is still our parent (getppid changes
  // when it dies).
  return current_ || ::getppid() == pid_;
}

bool ProcessView::daemon() const {
  // The parent of a process actor is never a daemon: a daemonic process may not start children.
  return current_ && mpc::current_process_daemon();
}

std::string ProcessView::repr() const {
  return current_ ? "<_MainProcess name='" + name_ + "' parent=None started>"
                  : "<_ParentProcess name='" + name_ + "' parent=" + std::to_string(pid_) + ">";
}

Invocation ProcessView::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, view_ops(), method, args);
}

const Family& process_family() {
  static const Family family{{"Process"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
