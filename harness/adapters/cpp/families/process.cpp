// Family "process": the Process objects of process actors.
#include "families/process.hpp"

#include "families/support.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

const OpTable<ContextObject>& context_ops();

void list(std::vector<std::string>& out) {
  list_ops(out, "Process", process_ops());
  list_ops(out, "Context", context_ops());
}

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
      {"sentinel",
       [](ProcessView& self, const Args& args) -> Invocation {
         no_arguments("Process.sentinel", args);
         return [&self] { return Value::integer(self.sentinel()); };
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

int ProcessView::sentinel() {
  // The parent's: a pidfd, readable once the parent has ended (CPython's is a pipe whose other end
  // only the parent holds). The current process has none to wait for.
  if (current_) throw mpc::ValueError("process not started");
  if (!sentinel_.valid()) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd < 0) throw mpc::OSError(std::string("pidfd_open: ") + std::strerror(errno), errno);
    sentinel_.reset(fd);
  }
  return sentinel_.get();
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

// ---- start methods ------------------------------------------------------------------------------

namespace {

bool is_none_arg(const Arg* arg) { return arg && is_plain(*arg) && arg->value.is(Kind::None); }

// A method named by a str, or what CPython's get_context says of anything else.
std::string method_arg(const Arg& arg) {
  if (is_plain(arg) && arg.value.is(Kind::Str)) return std::string(arg.value.data());
  throw mpc::ValueError("cannot find context for " + describe_arg(arg));
}

const OpTable<ContextObject>& context_ops() {
  static const OpTable<ContextObject> ops = {
      {"get_start_method",
       [](ContextObject& self, const Args& args) -> Invocation {
         (void)bind("Context.get_start_method", args, {{"allow_none"}});
         return [method = std::string(self.context().get_start_method())] { return Value::str(method); };
       }},
      {"set_start_method",
       [](ContextObject&, const Args& args) -> Invocation {
         (void)bind("Context.set_start_method", args, {{"method", true}, {"force"}});
         return []() -> Outcome { throw mpc::ValueError("cannot set start method of concrete context"); };
       }},
  };
  return ops;
}

}  // namespace

Invocation ContextObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, context_ops(), method, args);
}

Invocation get_start_method_function(const Args& args) {
  auto b = bind("multiprocessing.get_start_method", args, {{"allow_none"}});
  return [allow_none = flag_arg(b[0], false)]() -> Outcome {
    auto method = mpc::get_start_method(allow_none);
    return method ? Value::str(*method) : none();
  };
}

Invocation set_start_method_function(const Args& args) {
  auto b = bind("multiprocessing.set_start_method", args, {{"method", true}, {"force"}});
  const bool force = flag_arg(b[1], false);
  std::optional<Arg> method = is_none_arg(b[0]) ? std::nullopt : std::optional<Arg>(*b[0]);
  return [force, method = std::move(method)] {
    if (!method) {
      mpc::set_start_method(std::nullopt, force);
    } else if (is_plain(*method) && method->value.is(Kind::Str)) {
      mpc::set_start_method(method->value.data(), force);
    } else {
      // CPython checks "already set" first, then looks the method up.
      if (mpc::get_start_method(true) && !force) throw mpc::RuntimeError("context has already been set");
      (void)method_arg(*method);
    }
    return none();
  };
}

Invocation get_all_start_methods_function(const Args& args) {
  no_arguments("multiprocessing.get_all_start_methods", args);
  return [] {
    Value methods = Value::list();
    for (const auto& m : mpc::get_all_start_methods()) methods.append(Value::str(m));
    return methods;
  };
}

Invocation get_context_function(const Args& args) {
  auto b = bind("multiprocessing.get_context", args, {{"method"}});
  std::optional<Arg> method = !b[0] || is_none_arg(b[0]) ? std::nullopt : std::optional<Arg>(*b[0]);
  return [method = std::move(method)]() -> Outcome {
    const mpc::Context context = method ? mpc::get_context(method_arg(*method)) : mpc::get_context();
    return Outcome::of(std::make_shared<ContextObject>(context));
  };
}

const Family& process_family() {
  static const Family family{{"Process", "Context"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
