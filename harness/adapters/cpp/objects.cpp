#include "objects.hpp"

#include <set>
#include <string_view>

#include "families/support.hpp"
#include "mpc/shared_value.hpp"
#include "values.hpp"

namespace mpconform::cpp_adapter {
namespace {

// Every type family, in the order of hello's capabilities.
const std::vector<const Family*>& families() {
  static const std::vector<const Family*> all = {
      &queues_family(), &connection_family(), &buffers_family(), &global_variable_family(), &process_family(),
      &shared_family(), &locks_family(),      &event_family(),   &condition_family(),       &barrier_family()};
  return all;
}

// An object with a value form is passed as its value when nested in a list.
bool has_value_form(const Object& object) {
  return object.type_name() == "bytearray" || dynamic_cast<const BoundValue*>(&object) != nullptr;
}

Arg decode_arg(const json& node, const Registry& registry) {
  auto lookup = [&registry](const std::string& name) {
    auto found = registry.find(name);
    if (!found) throw bad_request("no object named '" + name + "' here");
    return found;
  };
  auto is_ref = [](const json& n) { return n.is_object() && n.value("t", std::string()) == "ref"; };
  if (node.is_object() && node.value("t", std::string()) == "class") {
    auto name = node.find("v");
    if (name == node.end() || !name->is_string()) throw bad_request("class value needs a string 'v'");
    return Arg{mpc::Value::none(), std::make_shared<ClassObject>(name->get<std::string>()), std::nullopt, true};
  }
  if (is_ref(node)) {
    auto name = node.find("name");
    if (name == node.end() || !name->is_string()) throw bad_request("ref value needs a string 'name'");
    auto object = lookup(name->get<std::string>());
    mpc::Value value = mpc::Value::none();
    if (const auto* bound = dynamic_cast<const BoundValue*>(object.get())) value = bound->value();
    return Arg{std::move(value), std::move(object), std::nullopt, true};
  }
  // A list holding refs (connection.wait's object_list): its items stay arguments as well.
  std::optional<std::vector<Arg>> items;
  bool value_form = true;
  if (node.is_object() && (node.value("t", std::string()) == "list" || node.value("t", std::string()) == "tuple") &&
      node.contains("v") && node["v"].is_array()) {
    bool holds_refs = false;
    for (const auto& item : node["v"]) holds_refs = holds_refs || is_ref(item);
    if (holds_refs) {
      items.emplace();
      for (const auto& item : node["v"]) {
        items->push_back(decode_arg(item, registry));
        if (items->back().ref && !has_value_form(*items->back().ref)) value_form = false;
      }
      if (!value_form) return Arg{mpc::Value::none(), nullptr, std::move(items), false};
    }
  }
  // A ref nested in a value (in a list, say) stands for what Python would pickle.
  RefAsValue nested = [&lookup](const std::string& name) {
    return value_arg(Arg{mpc::Value::none(), lookup(name), std::nullopt, true});
  };
  try {
    return Arg{decode_value(node, nested), nullptr, std::move(items), true};
  } catch (const ValueFormatError& e) {
    throw bad_request(std::string("bad value: ") + e.what());
  }
}

}  // namespace

std::shared_ptr<Object> Registry::find(const std::string& name) const {
  std::lock_guard lock(m_);
  auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : it->second;
}

void Registry::put(const std::string& name, std::shared_ptr<Object> object) {
  std::lock_guard lock(m_);
  objects_[name] = std::move(object);
}

std::optional<std::string> Registry::name_of(const Object* object) const {
  std::lock_guard lock(m_);
  for (const auto& [name, held] : objects_)
    if (held.get() == object) return name;
  return std::nullopt;
}

void Registry::assign(Map objects) {
  std::lock_guard lock(m_);
  objects_ = std::move(objects);
}

Registry::Map Registry::snapshot() const {
  std::lock_guard lock(m_);
  return objects_;
}

ClassObject::ClassObject(std::string name) : name_(std::move(name)) {
  // Python's builtin classes, and the ctypes types mpc can hold in shared memory.
  static const std::set<std::string_view> builtins = {"bool",  "bytearray", "bytes", "complex", "dict",
                                                      "float", "frozenset", "int",   "list",    "object",
                                                      "set",   "str",       "tuple", "type"};
  const bool given = builtins.contains(name_) || (name_.starts_with("ctypes.") && mpc::ctype_named(name_.substr(7)));
  if (!given) throw bad_request("the C++ adapter cannot give the class '" + name_ + "'");
}

Invocation ClassObject::prepare(const std::string& method, const Args&) {
  throw unknown_op("the class " + name_ + " has no operation '" + method + "'");
}

Invocation BoundValue::prepare(const std::string& method, const Args&) {
  throw unknown_op("a bound " + type_ + " value has no operation '" + method + "'");
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
                                                                            const Args& args, mpc::Context context) {
  const std::size_t wanted = type == "Pipe" ? 2 : 1;
  if (names.size() != wanted) throw bad_request(type + " needs " + (wanted == 2 ? "two names" : "one name"));
  const bool fork = context.start_method() == mpc::StartMethod::fork;
  for (const Family* family : families()) {
    if (fork) {
      if (auto created = family->create(type, names, args)) return std::move(*created);
    } else if (family->create_in) {
      if (auto created = family->create_in(context, type, names, args)) return std::move(*created);
    }
  }
  if (!fork)
    throw bad_request(
        "objects of type '" + type + "' cannot be made by the " + std::string(context.get_start_method()) +
        " context here (Queue, JoinableQueue, SimpleQueue, Lock, RLock, Semaphore and BoundedSemaphore can)");
  throw bad_request("objects of type '" + type + "' cannot be created by setup");
}

std::shared_ptr<Object> receive_object(const std::string& type, const mpc::SpawnArgs& args, std::size_t index) {
  if (args.type(index) == mpc::SpawnArgs::Type::value) return std::make_shared<BoundValue>(args.value(index), type);
  for (const Family* family : families())
    if (family->receive)
      if (auto object = family->receive(type, args, index)) return object;
  throw bad_request("a spawned or forkserver process cannot be given an object of type '" + type + "'");
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
