#include "case_loader.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#include <yaml-cpp/yaml.h>

namespace mpconform {
namespace fs = std::filesystem;

namespace {

SourcePos pos_of(const std::string& file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& what) {
  throw CaseError(pos_of(file, node), what);
}

// Follows a valijson context ("<root>", "[steps]", "[3]", …) to the node it names.
YAML::Node node_at(const YAML::Node& root, const std::vector<std::string>& context) {
  YAML::Node node = root;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    std::string key = part.substr(1, part.size() - 2);
    YAML::Node next;
    if (node.IsSequence()) {
      try {
        next = node[std::stoul(key)];
      } catch (const std::exception&) {
        break;
      }
    } else if (node.IsMap()) {
      next = node[key];
    }
    if (!next.IsDefined()) break;
    node = next;
  }
  return node;
}

std::string context_path(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context)
    if (part != "<root>") out += part;
  return out.empty() ? "the document" : out;
}

// ---- YAML scalars to typed values (YAML 1.2 core schema resolution for plain scalars) ----

const std::regex kIntRe(R"([-+]?[0-9]+)");
const std::regex kHexRe(R"(0x[0-9a-fA-F]+)");
const std::regex kOctRe(R"(0o[0-7]+)");
const std::regex kFloatRe(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
const std::regex kSpecialFloatRe(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");

// Arbitrary-size conversion of hex/octal digits to decimal text.
std::string radix_to_decimal(const std::string& digits, unsigned radix) {
  std::vector<std::uint32_t> limbs{0};  // base 1e9, little endian
  for (char c : digits) {
    unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    std::uint64_t carry = d;
    for (auto& limb : limbs) {
      std::uint64_t x = std::uint64_t(limb) * radix + carry;
      limb = static_cast<std::uint32_t>(x % 1000000000u);
      carry = x / 1000000000u;
    }
    if (carry) limbs.push_back(static_cast<std::uint32_t>(carry));
  }
  std::string out = std::to_string(limbs.back());
  for (auto it = limbs.rbegin() + 1; it != limbs.rend(); ++it) {
    std::string part = std::to_string(*it);
    out += std::string(9 - part.size(), '0') + part;
  }
  return out;
}

json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return make_none();
  if (s == "true" || s == "True" || s == "TRUE") return make_bool(true);
  if (s == "false" || s == "False" || s == "FALSE") return make_bool(false);
  if (std::regex_match(s, kIntRe)) return make_int(s);
  if (std::regex_match(s, kHexRe)) return make_int(radix_to_decimal(s.substr(2), 16));
  if (std::regex_match(s, kOctRe)) return make_int(radix_to_decimal(s.substr(2), 8));
  if (std::regex_match(s, kFloatRe) || std::regex_match(s, kSpecialFloatRe)) return make_float(parse_float(s));
  return make_str(s);
}

// Decodes UTF-8 text whose code points are all <= 255 into bytes.
std::optional<std::string> latin1_bytes(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
      unsigned cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      if (cp > 255) return std::nullopt;
      out.push_back(static_cast<char>(cp));
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

class ValueReader {
 public:
  explicit ValueReader(std::string file) : file_(std::move(file)) {}

  json read(const YAML::Node& n) const {
    if (n.IsNull()) {
      // An explicitly quoted empty string is a str; a bare empty value is None.
      return n.Tag() == "!" ? make_str("") : make_none();
    }
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      const std::string& tag = n.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return make_str(s);
      if (tag == "?") {
        try {
          return plain_scalar(s);
        } catch (const ValueError& e) {
          fail(file_, n, e.what());
        }
      }
      fail(file_, n, "unsupported YAML tag '" + tag + "' (values use plain scalars and $-forms; see spec/values.md)");
    }
    if (n.IsSequence()) {
      json items = json::array();
      for (const auto& item : n) items.push_back(read(item));
      return {{"t", "list"}, {"v", items}};
    }
    if (n.IsMap()) {
      bool special = false;
      for (const auto& kv : n)
        if (kv.first.IsScalar() && kv.first.Scalar().starts_with("$")) special = true;
      if (special) return read_special(n);
      json items = json::array();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) fail(file_, kv.first, "a mapping key must be a scalar (use $dict for other keys)");
        items.push_back(json::array({make_str(kv.first.Scalar()), read(kv.second)}));
      }
      return {{"t", "dict"}, {"v", items}};
    }
    fail(file_, n, "not a value");
  }

 private:
  json read_list(const YAML::Node& n, const char* what) const {
    if (!n.IsSequence()) fail(file_, n, std::string(what) + " takes a sequence");
    json items = json::array();
    for (const auto& item : n) items.push_back(read(item));
    return items;
  }

  std::int64_t read_int64(const YAML::Node& n, const char* what) const {
    json v = read(n);
    if (v["t"] != "int") fail(file_, n, std::string(what) + " takes integers");
    try {
      return std::stoll(v["v"].get<std::string>());
    } catch (const std::exception&) {
      fail(file_, n, std::string(what) + ": integer out of range");
    }
  }

  json read_special(const YAML::Node& n) const {
    if (n.size() != 1) fail(file_, n, "a $-form mapping has exactly one key (spec/values.md)");
    auto kv = *n.begin();
    const std::string key = kv.first.Scalar();
    const YAML::Node& arg = kv.second;
    if (key == "$bytes" || key == "$bytearray") {
      if (!arg.IsScalar()) fail(file_, arg, key + " takes a string");
      auto data = latin1_bytes(arg.Scalar());
      if (!data) fail(file_, arg, key + ": every character must be a code point 0-255 (use \\xNN escapes)");
      return make_bytes(*data, key == "$bytearray");
    }
    if (key == "$bytes_hex" || key == "$bytearray_hex") {
      if (!arg.IsScalar()) fail(file_, arg, key + " takes a string of hex digits");
      std::string hex = arg.Scalar();
      hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
      std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
      json v = {{"t", key == "$bytes_hex" ? "bytes" : "bytearray"}, {"v", hex}};
      try {
        check_value(v);
      } catch (const ValueError& e) {
        fail(file_, arg, key + ": " + e.what());
      }
      return v;
    }
    if (key == "$tuple" || key == "$set" || key == "$frozenset")
      return {{"t", key.substr(1)}, {"v", read_list(arg, key.c_str())}};
    if (key == "$dict") {
      if (!arg.IsSequence()) fail(file_, arg, "$dict takes a sequence of [key, value] pairs");
      json items = json::array();
      for (const auto& pair : arg) {
        if (!pair.IsSequence() || pair.size() != 2) fail(file_, pair, "$dict item must be a [key, value] pair");
        items.push_back(json::array({read(pair[0]), read(pair[1])}));
      }
      return {{"t", "dict"}, {"v", items}};
    }
    if (key == "$range") {
      if (!arg.IsSequence() || arg.size() < 2 || arg.size() > 3) fail(file_, arg, "$range takes [start, stop] or [start, stop, step]");
      std::int64_t start = read_int64(arg[0], "$range"), stop = read_int64(arg[1], "$range");
      std::int64_t step = arg.size() == 3 ? read_int64(arg[2], "$range") : 1;
      if (step == 0) fail(file_, arg, "$range step must not be 0");
      json items = json::array();
      for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (items.size() >= 10'000'000) fail(file_, arg, "$range: more than 10 million items");
        items.push_back(make_int(i));
      }
      return {{"t", "list"}, {"v", items}};
    }
    if (key == "$payload") {
      if (!arg.IsMap() || !arg["size"] || !arg["seed"] || arg.size() != 2) fail(file_, arg, "$payload takes {size: N, seed: S}");
      std::int64_t size = read_int64(arg["size"], "$payload size"), seed = read_int64(arg["seed"], "$payload seed");
      if (size < 0 || seed < 0) fail(file_, arg, "$payload size and seed must not be negative");
      return {{"t", "payload"}, {"size", static_cast<std::uint64_t>(size)}, {"seed", static_cast<std::uint64_t>(seed)}};
    }
    if (key == "$unpicklable") return {{"t", "unpicklable"}};
    if (key == "$ref") {
      if (!arg.IsScalar()) fail(file_, arg, "$ref takes an object name");
      return {{"t", "ref"}, {"name", arg.Scalar()}};
    }
    fail(file_, kv.first, "unknown value form '" + key + "' (see spec/values.md)");
  }

  std::string file_;
};

