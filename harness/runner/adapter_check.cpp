#include "adapter_check.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "adapter_process.hpp"
#include "control_channel.hpp"
#include "protocol.hpp"

namespace mpconform {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kHelloTimeout = 30s;
constexpr auto kReadyTimeout = 30s;
constexpr auto kReplyTimeout = 10s;  // started, then result, of a trivial call; goodbye; exit after goodbye

// ---- spec/api.yaml, read for what the check needs (the source tree's file: trusted) ----

struct RegOp {
  bool attribute = false, settable = false;
  std::vector<std::string> params;
  std::string loop;  // sequence operations: the method repeated
};

struct RegType {
  bool constructible = false, context_manager = false;
  std::vector<std::string> ctor_params, makes;
  std::string made_by, extends;
  std::map<std::string, RegOp> ops;  // extends resolved
};

struct Registry {
  std::map<std::string, RegType> types;
  std::map<std::string, RegOp> functions;
  std::set<std::string> ops() const {  // every name capabilities.ops may hold
    std::set<std::string> out;
    for (const auto& [name, t] : types)
      for (const auto& [op, o] : t.ops) out.insert(name + "." + op);
    for (const auto& [name, f] : functions) out.insert(name);
    return out;
  }
};

std::vector<std::string> strings_of(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& item : n) out.push_back(item.as<std::string>());
  return out;
}

RegOp op_of(const YAML::Node& n, bool attribute) {
  RegOp op;
  op.attribute = attribute;
  op.params = strings_of(n["params"]);
  if (n["loop"]) op.loop = n["loop"].as<std::string>();
  op.settable = n["settable"] && n["settable"].as<bool>();
  return op;
}

Registry read_registry(const fs::path& file) {
  const YAML::Node root = YAML::LoadFile(file.string());
  Registry reg;
  for (const auto& entry : root["types"]) {
    const std::string name = entry.first.as<std::string>();
    const YAML::Node& t = entry.second;
    RegType type;
    if (t["constructor"]) {
      type.constructible = true;
      type.ctor_params = strings_of(t["constructor"]["params"]);
    }
    type.makes = strings_of(t["makes"]);
    if (t["made_by"]) type.made_by = t["made_by"].as<std::string>();
    if (t["extends"]) type.extends = t["extends"].as<std::string>();
    type.context_manager = t["context_manager"] && t["context_manager"].as<bool>();
    for (const auto& m : t["methods"]) type.ops[m.first.as<std::string>()] = op_of(m.second, false);
    for (const auto& a : t["attributes"]) type.ops[a.first.as<std::string>()] = op_of(a.second, true);
    if (type.context_manager) type.ops["__enter__"], type.ops["__exit__"];
    reg.types[name] = type;
  }
  for (auto& [name, t] : reg.types)
    if (!t.extends.empty() && reg.types.contains(t.extends))
      for (const auto& [op, o] : reg.types[t.extends].ops) t.ops.emplace(op, o);  // its own take precedence
  for (const auto& f : root["functions"]) reg.functions[f.first.as<std::string>()] = op_of(f.second, false);
  return reg;
}

// ---- typed values (spec/values.md) ----

json v_int(long long n) { return {{"t", "int"}, {"v", std::to_string(n)}}; }
json v_float(const char* text) { return {{"t", "float"}, {"v", text}}; }
json v_str(const std::string& s) { return {{"t", "str"}, {"v", s}}; }
json v_bytes(const std::string& hex) { return {{"t", "bytes"}, {"v", hex}}; }
json v_list(json items) { return {{"t", "list"}, {"v", std::move(items)}}; }
json v_ref(const std::string& name) { return {{"t", "ref"}, {"name", name}}; }

