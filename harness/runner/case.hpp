// The case model: what a case file says once it is read and checked (spec/case-format.md).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "values.hpp"
#include "versions.hpp"

namespace mpconform {

struct SourcePos {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string str() const;
};

// A malformed case: the message starts with file:line:column.
struct CaseError : std::runtime_error {
  CaseError(const SourcePos& pos, const std::string& what) : std::runtime_error(pos.str() + ": " + what), pos(pos) {}
  SourcePos pos;
};

struct ObjectDecl {
  std::vector<std::string> names;  // two for a Pipe
  std::string type;
  std::vector<std::string> name_types;  // the type of each name (spec/api.yaml `makes`): Connection for a Pipe's ends
  json args = json::array();
  json kwargs = json::object();
  std::string context;  // "fork", "spawn", "forkserver": made by that context; "" the default
};

struct ActorDecl {
  std::string name;
  std::string kind;             // "process" or "thread"
  std::string in;               // the actor the thread runs in, or the process actor that starts a process ("" = main)
  std::string start = "setup";  // "setup" or "step" (started by a `start:` step of its parent)
  std::string start_method;     // a process actor's own start method ("" = the implementation's)
  std::optional<bool> daemon;   // a process actor's daemon flag (none: the parent's, CPython's default)
};

// What an implementation is, for choosing what applies to it: the keys `versions`,
// `start_methods` and `platforms` (spec/case-format.md#keys-of-an-expectation).
struct Target {
  Version semantics;
  std::string start_method;  // hello.implementation.start_method; "" when the adapter says none
  std::string platform;      // hello.implementation.platform (sys.platform); "" when the adapter says none
};

// The keys of an expectation or an output pattern: each one given must match (an unknown start
// method or platform matches no list).
struct Keys {
  std::optional<VersionSpec> versions;
  std::vector<std::string> start_methods, platforms;
  bool empty() const { return !versions && start_methods.empty() && platforms.empty(); }
  bool matches(const Target& t) const;
  std::string describe() const;  // "3.9+, spawn, linux" style: "for >=3.9, start method fork"
};

struct Expectation {
  enum class Outcome {
    Ok,
    Returns,
    ReturnsAny,
    ReturnsInterleaving,
    ReturnsLength,
    Raises,
    Blocks,
    ReturnsMatching,
    Killed,
    Dies  // the call's process ends, unsignalled by the case, before the call sends its result
  };
  std::optional<VersionSpec> versions;
  std::vector<std::string> start_methods, platforms;  // the other keys (see Keys)
  Outcome outcome = Outcome::Ok;
  json value;                // Returns: the value; ReturnsAny / ReturnsInterleaving: a json array of values
  std::uint64_t length = 0;  // ReturnsLength
  std::string exc_type;      // Raises
  std::string exc_match;     // Raises: a regular expression searched in the message ("" = any)
  std::optional<json> exc_args;
  double blocks = 0;  // Blocks: seconds
  std::optional<double> min_elapsed;
  std::optional<double> max_elapsed;
  // ReturnsMatching: the value's type ("int", "str", ...), numeric bounds (typed int/float values)
  // and a pattern searched in a str.
  std::string match_type;
  std::optional<json> match_min, match_max;
  std::string value_match;
  std::string after;  // an await's: the awaited call completed after the call labelled so started
  Keys keys() const { return Keys{versions, start_methods, platforms}; }
  std::string describe() const;
};

// An item of the case-level `output:` list (spec/case-format.md#output).
struct OutputExpectation {
  bool must_match = true;  // match: RE, or not_match: RE
  std::string pattern;
  Keys keys;
  SourcePos pos;
};

struct Step {
  // Signal: `signal: SIGNAME` to `actor`'s process. InFlight: `in_flight: label` is checked.
  enum class Kind { Call, Await, Signal, InFlight };
  Kind kind = Kind::Call;
  std::string actor = "main";
  std::string target;  // object or actor name; empty for actor operations
  std::string method;
  json args = json::array();
  json kwargs = json::object();
  std::string label;  // `as`, or the label awaited
  bool detach = false;
  std::vector<Expectation> expects;      // empty: must complete without raising
  std::vector<std::string> bind;         // names the result is stored under (two: a 2-tuple unpacked)
  std::vector<std::string> bind_types;   // the spec's type of each bound name
  bool set_form = false;                 // `set: target.method` with `value`
  json value;                            // the value assigned by a set step
  std::vector<std::string> group;        // a group await: every label awaited (label is the first)
  std::vector<Expectation> exactly_one;  // a group await's: exactly one of them meets this
  std::string capture;                   // `capture: NAME`: the returned value is kept as NAME
  int signal = 0;                        // Signal: the number
  std::string signal_name;               // Signal: SIGTERM
  SourcePos pos;
  std::string describe_call() const;  // q.get(timeout=0.2)
};

struct Case {
  std::string id, title, spec, level, file;
  std::vector<std::string> tags;
  std::optional<VersionSpec> versions;
  std::vector<std::string> start_methods;  // the case applies only to these (empty: to all)
  std::vector<OutputExpectation> output;   // checked once every process of the case has ended
  std::string warnings;                    // a Python warnings action every process of the case runs under ("" = none)
  double timeout = 30;
  std::vector<ObjectDecl> objects;
  std::vector<ActorDecl> actors;
  std::vector<Step> steps;                         // `with` steps are flattened: __enter__, the nested steps, __exit__
  std::map<std::string, std::string> bound_types;  // names bound by steps -> their type
  bool calls_before_start = false;                 // a step uses a Process object before its start step

  // "Type.method" of every operation the case uses: an implementation lacking one skips the case.
  std::set<std::string> required_ops() const;
  std::set<std::string> required_types() const;
  // Protocol features (spec/adapter-protocol.md#call-fields-of-the-case-language-v2) and per-object
  // or per-actor contexts the case needs.
  std::set<std::string> required_features() const;
  std::set<std::string> required_contexts() const;
  const ActorDecl* actor(const std::string& name) const;
  // The expectation of a step for a semantics version; nullptr when the step has none (plain ok).
  // Throws CaseError if the step's expectations do not cover that version.
  const Expectation* expectation_for(const Step& step, Version v) const;
  // The same, by every key (versions, start_methods, platforms); for a group await's exactly_one
  // pass step.exactly_one as `expects`.
  const Expectation* expectation_for_target(const Step& step, const Target& t) const;
  const Expectation* expectation_in(const std::vector<Expectation>& expects, const Step& step, const Target& t) const;
  // The type of a named object or actor ("Connection" for Pipe ends, "Process" for process actors).
  std::string type_of(const std::string& name) const;
};

// A signal's number from its name ("SIGTERM"), or 0; and the name of a number.
int signal_number(const std::string& name);

// Operations an actor makes without an object.
inline bool is_actor_operation(const std::string& method) {
  return method == "sleep" || method == "exit" || method == "return" || method == "raise" || method == "start";
}
// Operations after which a process actor's end is intended.
inline bool is_ending_operation(const std::string& method) {
  return method == "exit" || method == "return" || method == "raise";
}
// A module-level call (spec/api.yaml `functions`): named from multiprocessing, or from operator and builtins, whose
// functions stand for Python syntax (operator.getitem: Queue[int]; builtins.repr: repr(e)), or from atexit
// (atexit.register: an exit handler of the calling process).
inline bool is_function_call(const std::string& method) {
  return method.starts_with("multiprocessing.") || method.starts_with("operator.") || method.starts_with("builtins.") ||
         method.starts_with("atexit.");
}

}  // namespace mpconform
