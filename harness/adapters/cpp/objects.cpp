#include "objects.hpp"

#include <algorithm>
#include <mutex>

#include "mpc/connection.hpp"
#include "mpc/queue.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

// ---- argument binding -------------------------------------------------------------------------

struct Param {
  std::string_view name;
  bool required = false;
};

// Python's binding of positional and keyword arguments to positional-or-keyword parameters.
// slot[i] is the argument for params[i], or null when it was not given.
std::vector<const Arg*> bind(std::string_view op, const Args& args, std::initializer_list<Param> params) {
  std::vector<Param> p(params);
  if (args.positional.size() > p.size())
    throw bad_request(std::string(op) + " takes at most " + std::to_string(p.size()) + " arguments (" +
                      std::to_string(args.positional.size()) + " given)");
  std::vector<const Arg*> slot(p.size(), nullptr);
  for (std::size_t i = 0; i < args.positional.size(); ++i) slot[i] = &args.positional[i];
  for (const auto& [name, arg] : args.keyword) {
    std::size_t i = 0;
    while (i < p.size() && p[i].name != name) ++i;
    if (i == p.size()) throw bad_request(std::string(op) + " got an unexpected keyword argument '" + name + "'");
    if (slot[i]) throw bad_request(std::string(op) + " got multiple values for argument '" + name + "'");
    slot[i] = &arg;
  }
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].required && !slot[i])
      throw bad_request(std::string(op) + " is missing the argument '" + std::string(p[i].name) + "'");
  return slot;
}

void no_arguments(std::string_view op, const Args& args) { (void)bind(op, args, {}); }

// ---- argument conversion ------------------------------------------------------------------------

// A bytearray object of the case (declared here: arguments may refer to it).
class ByteArrayObject final : public Object {
 public:
  explicit ByteArrayObject(std::string data) : data_(std::move(data)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "bytearray"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;

  [[nodiscard]] std::string snapshot() const {
    std::lock_guard lock(m_);
    return data_;
  }
  // Python writes into the buffer in place; here what mpc wrote into a copy is put back.
  void write(std::size_t offset, std::string_view bytes) {
    std::lock_guard lock(m_);
    if (offset > data_.size()) return;
    bytes = bytes.substr(0, data_.size() - offset);  // never grows, as a Python buffer does not
    data_.replace(offset, bytes.size(), bytes);
  }

 private:
  mutable std::mutex m_;  // thread actors of one process may read it while another fills it
  std::string data_;
};

std::string describe_arg(const Arg& arg) {
  if (arg.ref) return "a " + std::string(arg.ref->type_name()) + " object";
  return "a value of type " + std::string(mpc::kind_name(arg.value.kind()));
}

// What Python would pickle or compare for the argument. A bytearray object is its current
// contents; other objects have no value form in mpc's value model.
Value value_arg(const Arg& arg) {
  if (!arg.ref) return arg.value;
  if (arg.ref->type_name() == "bytearray") return Value::bytearray(static_cast<const ByteArrayObject&>(*arg.ref).snapshot());
  throw bad_request("a " + std::string(arg.ref->type_name()) + " object cannot be passed as a value to mpc");
}

bool flag_arg(const Arg* arg, bool absent) {
  if (!arg) return absent;
  if (!arg->ref) {
    const Value& v = arg->value;
    if (v.is(Kind::Bool)) return v.as_bool();
    if (v.is(Kind::None)) return false;
    if (v.is(Kind::Int)) return !v.as_int().is_zero();
  }
  throw bad_request("expected a flag (bool), got " + describe_arg(*arg));
}

// Seconds; absent -> `absent`, None -> wait forever.
mpc::Timeout timeout_arg(const Arg* arg, mpc::Timeout absent) {
  if (!arg) return absent;
  if (!arg->ref) {
    const Value& v = arg->value;
    if (v.is(Kind::None)) return std::nullopt;
    if (v.is(Kind::Float)) return v.as_float();
    if (v.is(Kind::Bool)) return v.as_bool() ? 1.0 : 0.0;
    if (v.is(Kind::Int)) {
      if (auto small = v.to_int64()) return static_cast<double>(*small);
      if (v.as_int().is_negative()) return -1.0;  // beyond int64 seconds: now, or forever
      return std::nullopt;
    }
  }
  throw bad_request("expected a timeout (number or None), got " + describe_arg(*arg));
}

std::int64_t int_arg(const Arg& arg, std::string_view name) {
  if (!arg.ref) {
    if (arg.value.is(Kind::Bool)) return arg.value.as_bool() ? 1 : 0;
    if (arg.value.is(Kind::Int))
      if (auto small = arg.value.to_int64()) return *small;
  }
  throw bad_request("expected " + std::string(name) + " as an integer within 64 bits, got " + describe_arg(arg));
}

std::optional<std::int64_t> optional_int_arg(const Arg* arg, std::string_view name) {
  if (!arg || (!arg->ref && arg->value.is(Kind::None))) return std::nullopt;
  return int_arg(*arg, name);
}

std::size_t count_arg(const Arg& arg) {
  auto n = int_arg(arg, "count");
  return n < 0 ? 0 : static_cast<std::size_t>(n);  // Python's range(negative) is empty
}

std::vector<Value> items_arg(const Arg& arg) {
  if (!arg.ref && (arg.value.is(Kind::List) || arg.value.is(Kind::Tuple))) {
    std::vector<Value> items;
    items.reserve(arg.value.size());
    for (std::size_t i = 0; i < arg.value.size(); ++i) items.push_back(arg.value.at(i));
    return items;
  }
  throw bad_request("expected the items as a list, got " + describe_arg(arg));
}

// A bytes-like argument: bytes, bytearray, or a bytearray object.
std::string buffer_arg(const Arg& arg) {
  if (arg.ref && arg.ref->type_name() == "bytearray") return std::string(value_arg(arg).data());
  if (!arg.ref && (arg.value.is(Kind::Bytes) || arg.value.is(Kind::ByteArray))) return std::string(arg.value.data());
  throw bad_request("expected a bytes-like argument, got " + describe_arg(arg));
}

Value none() { return Value::none(); }

// ---- operation tables -------------------------------------------------------------------------

template <class Self>
using Op = Invocation (*)(Self&, const Args&);

template <class Self>
using OpTable = std::map<std::string_view, Op<Self>>;

template <class Self>
Invocation dispatch(Self& self, const OpTable<Self>& table, const std::string& method, const Args& args) {
  auto it = table.find(method);
  if (it == table.end()) throw unknown_op(std::string(self.type_name()) + " has no operation '" + method + "'");
  return it->second(self, args);
}

std::string op_name(std::string_view type, std::string_view method) { return std::string(type) + "." + std::string(method); }

// ---- bytearray --------------------------------------------------------------------------------

const OpTable<ByteArrayObject>& bytearray_ops() {
  static const OpTable<ByteArrayObject> ops = {
      {"value",
       [](ByteArrayObject& self, const Args& args) -> Invocation {
         no_arguments("bytearray.value", args);
         return [&self] { return Value::bytearray(self.snapshot()); };
       }},
  };
  return ops;
}

Invocation ByteArrayObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, bytearray_ops(), method, args);
}

