// Family "buffers": bytearray.
#include "families/buffers.hpp"

#include "families/support.hpp"

namespace mpconform::cpp_adapter {
namespace {

using mpc::Kind;
using mpc::Value;

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

std::optional<Created> create(const std::string& type, const std::vector<std::string>& names, const Args& args) {
  if (type != "bytearray") return std::nullopt;
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
  return Created{{names.at(0), std::make_shared<ByteArrayObject>(std::move(data))}};
}

void list(std::vector<std::string>& out) { list_ops(out, "bytearray", bytearray_ops()); }

}  // namespace

Invocation ByteArrayObject::prepare(const std::string& method, const Args& args) {
  return dispatch(*this, bytearray_ops(), method, args);
}

ByteArrayObject& bytearray_ref(const Arg& arg, std::string_view op) {
  if (arg.ref && arg.ref->type_name() == "bytearray") return static_cast<ByteArrayObject&>(*arg.ref);
  throw bad_request(std::string(op) + " needs a bytearray object ({\"t\": \"ref\"}) as its buffer, got " +
                    describe_arg(arg));
}

const Family& buffers_family() {
  static const Family family{{"bytearray"}, create, list};
  return family;
}

}  // namespace mpconform::cpp_adapter