bool has_default(const std::string& param) { return param.find('=') != std::string::npos; }
std::string param_name(const std::string& param) { return param.substr(0, param.find('=')); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// ---- the plan: objects, actors and calls ----

struct PlannedCall {
  std::string checks;  // the claimed operation this call is the trivial call of; "" for a call that prepares one
  std::string actor = "main";
  json message;      // the call message without protocol and seq
  std::string text;  // for the report: "queue_1.put(1)"
};

struct Plan {
  json objects = json::array();
  json actors = json::array();
  std::vector<PlannedCall> calls;
  std::vector<std::string> notes;  // claimed operations not called, and why
  std::set<std::string> killed;    // actors a call ends (terminate, kill): sent no exit
};

json call_message(const json& target, const std::string& method, json args = json::array(),
                  json kwargs = json::object()) {
  return {{"type", "call"},
          {"target", target},
          {"method", method},
          {"args", std::move(args)},
          {"kwargs", std::move(kwargs)}};
}

class Planner {
 public:
  Planner(const Registry& reg, const std::set<std::string>& ops, const std::set<std::string>& types,
          const std::set<std::string>& features)
      : reg_(reg), ops_(ops), types_(types), features_(features) {}

  Plan make() {
    plan_.actors.push_back({{"name", "t0"}, {"kind", "thread"}, {"in", "main"}});
    add_call("", "t0", call_message(nullptr, "sleep", json::array({v_float("0.01")})), "[t0] sleep(0.01)");
    add_call("", "main", call_message(nullptr, "sleep", json::array({v_float("0.01")})), "sleep(0.01)");
    for (const auto& op : ops_) {
      if (!reg_.ops().contains(op)) continue;  // a violation of its own
      if (reg_.functions.contains(op))
        plan_function(op);
      else
        plan_operation(op.substr(0, op.find('.')), op.substr(op.find('.') + 1));
    }
    return plan_;
  }

 private:
  bool offered(const std::string& op) const { return ops_.contains(op); }

  void add_call(const std::string& checks, const std::string& actor, json message, const std::string& text) {
    plan_.calls.push_back(PlannedCall{checks, actor, std::move(message), text});
  }

  // One note per operation: the first reason it cannot be called.
  void skip(const std::string& op, const std::string& why) {
    if (skipped_.insert(op).second) plan_.notes.push_back(op + ": not called, " + why);
  }

  // A new object of a type with a constructor; its name (or names, for a type that makes others).
  std::optional<std::vector<std::string>> new_object(const std::string& type, const std::string& for_op) {
    const auto it = reg_.types.find(type);
    if (it == reg_.types.end() || !it->second.constructible) return std::nullopt;
    if (!types_.contains(type)) {
      skip(for_op, "its adapter does not list the type " + type + " in capabilities.types");
      return std::nullopt;
    }
    json args = json::array();
    for (const auto& p : it->second.ctor_params) {
      if (param_name(p) == "source")
        args.push_back(v_int(16));  // bytearray(16): room for recv_bytes_into
      else if (param_name(p) == "typecode_or_type")
        args.push_back(v_str("i"));  // Value('i', 1), Array('i', 1)
      else if (!has_default(p))
        args.push_back(v_int(1));
    }
    const std::string base = lower(type) + "_" + std::to_string(++counter_);
    std::vector<std::string> names;
    json object = {{"type", type}, {"args", args}, {"kwargs", json::object()}};
    if (it->second.makes.size() > 1) {
      for (std::size_t i = 0; i < it->second.makes.size(); ++i)
        names.push_back(base + "_" + std::string(1, static_cast<char>('a' + i)));
      object["names"] = names;
    } else {
      names.push_back(base);
      object["name"] = base;
    }
    plan_.objects.push_back(object);
    return names;
  }

  // The type that makes objects of `type` (Pipe for Connection), or `type` itself.
  std::string maker_of(const std::string& type) const {
    const RegType& t = reg_.types.at(type);
    if (t.constructible) return type;
    for (const auto& [name, other] : reg_.types)
      if (std::find(other.makes.begin(), other.makes.end(), type) != other.makes.end()) return name;
    return "";
  }

  // A trivial value for a required parameter, or nullopt if there is none.
  std::optional<json> trivial(const std::string& param, const RegOp& op, const std::string& op_name,
                              const std::string& peer_end) {
    const std::string name = param_name(param);
    const std::string writes = op.loop.empty() ? op_name : op.loop;
    if (name == "obj" || name == "value" || name == "item") return v_int(1);
    if (name == "index") return v_int(0);
    if (name == "typecode_or_type") return v_str("i");
    if (name == "*args" || name == "size_or_initializer") return v_int(1);
    if (name == "count") return v_int(1);
    if (name == "items") return v_list(json::array({writes == "send_bytes" ? v_bytes("78") : v_int(1)}));
    if (name == "buf" && writes == "send_bytes") return v_bytes("78");
    if (name == "buf") {
      auto names = new_object("bytearray", op_name);
      if (!names) return std::nullopt;
      return v_ref(names->front());
    }
    if (name == "object_list" && !peer_end.empty()) return v_list(json::array({v_ref(peer_end)}));
    return std::nullopt;
  }

  // args and kwargs for a call of `op`: required parameters get trivial values, `timeout` a short
  // one (so that nothing blocks for long), other defaults are left alone.
  std::optional<std::pair<json, json>> arguments(const std::string& label, const RegOp& op, const std::string& op_name,
                                                 const std::string& peer_end = "") {
    json args = json::array(), kwargs = json::object();
    for (const auto& p : op.params) {
      if (has_default(p)) {
        if (param_name(p) == "timeout") kwargs["timeout"] = v_float("0.5");
        continue;
      }
      auto v = trivial(p, op, op_name, peer_end);
      if (!v) {
        skip(label, "no trivial value for its parameter '" + param_name(p) + "'");
        return std::nullopt;
      }
      args.push_back(*v);
    }
    return std::make_pair(args, kwargs);
  }

  static std::string text_of(const std::string& target, const std::string& method, const json& args,
                             const json& kwargs) {
    std::vector<std::string> parts;
    for (const auto& a : args)
      parts.push_back(a.value("t", std::string()) == "ref" ? a["name"].get<std::string>() : a.dump());
    for (const auto& [k, v] : kwargs.items()) parts.push_back(k + "=" + v.dump());
    return (target.empty() ? "" : target + ".") + method + "(" + join(parts) + ")";
  }

  void plan_function(const std::string& name) {
    const RegOp& f = reg_.functions.at(name);
    std::string end;
    if (std::any_of(f.params.begin(), f.params.end(),
                    [](const std::string& p) { return param_name(p) == "object_list"; })) {
      auto names = offered("Connection.send") || types_.contains("Pipe") ? new_object(maker_of("Connection"), name)
                                                                         : std::nullopt;
      if (!names) return skip(name, "it needs a Connection");
      end = names->front();
    }
    auto a = arguments(name, f, name, end);
    if (!a) return;
    add_call(name, "main", call_message(nullptr, name, a->first, a->second), text_of("", name, a->first, a->second));
  }

  void plan_operation(const std::string& type, const std::string& method) {
    const std::string label = type + "." + method;
    const RegOp& op = reg_.types.at(type).ops.at(method);
    if (type == "Process") return plan_process(label, method, op);
    const std::string maker = maker_of(type);
    if (maker.empty()) return skip(label, "spec/api.yaml gives no constructor for " + type);
    auto names = new_object(maker, label);
    if (!names) return;
    // Pipe ends: a writes, b reads; a read gets something to read first, written on the other end.
    const std::string self = names->size() > 1 ? names->at(1) : names->front();
    const std::string other = names->size() > 1 ? names->at(0) : names->front();
    const std::string repeated = op.loop.empty() ? method : op.loop;
    std::string feed;
    json feed_value;
    if (repeated == "get" || repeated == "get_nowait")
      feed = "put", feed_value = v_int(1);
    else if (repeated == "recv")
      feed = "send", feed_value = v_int(1);
    else if (repeated == "recv_bytes" || repeated == "recv_bytes_into")
      feed = "send_bytes", feed_value = v_bytes("78");
    if (!reg_.types.at(type).ops.contains(feed)) feed.clear();  // Global.get reads a value: nothing to wait for
    if (!feed.empty()) {
      if (!offered(type + "." + feed))
        return skip(label, "it would block without " + type + "." + feed + ", which is not offered");
      const std::string on = names->size() > 1 ? other : self;
      add_call("", "main", call_message(on, feed, json::array({feed_value})),
               text_of(on, feed, json::array({feed_value}), json::object()));
    }
    if (method == "__exit__") add_call("", "main", call_message(self, "__enter__"), self + ".__enter__()");
    if (op.attribute) {
      json message = call_message(self, method);
      add_call(label, "main", message, self + "." + method);
      return;
    }
    auto a = arguments(label, op, method);
    if (!a) return;
    add_call(label, "main", call_message(self, method, a->first, a->second),
             text_of(self, method, a->first, a->second));
  }

  // Calls on a process actor's Process object are made by its parent, main. terminate and kill
  // end their actor, so each has one of its own.
  void plan_process(const std::string& label, const std::string& method, const RegOp& op) {
    if (!types_.contains("Process"))
      return skip(label, "its adapter does not list the type Process in capabilities.types");
    std::string actor = "p0";
    if (method == "terminate" || method == "kill") {
      actor = "p_" + method;
      plan_.killed.insert(actor);
    }
    if (std::none_of(plan_.actors.begin(), plan_.actors.end(), [&](const json& a) { return a["name"] == actor; }))
      plan_.actors.push_back({{"name", actor}, {"kind", "process"}});
    if (op.attribute) {
      json message = call_message(actor, method);
      std::string text = actor + "." + method;
      if (op.settable && features_.contains("set")) {
        message["form"] = "set";
        message["value"] = v_str(actor);
        text += " = '" + actor + "'";
      }
      add_call(label, "main", message, text);
      return;
    }
    auto a = arguments(label, op, method);
    if (!a) return;
    add_call(label, "main", call_message(actor, method, a->first, a->second),
             text_of(actor, method, a->first, a->second));
  }

  const Registry& reg_;
  const std::set<std::string>& ops_;
  const std::set<std::string>& types_;
  const std::set<std::string>& features_;
  Plan plan_;
  std::set<std::string> skipped_;
  int counter_ = 0;
};

// ---- the check ----

struct Request {
  std::string to;
  std::set<std::string> answers;  // message types that answer it (started + result for a call)
  std::optional<Clock::time_point> started;
  std::optional<json> reply;  // the result, or the controller's answer
};

class Check {
 public:
  Check(std::vector<std::string> argv, const Registry& reg)
      : argv_(std::move(argv)), reg_(reg), channel_(context_, Limits{}) {}

  int run() {
    std::cout << "adapter-check: " << join(argv_, " ") << "\n";
    std::vector<std::string> argv = argv_;
    argv.push_back("--endpoint");
    argv.push_back(channel_.endpoint());
    try {
      process_.emplace(argv);
    } catch (const std::exception& e) {
      std::cerr << "mpconform adapter-check: cannot start the adapter: " << e.what() << "\n";
      return 2;
    }
    try {
      drive();
    } catch (const Stop& s) {
      violation(s.why);
    }
    finish();
    report();
    return violations_.empty() ? 0 : 1;
  }

 private:
  struct Stop {
    std::string why;
  };

  void violation(const std::string& what) { violations_.push_back(valid_utf8(what)); }

  void drive() {
    wait_until([&] { return hello_.has_value(); }, kHelloTimeout, "valid controller hello");
    check_capabilities();
    Planner planner(reg_, ops_, types_, features_);
    plan_ = planner.make();
    const int setup =
        request({{"type", "setup"}, {"case", "adapter-check"}, {"objects", plan_.objects}, {"actors", plan_.actors}},
                {"ready", "setup_failed"});
    wait_until([&] { return requests_[setup].reply.has_value(); }, kReadyTimeout, "ready (the answer to setup)");
    if ((*requests_[setup].reply)["type"] == "setup_failed")
      throw Stop{"setup failed: " + (*requests_[setup].reply)["error"].value("message", std::string()) +
                 " (setup: " + excerpt(plan_.objects.dump(), 300) + ")"};
    wait_until(
        [&] {
          return std::all_of(plan_.actors.begin(), plan_.actors.end(),
                             [&](const json& a) { return actor_hellos_.contains(a["name"].get<std::string>()); });
        },
        kReadyTimeout, "hello from every actor of the setup");
    int unanswered = 0;
    for (const auto& c : plan_.calls)
      if (!call(c) && ++unanswered == 3) {  // its actors may be stuck: the rest would wait on them
        violation("the check made no more calls after 3 went unanswered");
        break;
      }
    for (const char* kind : {"thread", "process"})  // threads first, as the runner does
      for (const auto& a : plan_.actors) {
        const std::string name = a["name"].get<std::string>();
        if (a["kind"] == kind && !plan_.killed.contains(name))
          call(PlannedCall{"", name, call_message(nullptr, "exit"), "[" + name + "] exit()"});
      }
    const int teardown = request({{"type", "teardown"}}, {"goodbye"});
    ending_.insert("main");
    wait_until([&] { return requests_[teardown].reply.has_value(); }, kReplyTimeout,
               "goodbye (the answer to teardown)");
  }

  // Sends one planned call and waits for its started and result; false if they did not come.
  bool call(const PlannedCall& c) {
    if (c.message["method"] == "exit") ending_.insert(c.actor);
    const int seq = send(c.actor, c.message);
    requests_[seq].answers = {"started", "result"};
    ++calls_made_;
    if (!c.checks.empty()) called_.insert(c.checks);
    try {
      wait_until([&] { return requests_[seq].reply.has_value(); }, kReplyTimeout,
                 "result for call " + std::to_string(seq) + " " + c.text);
    } catch (const Stop& s) {
      if (ended_) throw;
      violation(s.why + (requests_[seq].started ? " (it had started)" : " (no 'started' either)") + " [actor '" +
                c.actor + "']");
      return false;
    }
    const json& r = *requests_[seq].reply;
    if (r["status"] == "error") {
      const std::string kind = r["error"].value("kind", std::string());
      violation("call " + std::to_string(seq) + " " + c.text + (c.checks.empty() ? "" : " (claimed " + c.checks + ")") +
                " answered status error, kind " + kind + ": " +
                excerpt(r["error"].value("message", std::string()), 200));
    }
    return true;
  }

  int send(const std::string& to, json msg) {
    msg["protocol"] = 1;
    msg["seq"] = ++seq_;
    requests_[seq_].to = to;
    if (!channel_.send(to, msg))
      violation("'" + to + "' is not connected when the check sends it " + msg["type"].get<std::string>() + " " +
                std::to_string(seq_));
    return seq_;
  }

  int request(json msg, std::set<std::string> answers) {
    const int seq = send("main", std::move(msg));
    requests_[seq].answers = std::move(answers);
    return seq;
  }

  template <class Pred>
  void wait_until(Pred done, std::chrono::milliseconds timeout, const std::string& what) {
    const auto limit = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= limit) throw Stop{"no " + what + " within " + std::to_string(timeout.count() / 1000) + " s"};
      pump(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()),
                    std::chrono::milliseconds(50)));
    }
  }

  void pump(std::chrono::milliseconds timeout) {
    std::optional<ControlChannel::Message> m;
    try {
      m = channel_.receive(std::max(timeout, 0ms));
    } catch (const ProtocolError& e) {
      violation(std::string("a peer sent ") + e.what());
      return;
    }
    if (!m) {
      if (auto status = process_->poll_exit(); status && !goodbye_ && !ended_) {
        ended_ = true;
        throw Stop{"the adapter's main process ended (" + describe_wait_status(*status) + ") before its goodbye"};
      }
      return;
    }
    if (m->kind == ControlChannel::Message::Kind::Disconnected) {
      if (!m->from.empty() && !ending_.contains(m->from) && !plan_.killed.contains(m->from))
        violation("the connection of '" + excerpt(m->from, 40) + "' ended before it was sent exit or teardown");
      return;
    }
    const std::string from = "'" + excerpt(m->from, 40) + "'";
    json msg;
    try {
      msg = decode_message(m->text, Limits{});
    } catch (const ProtocolError& e) {
      violation(from + " sent " + e.what());
      return;
    } catch (const std::exception& e) {  // the runner's own schema could not be used: nothing can be checked
      throw Stop{std::string("the check could not decode a message: ") + e.what()};
    }
    dispatch(m->from, from, msg);
  }

  // Who may send what, and when (spec/adapter-protocol.md#call-started-result): each violation is
  // listed and the message is otherwise dropped, so that the check goes on.
  void dispatch(const std::string& peer, const std::string& from, const json& msg) {
    const std::string type = msg["type"].get<std::string>();
    if (goodbye_) violation(from + " sent a '" + type + "' after the controller's goodbye");
    if (type == "hello") {
      if (msg["role"] == "controller") {
        if (peer != "main") return violation(from + " sent a controller hello; only 'main' is the controller");
        if (hello_) return violation(from + " sent a second controller hello");
        hello_ = msg;
        return;
      }
      if (msg["name"] != peer)
        return violation(from + " sent an actor hello naming another actor, '" +
                         excerpt(msg["name"].get<std::string>(), 40) + "'");
      if (std::none_of(plan_.actors.begin(), plan_.actors.end(), [&](const json& a) { return a["name"] == peer; }))
        return violation(from + " sent an actor hello, but the setup declares no actor of that name");
      if (!actor_hellos_.insert(peer).second) violation(from + " sent a second actor hello");
      return;
    }
    const int re = msg["re"].get<int>();
    auto it = requests_.find(re);
    if (it == requests_.end() || !it->second.answers.contains(type) || it->second.to != peer)
      return violation(from + " sent a '" + type + "' that answers nothing the check sent it (re " +
                       std::to_string(re) + ")");
    Request& r = it->second;
    if (type == "started") {
      if (r.started) return violation(from + " sent a second 'started' for call " + std::to_string(re));
      if (r.reply) return violation(from + " sent a 'started' for call " + std::to_string(re) + " after its result");
      r.started = Clock::now();
      return;
    }
    if (type == "result" && !r.started)
      violation(from + " sent a 'result' for call " + std::to_string(re) + " before its 'started'");
    if (r.reply) return violation(from + " sent a second answer ('" + type + "') to " + std::to_string(re));
    r.reply = msg;
    if (type == "goodbye") goodbye_ = true;
  }

  void check_capabilities() {
    const json& h = *hello_;
    const json caps = h.value("capabilities", json());
    if (!caps.is_object()) {
      violation("the controller's hello has no capabilities: it offers nothing, and every case would be skipped");
      return;
    }
    const auto registry_ops = reg_.ops();
    std::size_t i = 0;
    for (const auto& t : caps.value("types", json::array())) {
      const std::string name = t.get<std::string>();
      if (!reg_.types.contains(name))
        violation("hello /capabilities/types/" + std::to_string(i) + " '" + excerpt(name, 60) +
                  "' is not a type of spec/api.yaml");
      else if (!types_.insert(name).second)
        violation("hello /capabilities/types/" + std::to_string(i) + " '" + name + "' is listed twice");
      ++i;
    }
    i = 0;
    for (const auto& o : caps.value("ops", json::array())) {
      const std::string name = o.get<std::string>();
      if (!registry_ops.contains(name)) {
        const auto dot = name.find('.');
        const std::string type = dot == std::string::npos ? "" : name.substr(0, dot);
        violation("hello /capabilities/ops/" + std::to_string(i) + " '" + excerpt(name, 60) +
                  "' is not an operation of spec/api.yaml" +
                  (reg_.types.contains(type) ? " (" + type + " has no '" + name.substr(dot + 1) + "')" : ""));
      } else if (!ops_.insert(name).second) {
        violation("hello /capabilities/ops/" + std::to_string(i) + " '" + name + "' is listed twice");
      }
      ++i;
    }
    for (const auto& f : caps.value("features", json::array()))
      if (f.is_string()) features_.insert(f.get<std::string>());
  }

  void finish() {
    if (hello_ && goodbye_) {
      if (!process_->wait_exit(kReplyTimeout)) violation("the adapter did not exit within 10 s of its goodbye");
    }
    // What else arrived (after goodbye: each a violation), until the controller's connection ends.
    for (auto until = Clock::now() + 1s; Clock::now() < until;) {
      try {
        auto m = channel_.receive(50ms);
        if (!m) continue;
        if (m->kind == ControlChannel::Message::Kind::Frame) {
          json msg;
          try {
            msg = decode_message(m->text, Limits{});
          } catch (const ProtocolError& e) {
            violation("'" + excerpt(m->from, 40) + "' sent " + e.what());
            continue;
          }
          dispatch(m->from, "'" + excerpt(m->from, 40) + "'", msg);
        } else if (m->from == "main") {
          break;
        }
      } catch (const ProtocolError& e) {
        violation(std::string("a peer sent ") + e.what());
      }
    }
    if (hello_ && goodbye_) {
      if (!process_->wait_all_gone(5s))
        violation("processes of the adapter still alive 5 s after its main process exited: " +
                  process_->describe_live());
      if (std::string left = process_->leftovers(); !left.empty()) violation("left behind: " + left);
    }
    for (const auto& [seq, r] : requests_)
      if (r.answers.contains("started") && r.started && !r.reply && !goodbye_)
        violation("call " + std::to_string(seq) + " started and never returned");
    process_->kill_all();
    process_->wait_all_gone(5s);
    output_ = process_->output(4000);
  }

  void report() {
    if (hello_) {
      const json impl = hello_->value("implementation", json::object());
      std::cout << "hello: " << impl.value("name", std::string("?")) << " " << impl.value("version", std::string("?"))
                << " (semantics " << impl.value("semantics", std::string("?")) << ", family "
                << impl.value("family", std::string("?")) << ")\n";
      std::cout << "capabilities: " << types_.size() << " types, " << ops_.size() << " operations";
      if (!features_.empty())
        std::cout << ", features " << join(std::vector<std::string>(features_.begin(), features_.end()));
      std::cout << "\n";
      std::cout << "calls: " << calls_made_ << " made; " << called_.size() << " of the " << ops_.size()
                << " operations offered called trivially\n";
      for (const auto& n : plan_.notes) std::cout << "  note: " << n << "\n";
      std::vector<std::string> missing_types, missing_ops;
      for (const auto& [name, t] : reg_.types)
        if (!types_.contains(name) && (t.constructible || name == "Process")) missing_types.push_back(name);
      for (const auto& op : reg_.ops())
        if (!ops_.contains(op)) missing_ops.push_back(op);
      std::cout
          << "not offered (in spec/api.yaml; a case that needs one is reported skipped as unsupported, never passed): ";
      if (missing_types.empty() && missing_ops.empty())
        std::cout << "none\n";
      else {
        std::cout << missing_types.size() << " types, " << missing_ops.size() << " operations\n";
        if (!missing_types.empty()) std::cout << "  types: " << join(missing_types) << "\n";
        for (const auto& op : missing_ops) std::cout << "  " << op << "\n";
      }
    }
    if (violations_.empty()) {
      std::cout << "violations: none\n";
      return;
    }
    std::cout << "violations (" << violations_.size() << "):\n";
    for (std::size_t i = 0; i < violations_.size(); ++i) std::cout << "  " << i + 1 << ". " << violations_[i] << "\n";
    if (!output_.empty()) {
      std::cout << "adapter output (last 4000 bytes):\n";
      std::istringstream lines(valid_utf8(output_));
      for (std::string line; std::getline(lines, line);) std::cout << "  | " << line << "\n";
    }
  }

  const std::vector<std::string> argv_;
  const Registry& reg_;
  zmq::context_t context_;
  ControlChannel channel_;
  std::optional<AdapterProcess> process_;
  std::optional<json> hello_;
  bool goodbye_ = false;
  bool ended_ = false;  // the main process ended before its goodbye: nothing more can be asked
  std::set<std::string> types_, ops_, features_, actor_hellos_, called_, ending_;
  std::map<int, Request> requests_;
  Plan plan_;
  int seq_ = 0, calls_made_ = 0;
  std::vector<std::string> violations_;
  std::string output_;
};