ByteArrayObject& bytearray_ref(const Arg& arg, std::string_view op) {
  if (arg.ref && arg.ref->type_name() == "bytearray") return static_cast<ByteArrayObject&>(*arg.ref);
  throw bad_request(std::string(op) + " needs a bytearray object ({\"t\": \"ref\"}) as its buffer, got " + describe_arg(arg));
}

// ---- Global -----------------------------------------------------------------------------------

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

// ---- Queue and JoinableQueue ------------------------------------------------------------------

class QueueObject final : public Object {
 public:
  QueueObject(bool joinable, std::int64_t maxsize)
      : joinable_(joinable),
        queue_(joinable ? std::make_unique<mpc::JoinableQueue>(maxsize) : std::make_unique<mpc::Queue>(maxsize)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return joinable_ ? "JoinableQueue" : "Queue"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  void release() noexcept override {
    try {
      queue_->cancel_join_thread();
    } catch (...) {
      // Nothing left to do for an object that is being abandoned.
    }
  }

  [[nodiscard]] mpc::Queue& queue() noexcept { return *queue_; }
  [[nodiscard]] mpc::JoinableQueue& joinable() noexcept { return static_cast<mpc::JoinableQueue&>(*queue_); }
  [[nodiscard]] bool is_joinable() const noexcept { return joinable_; }

 private:
  bool joinable_;
  std::unique_ptr<mpc::Queue> queue_;
};

const OpTable<QueueObject>& queue_ops() {
  static const OpTable<QueueObject> ops = {
      {"put",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put", args, {{"obj", true}, {"block"}, {"timeout"}});
         return [&q = self.queue(), obj = value_arg(*b[0]), block = flag_arg(b[1], true), timeout = timeout_arg(b[2], std::nullopt)] {
           q.put(obj, block, timeout);
           return none();
         };
       }},
      {"get",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.get", args, {{"block"}, {"timeout"}});
         return [&q = self.queue(), block = flag_arg(b[0], true), timeout = timeout_arg(b[1], std::nullopt)] {
           return q.get(block, timeout);
         };
       }},
      {"put_nowait",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put_nowait", args, {{"obj", true}});
         return [&q = self.queue(), obj = value_arg(*b[0])] {
           q.put_nowait(obj);
           return none();
         };
       }},
      {"get_nowait",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.get_nowait", args);
         return [&q = self.queue()] { return q.get_nowait(); };
       }},
      {"qsize",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.qsize", args);
         return [&q = self.queue()] { return Value::integer(q.qsize()); };
       }},
      {"empty",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.empty", args);
         return [&q = self.queue()] { return Value::boolean(q.empty()); };
       }},
      {"full",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.full", args);
         return [&q = self.queue()] { return Value::boolean(q.full()); };
       }},
      {"close",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.close", args);
         return [&q = self.queue()] {
           q.close();
           return none();
         };
       }},
      {"join_thread",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.join_thread", args);
         return [&q = self.queue()] {
           q.join_thread();
           return none();
         };
       }},
      {"cancel_join_thread",
       [](QueueObject& self, const Args& args) -> Invocation {
         no_arguments("Queue.cancel_join_thread", args);
         return [&q = self.queue()] {
           q.cancel_join_thread();
           return none();
         };
       }},
      {"put_many",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.put_many", args, {{"items", true}});
         return [&q = self.queue(), items = items_arg(*b[0])] {
           for (const auto& item : items) q.put(item);
           return none();
         };
       }},
      {"get_many",
       [](QueueObject& self, const Args& args) -> Invocation {
         auto b = bind("Queue.get_many", args, {{"count", true}, {"block"}, {"timeout"}});
         return [&q = self.queue(), count = count_arg(*b[0]), block = flag_arg(b[1], true), timeout = timeout_arg(b[2], std::nullopt)] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(q.get(block, timeout));
           return got;
         };
       }},
  };
  return ops;
}