// The YAML tree as JSON with YAML 1.2 core-schema scalar types, for schema validation.
// (Debian's valijson 1.0 YamlCppAdapter cannot be compiled with validator.hpp: its array iterator
// lacks the operator-- that the uniqueItems check needs; it also types every scalar as a string.)
json schema_view(const YAML::Node& n) {
  if (n.IsMap()) {
    json out = json::object();
    for (const auto& kv : n) out[kv.first.Scalar()] = schema_view(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    json out = json::array();
    for (const auto& item : n) out.push_back(schema_view(item));
    return out;
  }
  if (n.IsNull()) return n.Tag() == "!" ? json("") : json(nullptr);
  const std::string& s = n.Scalar();
  if (n.Tag() != "?") return s;
  json v;
  try {
    v = plain_scalar(s);
  } catch (const ValueError&) {
    return s;
  }
  const std::string t = v["t"];
  if (t == "none") return nullptr;
  if (t == "bool") return v["v"];
  if (t == "float") return parse_float(v["v"].get<std::string>());
  if (t == "int") {
    try {
      return std::stoll(v["v"].get<std::string>());
    } catch (const std::out_of_range&) {
      return parse_float(v["v"].get<std::string>());
    }
  }
  return s;
}

// The schema says "exactly one outcome" with oneOf, whose failure message names no key; this says which.
void check_outcome_keys(const std::string& file, const YAML::Node& root) {
  static const char* outcomes[] = {"returns", "returns_any", "returns_interleaving", "returns_length", "ok", "raises", "blocks"};
  if (!root.IsMap() || !root["steps"] || !root["steps"].IsSequence()) return;
  for (const auto& step : root["steps"]) {
    if (!step.IsMap() || !step["expect"]) continue;
    const YAML::Node expect = step["expect"];
    std::vector<YAML::Node> alternatives;
    if (expect.IsSequence())
      for (const auto& e : expect) alternatives.push_back(e);
    else
      alternatives.push_back(expect);
    for (const auto& e : alternatives) {
      if (!e.IsMap()) continue;
      std::string found;
      for (const char* key : outcomes)
        if (e[key]) found += found.empty() ? std::string(key) : std::string("' and '") + key;
      if (found.find("' and '") != std::string::npos)
        fail(file, e, "expect has '" + found + "': an expectation has exactly one outcome");
    }
  }
}

// ---- semantic checks and construction of the Case ----

class CaseBuilder {
 public:
  CaseBuilder(const std::string& file, const YAML::Node& root) : file_(file), root_(root), values_(file) {}

  Case build(const std::string& expected_id) {
    Case c;
    c.file = file_;
    c.id = root_["id"].Scalar();
    if (!expected_id.empty() && c.id != expected_id)
      fail(file_, root_["id"], "id '" + c.id + "' does not match the file's path (expected '" + expected_id + "')");
    c.title = root_["title"].Scalar();
    c.spec = root_["spec"].Scalar();
    c.level = root_["level"].Scalar();
    for (const auto& t : root_["tags"]) c.tags.push_back(t.Scalar());
    if (root_["versions"]) c.versions = spec_at(root_["versions"]);
    if (root_["timeout"]) c.timeout = number_at(root_["timeout"]);
    names_.insert("main");
    if (root_["objects"])
      for (const auto& o : root_["objects"]) c.objects.push_back(object_at(o));
    if (root_["actors"])
      for (const auto& a : root_["actors"]) c.actors.push_back(actor_at(a, c));
    for (const auto& s : root_["steps"]) c.steps.push_back(step_at(s, c));
    if (!in_flight_.empty()) {
      const auto& [label, node] = *in_flight_.begin();
      fail(file_, node, "call '" + label + "' is still in flight at the end of the case: await it");
    }
    return c;
  }

 private:
  VersionSpec spec_at(const YAML::Node& n) {
    try {
      return VersionSpec::parse(n.Scalar());
    } catch (const std::invalid_argument& e) {
      fail(file_, n, e.what());
    }
  }

  double number_at(const YAML::Node& n) {
    json v = values_.read(n);
    if (v["t"] == "int") return std::stod(v["v"].get<std::string>());
    if (v["t"] == "float") return parse_float(v["v"].get<std::string>());
    fail(file_, n, "expected a number");
  }

  void claim_name(const std::string& name, const YAML::Node& n) {
    if (!names_.insert(name).second) fail(file_, n, "name '" + name + "' is used twice (objects and actors share one namespace)");
  }

  json args_at(const YAML::Node& n) {
    if (!n) return json::array();
    json out = json::array();
    for (const auto& a : n) out.push_back(checked_value(a));
    return out;
  }

  json kwargs_at(const YAML::Node& n) {
    json out = json::object();
    if (!n) return out;
    for (const auto& kv : n) out[kv.first.Scalar()] = checked_value(kv.second);
    return out;
  }

  // A value in args/kwargs: $ref must name a known object or actor.
  json checked_value(const YAML::Node& n) {
    json v = values_.read(n);
    check_refs(v, n);
    return v;
  }

  void check_refs(const json& v, const YAML::Node& n) {
    if (v["t"] == "ref" && !names_.contains(v["name"].get<std::string>()))
      fail(file_, n, "$ref to unknown object '" + v["name"].get<std::string>() + "'");
    if (v.contains("v") && v["v"].is_array())
      for (const auto& item : v["v"]) {
        if (item.is_array())
          for (const auto& x : item) check_refs(x, n);
        else
          check_refs(item, n);
      }
  }

  ObjectDecl object_at(const YAML::Node& n) {
    ObjectDecl o;
    o.type = n["type"].Scalar();
    if (n["name"].IsSequence()) {
      for (const auto& x : n["name"]) o.names.push_back(x.Scalar());
    } else {
      o.names.push_back(n["name"].Scalar());
    }
    if ((o.type == "Pipe") != (o.names.size() == 2))
      fail(file_, n["name"], o.type == "Pipe" ? "a Pipe is named by a list of two names, one per end" : "only a Pipe has two names");
    for (const auto& name : o.names) claim_name(name, n["name"]);
    o.args = args_at(n["args"]);
    o.kwargs = kwargs_at(n["kwargs"]);
    return o;
  }

  ActorDecl actor_at(const YAML::Node& n, const Case& c) {
    ActorDecl a;
    a.name = n["name"].Scalar();
    a.kind = n["kind"].Scalar();
    claim_name(a.name, n["name"]);
    if (n["in"]) {
      if (a.kind != "thread") fail(file_, n["in"], "only a thread actor runs 'in' another actor");
      a.in = n["in"].Scalar();
      bool ok = a.in == "main";
      for (const auto& other : c.actors) ok = ok || (other.name == a.in && other.kind == "process");
      if (!ok) fail(file_, n["in"], "'" + a.in + "' is not main or a process actor declared before");
    } else if (a.kind == "thread") {
      a.in = "main";
    }
    actors_.insert(a.name);
    return a;
  }

  Expectation expectation_at(const YAML::Node& n) {
    Expectation e;
    if (n["versions"]) e.versions = spec_at(n["versions"]);
    using O = Expectation::Outcome;
    if (n["returns"]) {
      e.outcome = O::Returns;
      e.value = values_.read(n["returns"]);
    } else if (n["returns_any"]) {
      e.outcome = O::ReturnsAny;
      e.value = json::array();
      for (const auto& v : n["returns_any"]) e.value.push_back(values_.read(v));
    } else if (n["returns_interleaving"]) {
      e.outcome = O::ReturnsInterleaving;
      e.value = json::array();
      for (const auto& v : n["returns_interleaving"]) {
        json seq = values_.read(v);
        if (seq["t"] != "list") fail(file_, v, "returns_interleaving takes lists");
        e.value.push_back(seq);
      }
    } else if (n["returns_length"]) {
      e.outcome = O::ReturnsLength;
      e.length = n["returns_length"].as<std::uint64_t>();
    } else if (n["raises"]) {
      e.outcome = O::Raises;
      const YAML::Node r = n["raises"];
      if (r.IsScalar()) {
        e.exc_type = r.Scalar();
      } else {
        e.exc_type = r["type"].Scalar();
        if (r["match"]) {
          e.exc_match = r["match"].Scalar();
          try {
            std::regex check(e.exc_match, std::regex::ECMAScript);
          } catch (const std::regex_error& err) {
            fail(file_, r["match"], std::string("bad regular expression: ") + err.what());
          }
        }
        if (r["args"]) {
          json args = json::array();
          for (const auto& v : r["args"]) args.push_back(values_.read(v));
          e.exc_args = args;
        }
      }
    } else if (n["blocks"]) {
      e.outcome = O::Blocks;
      e.blocks = number_at(n["blocks"]);
    } else {
      e.outcome = O::Ok;
    }
    if (n["elapsed"]) {
      if (e.outcome == O::Blocks) fail(file_, n["elapsed"], "elapsed does not go with blocks (a blocked call has no elapsed time yet)");
      if (n["elapsed"]["min"]) e.min_elapsed = number_at(n["elapsed"]["min"]);
      if (n["elapsed"]["max"]) e.max_elapsed = number_at(n["elapsed"]["max"]);
      if (e.min_elapsed && e.max_elapsed && *e.min_elapsed > *e.max_elapsed)
        fail(file_, n["elapsed"], "elapsed min is greater than max");
    }
    return e;
  }

  std::vector<Expectation> expectations_at(const YAML::Node& n) {
    std::vector<Expectation> out;
    if (!n) return out;
    if (n.IsSequence()) {
      for (const auto& item : n) out.push_back(expectation_at(item));
    } else {
      if (n["versions"]) fail(file_, n["versions"], "a single expectation has no versions; use a list of versioned expectations");
      out.push_back(expectation_at(n));
    }
    return out;
  }

  bool any_blocks(const std::vector<Expectation>& es) {
    return std::any_of(es.begin(), es.end(), [](const Expectation& e) { return e.outcome == Expectation::Outcome::Blocks; });
  }

  Step step_at(const YAML::Node& n, const Case& c) {
    Step s;
    s.pos = pos_of(file_, n);
    s.expects = expectations_at(n["expect"]);
    if (n["await"]) {
      s.kind = Step::Kind::Await;
      s.label = n["await"].Scalar();
      auto it = in_flight_.find(s.label);
      if (it == in_flight_.end()) fail(file_, n["await"], "'" + s.label + "' is not a call in flight (detach or blocks, not yet awaited)");
      s.actor = label_actor_[s.label];
      in_flight_.erase(it);
      if (any_blocks(s.expects)) fail(file_, n["expect"], "an await cannot expect blocks");
      return s;
    }
    if (n["actor"]) s.actor = n["actor"].Scalar();
    if (s.actor != "main" && !actors_.contains(s.actor)) fail(file_, n["actor"], "unknown actor '" + s.actor + "'");
    if (exited_.contains(s.actor)) fail(file_, n, "actor '" + s.actor + "' has already exited");
    const std::string call = n["call"].Scalar();
    auto dot = call.find('.');
    if (dot == std::string::npos) {
      s.method = call;
      if (!is_actor_operation(s.method)) fail(file_, n["call"], "'" + call + "' is not an actor operation (sleep, exit); write OBJECT.METHOD");
      if (s.method == "exit") {
        if (s.actor == "main") fail(file_, n["call"], "main cannot exit: it is the controller");
        exited_.insert(s.actor);
      }
    } else {
      s.target = call.substr(0, dot);
      s.method = call.substr(dot + 1);
      std::string type = c.type_of(s.target);
      if (type.empty()) fail(file_, n["call"], "unknown object '" + s.target + "'");
      if (type == "Process" && s.actor != "main") fail(file_, n["call"], "only main holds process objects");
    }
    s.args = args_at(n["args"]);
    s.kwargs = kwargs_at(n["kwargs"]);
    s.detach = n["detach"] && n["detach"].as<bool>();
    if (n["as"]) {
      s.label = n["as"].Scalar();
      if (!labels_.insert(s.label).second) fail(file_, n["as"], "label '" + s.label + "' is used twice");
    }
    bool blocks = any_blocks(s.expects);
    if (blocks && !std::all_of(s.expects.begin(), s.expects.end(),
                               [](const Expectation& e) { return e.outcome == Expectation::Outcome::Blocks; }))
      fail(file_, n["expect"], "a step that blocks on one version must block on all (give the outcome in its await)");
    if ((s.detach || blocks) && s.label.empty()) fail(file_, n, "a call that stays in flight (detach or blocks) needs 'as'");
    if (s.detach && !s.expects.empty()) fail(file_, n["expect"], "a detached call is checked by its await, not here");
    if (s.detach || blocks) {
      for (const auto& [label, node] : in_flight_)
        if (label_actor_[label] == s.actor)
          fail(file_, n, "actor '" + s.actor + "' already has call '" + label + "' in flight: an actor makes one call at a time");
      in_flight_.emplace(s.label, n);
      label_actor_[s.label] = s.actor;
    } else {
      for (const auto& [label, node] : in_flight_)
        if (label_actor_[label] == s.actor)
          fail(file_, n, "actor '" + s.actor + "' is busy with call '" + label + "': await it first");
    }
    return s;
  }

  std::string file_;
  YAML::Node root_;
  ValueReader values_;
  std::set<std::string> names_, actors_, labels_, exited_;
  std::map<std::string, YAML::Node> in_flight_;
  std::map<std::string, std::string> label_actor_;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct CaseLoader::Impl {
  valijson::Schema schema;
};

CaseLoader::CaseLoader(const fs::path& schema_path) : impl_(std::make_unique<Impl>()) {
  json doc;
  try {
    doc = json::parse(read_text(schema_path));
  } catch (const json::exception& e) {
    throw std::runtime_error(schema_path.string() + ": not valid JSON: " + e.what());
  }
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  parser.populateSchema(adapter, impl_->schema);
}

CaseLoader::~CaseLoader() = default;

Case CaseLoader::load_text(const std::string& text, const std::string& file, const std::string& expected_id) const {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw CaseError(SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw CaseError(pos_of(file, root), "a case is a YAML mapping");
  check_outcome_keys(file, root);
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  const json view = schema_view(root);
  if (!validator.validate(impl_->schema, valijson::adapters::NlohmannJsonAdapter(view), &results)) {
    // The deepest errors are the most specific; a oneOf failure also reports each branch's reason.
    std::vector<valijson::ValidationResults::Error> errors;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) errors.push_back(error);
    std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) { return a.context.size() > b.context.size(); });
    const auto& best = errors.front();
    std::string why = best.description;
    std::set<std::string> seen{why};
    for (const auto& e : errors)
      if (e.context == best.context && seen.insert(e.description).second && seen.size() <= 4) why += "; " + e.description;
    YAML::Node at = node_at(root, best.context);
    throw CaseError(pos_of(file, at), "schema: at " + context_path(best.context) + ": " + why);
  }
  try {
    return CaseBuilder(file, root).build(expected_id);
  } catch (const YAML::Exception& e) {
    throw CaseError(SourcePos{file, e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
}

Case CaseLoader::load_file(const fs::path& file, const fs::path& cases_root) const {
  fs::path rel = fs::relative(file, cases_root);
  std::string id = rel.replace_extension().generic_string();
  std::replace(id.begin(), id.end(), '/', '.');
  return load_text(read_text(file), file.string(), id);
}

CaseLoader::Loaded CaseLoader::load_tree(const fs::path& root) const {
  Loaded out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    try {
      out.cases.push_back(load_file(f, root));
    } catch (const CaseError& e) {
      out.errors.push_back(e.what());
    } catch (const std::exception& e) {
      out.errors.push_back(f.string() + ": " + e.what());
    }
  }
  return out;
}

}  // namespace mpconform
