#include "objects.hpp"

#include "families/support.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

// Every type family, in the order of hello's capabilities.
const std::vector<const Family*>& families() {
  static const std::vector<const Family*> all = {&queues_family(), &connection_family(), &buffers_family(),
                                                 &global_variable_family(), &process_family()};
  return all;
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
    return Arg{mpc::Value::none(), lookup(name->get<std::string>())};
  }
  // A ref nested in a value (in a list, say) stands for what Python would pickle.
  RefAsValue nested = [&lookup](const std::string& name) { return value_arg(Arg{mpc::Value::none(), lookup(name)}); };
  try {
    return Arg{decode_value(node, nested), nullptr};
  } catch (const ValueFormatError& e) {
    throw bad_request(std::string("bad value: ") + e.what());
  }
}

}  // namespace

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
  for (const Family* family : families())
    if (auto created = family->create(type, names, args)) return std::move(*created);
  throw bad_request("objects of type '" + type + "' cannot be created by setup");
}

std::vector<std::string> supported_types() {
  std::vector<std::string> types;
  for (const Family* family : families()) types.insert(types.end(), family->types.begin(), family->types.end());
  return types;
}

std::vector<std::string> supported_operations() {
  std::vector<std::string> ops;
  for (const Family* family : families()) family->list_ops(ops);
  return ops;
}

}  // namespace mpconform::cpp_adapter
