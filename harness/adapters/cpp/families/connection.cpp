// Family "connection": Pipe and its Connections.
#include "families/connection.hpp"

#include <span>

#include "families/buffers.hpp"
#include "families/support.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

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
         return [&c = self.connection(), buf = buffer_arg(*b[0]), offset = offset.value_or(0),
                 size = optional_int_arg(b[2], "size")] {
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
      {"fileno",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         no_arguments("Connection.fileno", args);
         return [&c = self.connection()] { return Value::integer(c.fileno()); };
       }},
      // CPython's Connection is a context manager: __enter__ returns it, __exit__ closes it.
      {"__enter__",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         no_arguments("Connection.__enter__", args);
         return [object = self.shared_from_this()] { return Outcome::of(object); };
       }},
      {"__exit__",
       [](ConnectionObject& self, const Args& args) -> Invocation {
         // The runner sends no arguments; the adapter calls __exit__(None, None, None).
         no_arguments("Connection.__exit__", args);
         return [&c = self.connection()] {
           c.close();
           return none();
         };
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
         for (const auto& item : items_arg(*b[0]))
           buffers.push_back(buffer_arg(Arg{item, nullptr, std::nullopt, true}));
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

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "Pipe") return std::nullopt;
  auto b = bind(type, args, {{"duplex"}});
  auto [first, second] = mpc::Pipe(flag_arg(b[0], true));
  return Created{{names.at(0), std::make_shared<ConnectionObject>(std::move(first))},
                 {names.at(1), std::make_shared<ConnectionObject>(std::move(second))}};
}

void list(std::vector<std::string>& out) { list_ops(out, "Connection", connection_ops()); }

}  // namespace

Invocation ConnectionObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, connection_ops(), method, args);
}

const Family& connection_family() {
  static const Family family{{"Pipe"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