const OpTable<QueueObject>& joinable_queue_ops() {
  static const OpTable<QueueObject> ops = [] {
    OpTable<QueueObject> all = queue_ops();
    all.emplace("task_done", [](QueueObject& self, const Args& args) -> Invocation {
      no_arguments("JoinableQueue.task_done", args);
      return [&q = self.joinable()] {
        q.task_done();
        return none();
      };
    });
    all.emplace("join", [](QueueObject& self, const Args& args) -> Invocation {
      no_arguments("JoinableQueue.join", args);
      return [&q = self.joinable()] {
        q.join();
        return none();
      };
    });
    return all;
  }();
  return ops;
}

Invocation QueueObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, joinable_ ? joinable_queue_ops() : queue_ops(), method, args);
}

// ---- SimpleQueue ------------------------------------------------------------------------------

class SimpleQueueObject final : public Object {
 public:
  SimpleQueueObject() = default;
  [[nodiscard]] std::string_view type_name() const noexcept override { return "SimpleQueue"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::SimpleQueue& queue() noexcept { return queue_; }

 private:
  mpc::SimpleQueue queue_;
};

const OpTable<SimpleQueueObject>& simple_queue_ops() {
  static const OpTable<SimpleQueueObject> ops = {
      {"put",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         auto b = bind("SimpleQueue.put", args, {{"obj", true}});
         return [&q = self.queue(), obj = value_arg(*b[0])] {
           q.put(obj);
           return none();
         };
       }},
      {"get",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.get", args);
         return [&q = self.queue()] { return q.get(); };
       }},
      {"empty",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.empty", args);
         return [&q = self.queue()] { return Value::boolean(q.empty()); };
       }},
      {"close",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         no_arguments("SimpleQueue.close", args);
         return [&q = self.queue()] {
           q.close();
           return none();
         };
       }},
      {"put_many",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         auto b = bind("SimpleQueue.put_many", args, {{"items", true}});
         return [&q = self.queue(), items = items_arg(*b[0])] {
           for (const auto& item : items) q.put(item);
           return none();
         };
       }},
      {"get_many",
       [](SimpleQueueObject& self, const Args& args) -> Invocation {
         // SimpleQueue.get() takes no arguments, so neither does the loop.
         auto b = bind("SimpleQueue.get_many", args, {{"count", true}});
         return [&q = self.queue(), count = count_arg(*b[0])] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(q.get());
           return got;
         };
       }},
  };
  return ops;
}

Invocation SimpleQueueObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, simple_queue_ops(), method, args);
}

// ---- Connection -------------------------------------------------------------------------------