constexpr const char* kUsage = R"(usage: mpconform adapter-check [--api FILE] 'COMMAND ARGS…'
       mpconform adapter-check [--api FILE] -- COMMAND ARGS…

Runs one adapter through the protocol (spec/adapter-protocol.md#checking-an-adapter): its hello
against spec/protocol/from-adapter.schema.json and spec/api.yaml, a setup with one object of each
type it claims (and actors), a trivial call of each operation it claims, exit to each actor, and
teardown; checks every message and its order. Prints the capability report (what spec/api.yaml has
that the adapter does not offer) and every violation. Exit status: 0 none, 1 violations, 2 the
check could not run. `--endpoint ENDPOINT` is appended to the command, as the runner does.
)";

}  // namespace

int adapter_check_main(const std::vector<std::string>& args, const fs::path& spec_dir) {
  fs::path api = spec_dir / "api.yaml";
  std::vector<std::string> command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--api" && i + 1 < args.size()) {
      api = args[++i];
    } else if (a == "--") {
      command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    } else if (command.empty() && i + 1 == args.size()) {
      std::istringstream words(a);  // one word: the command line, split on spaces
      for (std::string w; words >> w;) command.push_back(w);
    } else {
      std::cerr << "mpconform adapter-check: unexpected argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  if (command.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  Registry reg;
  try {
    reg = read_registry(api);
  } catch (const std::exception& e) {
    std::cerr << "mpconform adapter-check: cannot read " << api << ": " << e.what() << "\n";
    return 2;
  }
  return Check(command, reg).run();
}

}  // namespace mpconform