class ConnectionObject final : public Object {
 public:
  explicit ConnectionObject(mpc::Connection connection) : connection_(std::move(connection)) {}
  [[nodiscard]] std::string_view type_name() const noexcept override { return "Connection"; }
  [[nodiscard]] Invocation prepare(const std::string& method, const Args& args) override;
  [[nodiscard]] mpc::Connection& connection() noexcept { return connection_; }

 private:
  mpc::Connection connection_;
};

template <class Read>
Invocation attribute(ConnectionObject& self, const Args& args, std::string_view op, Read read) {
  no_arguments(op, args);
  return [&c = self.connection(), read] { return Value::boolean(read(c)); };
}

const OpTable<ConnectionObject>& connection_ops() {
  static const OpTable<ConnectionObject> ops = {
      {"send",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.send", args, {{"obj", true}});
         return [&c = self.connection(), obj = value_arg(*b[0])] {
           c.send(obj);
           return none();
         };
       }},
      {"recv",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         no_arguments("Connection.recv", args);
         return [&c = self.connection()] { return c.recv(); };
       }},
      {"send_bytes",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.send_bytes", args, {{"buf", true}, {"offset"}, {"size"}});
         auto offset = optional_int_arg(b[1], "offset");  // Python: offset=0, an explicit None is a TypeError
         if (b[1] && !offset) throw bad_request("Connection.send_bytes: offset must be an integer");
         return [&c = self.connection(), buf = buffer_arg(*b[0]), offset = offset.value_or(0), size = optional_int_arg(b[2], "size")] {
           c.send_bytes(std::string_view(buf), offset, size);
           return none();
         };
       }},
      {"recv_bytes",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.recv_bytes", args, {{"maxlength"}});
         return [&c = self.connection(), maxlength = optional_int_arg(b[0], "maxlength")] {
           return Value::bytes(c.recv_bytes(maxlength));
         };
       }},
      {"recv_bytes_into",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.recv_bytes_into", args, {{"buf", true}, {"offset"}});
         ByteArrayObject& buffer = bytearray_ref(*b[0], "Connection.recv_bytes_into");
         std::int64_t offset = b[1] ? int_arg(*b[1], "offset") : 0;
         return [&c = self.connection(), &buffer, offset] {
           // mpc fills a copy (the buffer's lock is not held across a blocking read); what it
           // wrote, and only that, is put back.
           std::string scratch = buffer.snapshot();
           std::size_t n = c.recv_bytes_into(std::span<char>(scratch.data(), scratch.size()), offset);
           auto at = static_cast<std::size_t>(offset);
           buffer.write(at, std::string_view(scratch).substr(at, n));
           return Value::integer(static_cast<std::int64_t>(n));
         };
       }},
      {"poll",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.poll", args, {{"timeout"}});
         return [&c = self.connection(), timeout = timeout_arg(b[0], 0.0)] { return Value::boolean(c.poll(timeout)); };
       }},
      {"close",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         no_arguments("Connection.close", args);
         return [&c = self.connection()] {
           c.close();
           return none();
         };
       }},
      {"closed",
       [](ConnectionObject& self, const Args& args) {
         return attribute(self, args, "Connection.closed", [](mpc::Connection& c) { return c.closed(); });
       }},
      {"readable",
       [](ConnectionObject& self, const Args& args) {
         return attribute(self, args, "Connection.readable", [](mpc::Connection& c) { return c.readable(); });
       }},
      {"writable",
       [](ConnectionObject& self, const Args& args) {
         return attribute(self, args, "Connection.writable", [](mpc::Connection& c) { return c.writable(); });
       }},
      {"send_many",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.send_many", args, {{"items", true}});
         return [&c = self.connection(), items = items_arg(*b[0])] {
           for (const auto& item : items) c.send(item);
           return none();
         };
       }},
      {"recv_many",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.recv_many", args, {{"count", true}});
         return [&c = self.connection(), count = count_arg(*b[0])] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(c.recv());
           return got;
         };
       }},
      {"send_bytes_many",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.send_bytes_many", args, {{"items", true}});
         std::vector<std::string> buffers;
         for (const auto& item : items_arg(*b[0])) buffers.push_back(buffer_arg(Arg{item, nullptr}));
         return [&c = self.connection(), buffers = std::move(buffers)] {
           for (const auto& buf : buffers) c.send_bytes(std::string_view(buf));
           return none();
         };
       }},
      {"recv_bytes_many",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         auto b = bind("Connection.recv_bytes_many", args, {{"count", true}});
         return [&c = self.connection(), count = count_arg(*b[0])] {
           Value got = Value::list();
           for (std::size_t i = 0; i < count; ++i) got.append(Value::bytes(c.recv_bytes()));
           return got;
         };
       }},
  };
  return ops;
}

Invocation ConnectionObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, connection_ops(), method, args);
}

// ---- Process ----------------------------------------------------------------------------------

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

template <class Self>
void list_ops(std::vector<std::string>& out, std::string_view type, const OpTable<Self>& table) {
  for (const auto& entry : table) out.push_back(op_name(type, entry.first));
}

Arg decode_arg(const json& node, const Registry& registry) {
  auto lookup = [&registry](const std::string& name) -> const std::shared_ptr<Object>& {
    auto it = registry.find(name);
    if (it == registry.end()) throw bad_request("no object named '" + name + "' here");
    return it->second;
  };
  if (node.is_object() && node.value("t", std::string()) == "ref") {
    auto name = node.find("name");
    if (name == node.end() || !name->is_string()) throw bad_request("ref value needs a string 'name'");
    return Arg{Value::none(), lookup(name->get<std::string>())};
  }
  // A ref nested in a value (in a list, say) stands for what Python would pickle.
  RefAsValue nested = [&lookup](const std::string& name) { return value_arg(Arg{Value::none(), lookup(name)}); };
  try {
    return Arg{decode_value(node, nested), nullptr};
  } catch (const ValueFormatError& e) {
    throw bad_request(std::string("bad value: ") + e.what());
  }
}

}  // namespace

Invocation ProcessObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, process_ops(), method, args);
}

Args decode_args(const json& args, const json& kwargs, const Registry& registry) {
  if (!args.is_array() || !kwargs.is_object()) throw bad_request("call 'args' must be a list and 'kwargs' an object");
  Args out;
  for (const auto& node : args) out.positional.push_back(decode_arg(node, registry));
  for (const auto& [key, node] : kwargs.items()) out.keyword.emplace(key, decode_arg(node, registry));
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Object>>> create_objects(const std::string& type,
                                                                           const std::vector<std::string>& names,
                                                                           const Args& args) {
  const std::size_t wanted = type == "Pipe" ? 2 : 1;
  if (names.size() != wanted) throw bad_request(type + " needs " + (wanted == 2 ? "two names" : "one name"));
  if (type == "Queue" || type == "JoinableQueue") {
    auto b = bind(type, args, {{"maxsize"}});
    std::int64_t maxsize = b[0] ? int_arg(*b[0], "maxsize") : 0;
    return {{names[0], std::make_shared<QueueObject>(type == "JoinableQueue", maxsize)}};
  }
  if (type == "SimpleQueue") {
    no_arguments(type, args);
    return {{names[0], std::make_shared<SimpleQueueObject>()}};
  }
  if (type == "Pipe") {
    auto b = bind(type, args, {{"duplex"}});
    auto [first, second] = mpc::Pipe(flag_arg(b[0], true));
    return {{names[0], std::make_shared<ConnectionObject>(std::move(first))},
            {names[1], std::make_shared<ConnectionObject>(std::move(second))}};
  }
  if (type == "bytearray") {
    auto b = bind(type, args, {{"source"}});
    std::string data;
    if (b[0]) {
      if (!b[0]->ref && b[0]->value.is(Kind::Int)) {
        auto n = int_arg(*b[0], "size");
        if (n < 0) throw bad_request("bytearray size must not be negative");
        data.assign(static_cast<std::size_t>(n), '\0');
      } else {
        data = buffer_arg(*b[0]);
      }
    }
    return {{names[0], std::make_shared<ByteArrayObject>(std::move(data))}};
  }
  if (type == "Global") {
    auto b = bind(type, args, {{"value", true}});
    return {{names[0], std::make_shared<GlobalObject>(value_arg(*b[0]))}};
  }
  throw bad_request("objects of type '" + type + "' cannot be created by setup");
}

std::vector<std::string> supported_types() {
  return {"Queue", "JoinableQueue", "SimpleQueue", "Pipe", "bytearray", "Global", "Process"};
}

std::vector<std::string> supported_operations() {
  std::vector<std::string> ops;
  list_ops(ops, "Queue", queue_ops());
  list_ops(ops, "JoinableQueue", joinable_queue_ops());
  list_ops(ops, "SimpleQueue", simple_queue_ops());
  list_ops(ops, "Connection", connection_ops());
  list_ops(ops, "bytearray", bytearray_ops());
  list_ops(ops, "Global", global_ops());
  list_ops(ops, "Process", process_ops());
  return ops;
}

}  // namespace mpconform::cpp_adapter
