#include "session.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <thread>

#include "adapter_process.hpp"
#include "control_channel.hpp"
#include "expect.hpp"
#include "isolation.hpp"
#include "protocol.hpp"

namespace mpconform {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kHelloTimeout = 30s;  // a spawn-method interpreter can be slow to start under load
constexpr auto kReadyTimeout = 30s;
constexpr auto kStartedTimeout = 10s;  // from sending a call to the actor saying it started
constexpr auto kOutcomeGrace = 10s;    // on top of a step's elapsed.max
constexpr auto kDefaultOutcome = 30s;  // a step without elapsed.max
constexpr auto kExitTimeout = 10s;
constexpr auto kGroupTimeout = 5s;
// After a connection ends unexpectedly: time for its process to be seen gone (a crash is a
// crash, not a protocol error) before the runner blames the connection itself.
constexpr auto kDisconnectGrace = 1s;

// Ends a session early with a verdict of the runner's own.
struct Abort {
  Verdict verdict;
  std::string reason;
};

// A call goes sent -> started -> result, each exactly once (spec/adapter-protocol.md#call-started-result).
struct Call {
  std::string actor;
  std::optional<Clock::time_point> started;
  std::optional<json> result;
  // The runner's order of receipt of its started and result (spec/case-format.md#ordering, without
  // the adapter's timestamps); 0 while not received.
  std::uint64_t started_order = 0, result_order = 0;
  // When its actor's process was seen dead after a signal of the case, with no result.
  std::optional<Clock::time_point> process_gone;
  // When its actor's process was seen dead with no signal of the case: a crash unless the result
  // it sent before it died (an `exit` answered just before a quick end) arrives within the settle.
  std::optional<Clock::time_point> died;
  // Its expectation is `dies` (the call step's, or its await's): an unsignalled end of its process
  // is its outcome, not a crash. `process_gone` is then set too, with `unsignalled`.
  bool may_die = false;
  bool unsignalled = false;
  std::optional<int> death_status;  // the wait status, where the runner saw the process as a zombie
};

// After a signalled actor's process is seen dead, how long a result it sent before it died may
// still be on its way (it is read before the call counts as killed).
constexpr auto kKilledSettle = 300ms;
// The most of the adapter's output an `output:` pattern is searched in.
constexpr std::size_t kMaxOutputSearch = std::size_t(4) << 20;

// What the controller may answer to a request of the runner, each exactly once.
struct ControllerRequest {
  std::set<std::string> answers;  // message types that answer it
  std::optional<json> reply;
};

// Makes every string of a result valid UTF-8, so that writing a report can never throw: the
// adapter's output may hold any bytes, and case text is echoed in the trace.
void make_valid_utf8(CaseResult& r) {
  r.reason = valid_utf8(r.reason);
  r.adapter_output = valid_utf8(r.adapter_output);
  for (auto& s : r.trace)
    for (std::string* f : {&s.actor, &s.call, &s.expected, &s.observed, &s.problem}) *f = valid_utf8(*f);
}

// An outcome as the trace keeps it: the typed values as the adapter sent them (spec/values.md).
// A value past kMaxTypedBytes is left out (its cut-short text is in `observed`), as the text is;
// its size and CRC-32 stay, so that `mpconform diff` can still tell two such values apart.
constexpr std::size_t kMaxTypedBytes = 4000;
json outcome_json(const Outcome& o) {
  auto bounded = [](const json& v) {
    const std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() <= kMaxTypedBytes) return v;
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", crc32(text));
    return json{{"truncated", true}, {"json_bytes", text.size()}, {"crc32", crc}};
  };
  if (o.kind == Outcome::Kind::Returned) return {{"kind", "returned"}, {"value", bounded(o.value)}};
  return {{"kind", "raised"},
          {"type", o.exc_type},
          {"bases", o.exc_bases},
          {"message", excerpt(o.exc_message, kMaxTypedBytes)},
          {"args", bounded(o.exc_args)}};
}

std::chrono::milliseconds seconds_to_ms(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

class Session {
 public:
  Session(const Case& c, const Implementation& impl, const Limits& limits)
      : case_(c),
        impl_(impl),
        limits_(limits),
        channel_(context_, limits),
        deadline_(Clock::now() + seconds_to_ms(c.timeout)) {}

  CaseResult run() {
    auto t0 = Clock::now();
    std::vector<std::string> argv = impl_.command;
    argv.push_back("--endpoint");
    argv.push_back(channel_.endpoint());
    try {
      process_.emplace(argv);
      drive();
    } catch (const Abort& a) {
      result_.verdict = a.verdict;
      result_.reason = a.reason;
    } catch (const CaseError& e) {
      result_.verdict = Verdict::CaseError;
      result_.reason = e.what();
    } catch (const ProtocolError& e) {
      result_.verdict = Verdict::ProtocolError;
      result_.reason = e.what();
    } catch (const std::exception& e) {
      result_.verdict = Verdict::ProtocolError;
      result_.reason = e.what();
    }
    if (process_) {
      if (!clean_end_) process_->kill_all();  // a failed or aborted case may have left calls blocked
      process_->wait_all_gone(kGroupTimeout);
      result_.adapter_output = process_->output();
      if (result_.verdict == Verdict::Pass && clean_end_) check_output();
      // Looked at once every process of the case is gone (CPython's resource tracker unlinks last).
      if (std::string left = process_->leftovers(); !left.empty()) {
        if (result_.verdict == Verdict::Pass || result_.verdict == Verdict::Skipped) {
          result_.verdict = Verdict::Leaked;
          result_.reason = "left behind by the case: " + left;
        } else {
          result_.reason += " (the case also left behind: " + left + ")";
        }
      }
    }
    make_valid_utf8(result_);
    if (result_.verdict == Verdict::Fail && case_.level == "cpython-specific" &&
        result_.implementation.value("family", std::string()) != "cpython")
      result_.verdict = Verdict::Differs;
    // A `recommended` behaviour is one CPython itself races on: missing it is its own class.
    if (result_.verdict == Verdict::Fail && case_.level == "recommended") result_.verdict = Verdict::RecommendedFail;
    result_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return result_;
  }

 private:
  void drive() {
    wait_until([&] { return hello_.has_value(); }, kHelloTimeout, "the controller's hello");
    read_hello();
    if (auto why = skip_reason()) {
      result_.verdict = Verdict::Skipped;
      result_.reason = *why;
      shutdown();
      return;
    }
    for (const auto& step : case_.steps) {  // malformed cases fail before running
      const Expectation* e = case_.expectation_for_target(step, target_);
      case_.expectation_in(step.exactly_one, step, target_);
      // A call in flight whose await expects dies may die before the await is reached.
      if (step.kind == Step::Kind::Await && e && e->outcome == Expectation::Outcome::Dies)
        dies_labels_.insert(step.label);
    }
    setup();
    bool all_ok = true;
    for (std::size_t i = 0; i < case_.steps.size() && all_ok; ++i)
      all_ok = run_step(static_cast<int>(i) + 1, case_.steps[i]);
    if (!all_ok) {
      result_.verdict = Verdict::Fail;
      return;  // the group is killed: a failed step may have left calls blocked
    }
    shutdown();
  }

  // ---- messages ----

  void pump(std::chrono::milliseconds timeout) {
    auto m = channel_.receive(std::min(timeout, std::chrono::milliseconds(50)));
    if (!m) {
      check_alive();
      return;
    }
    handle(*m);
  }

  void handle(const ControlChannel::Message& m) {
    if (m.kind == ControlChannel::Message::Kind::Disconnected) {
      if (m.from == "main") main_ended_ = true;
      return on_disconnect(m.from);
    }
    json msg;
    try {
      msg = decode_message(m.text, limits_);
    } catch (const ProtocolError& e) {
      throw Abort{Verdict::ProtocolError, "'" + excerpt(m.from, 40) + "' sent " + e.what()};
    }
    dispatch(m.from, msg);
  }

  // Every message has passed check_message: fields have their types. What is checked here is
  // who may send it and when.
  void dispatch(const std::string& from, const json& msg) {
    const std::string& type = msg["type"].get_ref<const std::string&>();
    auto fail = [&](const std::string& why) {
      throw Abort{Verdict::ProtocolError, "'" + excerpt(from, 40) + "' sent " + why};
    };
    if (goodbye_seen_) fail("a '" + type + "' after the controller's goodbye");
    if (type == "hello") {
      const std::string& role = msg["role"].get_ref<const std::string&>();
      if (role == "controller") {
        if (from != "main") fail("a controller hello; only 'main' is the controller");
        if (hello_) fail("a second controller hello");
        hello_ = msg;
        return;
      }
      if (msg["name"] != from)
        fail("an actor hello naming another actor, '" + excerpt(msg["name"].get<std::string>(), 40) + "'");
      if (std::none_of(case_.actors.begin(), case_.actors.end(), [&](const ActorDecl& a) { return a.name == from; }))
        fail("an actor hello, but the case declares no actor of that name");
      if (!actor_pids_.emplace(from, msg["pid"].get<int>()).second) fail("a second actor hello");
      return;
    }
    if (type == "ready" || type == "setup_failed" || type == "goodbye") {
      if (from != "main") fail("a '" + type + "', which only the controller 'main' sends");
      int re = msg["re"].get<int>();
      auto it = controller_requests_.find(re);
      if (it == controller_requests_.end() || !it->second.answers.contains(type))
        fail("a '" + type + "' that answers no request of the runner (re " + std::to_string(re) + ")");
      if (it->second.reply) fail("a second answer to request " + std::to_string(re) + " ('" + type + "')");
      it->second.reply = msg;
      if (type == "goodbye") goodbye_seen_ = true;
      return;
    }
    // started or result (check_message allows nothing else).
    int re = msg["re"].get<int>();
    auto it = calls_.find(re);
    if (it == calls_.end() || it->second.actor != from)
      fail("a '" + type + "' that answers no call of theirs (re " + std::to_string(re) + ")");
    Call& call = it->second;
    if (type == "started") {
      if (call.started) fail("a second 'started' for call " + std::to_string(re));
      call.started = Clock::now();
      call.started_order = ++received_;
    } else {
      if (!call.started) fail("a 'result' for call " + std::to_string(re) + " before its 'started'");
      if (call.result) fail("a second 'result' for call " + std::to_string(re) + ": " + excerpt(msg.dump(), 120));
      call.result = msg;
      call.result_order = ++received_;
    }
  }

  // A connection ended. Expected of an actor sent `exit` and of the controller sent `teardown`,
  // and of an actor whose process ended (a crash with a call in flight is reported by
  // check_alive). Any other is a connection libzmq dropped because of a frame over the limit,
  // or a socket closed too early: the peer's process runs on, silent, so say so now instead of
  // timing out.
  void on_disconnect(const std::string& peer) {
    if (!peer.empty() && ending_.contains(peer)) return;
    auto pid = actor_pids_.find(peer);
    const bool actor = !peer.empty() && peer != "main" && pid != actor_pids_.end() && pid->second > 0;
    for (auto until = std::min(Clock::now() + kDisconnectGrace, deadline_); Clock::now() < until;) {
      check_alive();
      if (actor && !AdapterProcess::process_alive(pid->second)) return;
      std::this_thread::sleep_for(20ms);
    }
    const std::string who = peer.empty() ? "a peer that had sent no message yet" : "'" + excerpt(peer, 40) + "'";
    throw Abort{Verdict::ProtocolError,
                "the connection of " + who + " was dropped while the adapter runs: a frame over the limit of " +
                    std::to_string(limits_.frame_bytes) +
                    " bytes (--max-frame-bytes) makes the runner drop it; or the socket was closed before its end"};
  }

  void check_alive() {
    if (auto status = process_->poll_exit(); status && !expect_exit_)
      throw Abort{Verdict::Crashed,
                  "the adapter's main process ended (" + describe_wait_status(*status) + ") before the case ended"};
    for (auto& [seq, call] : calls_) {
      if (call.result || (!call.started && !call.may_die) || call.process_gone) continue;
      auto pid = actor_pids_.find(call.actor);
      if (pid != actor_pids_.end() && pid->second > 0 && !AdapterProcess::process_alive(pid->second)) {
        // A process the case signalled may die: its calls in flight are killed, not crashed.
        if (signalled_pids_.contains(pid->second)) {
          call.process_gone = Clock::now();
        } else if (call.may_die) {  // expected to: its outcome, once the settle has passed
          call.process_gone = Clock::now();
          call.unsignalled = true;
          call.death_status = AdapterProcess::zombie_status(pid->second);
          died_pids_.insert(pid->second);
        } else if (!call.died)
          call.died = Clock::now();
        else if (Clock::now() - *call.died >= kKilledSettle)
          throw Abort{Verdict::Crashed,
                      "actor '" + call.actor + "' (pid " + std::to_string(pid->second) + ") died during a call"};
      }
    }
  }

  template <class Pred>
  void wait_until(Pred done, std::chrono::milliseconds timeout, const std::string& what) {
    auto limit = std::min(Clock::now() + timeout, deadline_);
    while (!done()) {
      auto now = Clock::now();
      if (now >= limit) {
        if (now >= deadline_)
          throw Abort{Verdict::TimedOut,
                      "the case deadline (" + format_float(case_.timeout) + " s) passed waiting for " + what};
        throw Abort{Verdict::TimedOut,
                    "no " + what + " within " + format_float(std::chrono::duration<double>(timeout).count()) + " s"};
      }
      pump(std::chrono::duration_cast<std::chrono::milliseconds>(limit - now));
    }
  }

  int send(const std::string& to, json msg) {
    msg["protocol"] = 1;
    msg["seq"] = ++seq_;
    // Text that JSON cannot carry comes from the case, not from the adapter.
    if (auto where = invalid_utf8_pointer(msg))
      throw Abort{Verdict::CaseError, case_.file + ": the '" + msg["type"].get<std::string>() + "' message for '" + to +
                                          "' would hold text that is not UTF-8, at " + *where};
    if (msg["type"] == "call" && msg["target"].is_null() && is_ending_operation(msg["method"].get<std::string>()))
      ending_.insert(to);
    if (msg["type"] == "teardown") ending_.insert("main");
    if (!channel_.send(to, msg)) throw Abort{Verdict::ProtocolError, "actor '" + to + "' is not connected"};
    return seq_;
  }

  // Sends a request to the controller; its answer (one of `answers`) is kept in controller_requests_.
  int request(json msg, std::set<std::string> answers) {
    int seq = send("main", std::move(msg));
    controller_requests_[seq].answers = std::move(answers);
    return seq;
  }

  // ---- phases ----

  void read_hello() {
    const json& h = *hello_;
    if (!h.contains("implementation") || !h["implementation"].is_object())
      throw Abort{Verdict::ProtocolError, "hello without implementation"};
    result_.implementation = h["implementation"];  // types checked by check_message
    try {
      semantics_ = parse_version(h["implementation"].value("semantics", std::string()));
    } catch (const std::exception&) {
      throw Abort{Verdict::ProtocolError, "hello.implementation.semantics is not major.minor"};
    }
    // Specifiers with a micro level compare the interpreter's own (spec/case-format.md#version-specifiers).
    semantics_ = full_version(semantics_, h["implementation"].value("language", std::string()),
                              h["implementation"].value("version", std::string()));
    target_.semantics = semantics_;
    target_.start_method = h["implementation"].value("start_method", std::string());
    target_.platform = h["implementation"].value("platform", std::string());
    const json caps = h.value("capabilities", json::object());  // each list checked to hold strings
    for (const auto& t : caps.value("types", json::array())) types_.insert(t.get<std::string>());
    for (const auto& o : caps.value("ops", json::array())) ops_.insert(o.get<std::string>());
    // Lists of the case language v2 (spec/adapter-protocol.md#call-fields-of-the-case-language-v2):
    // anything but a list of strings is read as not listing them.
    for (const char* key : {"features", "contexts"}) {
      const json list = caps.value(key, json::array());
      if (!list.is_array()) continue;
      for (const auto& f : list)
        if (f.is_string()) (std::string_view(key) == "features" ? features_ : contexts_).insert(f.get<std::string>());
    }
  }

  std::optional<std::string> skip_reason() const {
    if (case_.versions && !case_.versions->matches(semantics_))
      return "not applicable: the case applies to " + case_.versions->text() + ", the implementation follows " +
             semantics_.str() + " (" + semantics_.full_str() + ")";
    if (!case_.start_methods.empty() && std::find(case_.start_methods.begin(), case_.start_methods.end(),
                                                  target_.start_method) == case_.start_methods.end()) {
      std::string list;
      for (const auto& m : case_.start_methods) list += (list.empty() ? "" : ", ") + m;
      return "not applicable: the case applies to the start methods " + list + ", the implementation uses " +
             (target_.start_method.empty() ? std::string("none it reports") : target_.start_method);
    }
    std::string missing;
    for (const auto& t : case_.required_types())
      if (!types_.contains(t)) missing += " " + t;
    for (const auto& o : case_.required_ops())
      if (!ops_.contains(o)) missing += " " + o;
    for (const auto& f : case_.required_features())
      if (!features_.contains(f)) missing += " feature " + f;
    for (const auto& m : case_.required_contexts())
      if (!contexts_.contains(m)) missing += " context " + m;
    if (!missing.empty()) return "unsupported by the implementation:" + missing;
    return std::nullopt;
  }

  void setup() {
    json objects = json::array();
    for (const auto& o : case_.objects) {
      json j = {{"type", o.type}, {"args", o.args}, {"kwargs", o.kwargs}};
      if (o.names.size() == 1)
        j["name"] = o.names[0];
      else
        j["names"] = o.names;
      if (!o.context.empty()) j["context"] = o.context;
      objects.push_back(j);
    }
    json actors = json::array();
    for (const auto& a : case_.actors) {
      json j = {{"name", a.name}, {"kind", a.kind}};
      if (!a.in.empty()) j["in"] = a.in;
      if (a.start != "setup") j["start"] = a.start;
      if (!a.start_method.empty()) j["start_method"] = a.start_method;
      if (a.daemon) j["daemon"] = *a.daemon;
      actors.push_back(j);
    }
    json message = {{"type", "setup"}, {"case", case_.id}, {"objects", objects}, {"actors", actors}};
    if (!case_.warnings.empty()) message["warnings"] = case_.warnings;
    int seq = request(std::move(message), {"ready", "setup_failed"});
    auto& answer = controller_requests_[seq].reply;
    wait_until([&] { return answer.has_value(); }, kReadyTimeout, "reply to setup");
    const json& reply = *answer;
    if (reply["type"] == "setup_failed")
      throw Abort{Verdict::AdapterError, "setup failed: " + reply["error"]["message"].get<std::string>()};
    auto silent = [&] {
      std::string names;
      for (const auto& a : case_.actors)
        if (started_by_setup(a) && !actor_pids_.contains(a.name)) names += (names.empty() ? "'" : ", '") + a.name + "'";
      return names;
    };
    try {
      wait_until([&] { return silent().empty(); }, kReadyTimeout, "hello from every actor");
    } catch (Abort& abort) {
      // Which actor never said hello is what the reader needs first.
      abort.reason += " (no hello from " + silent() + ")";
      throw;
    }
    actor_pids_["main"] = hello_->value("pid", 0);
  }

  // Whether setup starts the actor (a thread starts with its process).
  bool started_by_setup(const ActorDecl& a) const {
    if (a.kind == "process") return a.start == "setup";
    const ActorDecl* host = a.in.empty() || a.in == "main" ? nullptr : case_.actor(a.in);
    return !host || host->start == "setup";
  }

  // After a start step returned: the child, and the thread actors in it, say hello.
  void wait_for_started(const std::string& name, int index) {
    wait_until(
        [&] {
          for (const auto& a : case_.actors)
            if ((a.name == name || (a.kind == "thread" && a.in == name)) && !actor_pids_.contains(a.name)) return false;
          return true;
        },
        kHelloTimeout, "hello from actor '" + name + "' started by step " + std::to_string(index));
  }

  StepRecord& record(int index, const Step& step, const Expectation* e) {
    StepRecord r;
    r.index = index;
    r.actor = step.actor;
    r.line = step.pos.line;
    r.call = step.describe_call();
    if (step.detach)
      r.expected = "(detached; checked by its await)";
    else
      r.expected = e ? e->describe() : "completes without raising";
    result_.trace.push_back(r);
    return result_.trace.back();
  }

  json call_message(const Step& step) {
    json target = step.target.empty() ? json(nullptr) : json(step.target);
    json msg = {{"type", "call"},
                {"target", target},
                {"method", step.method},
                {"args", substituted(step.args)},
                {"kwargs", substituted(step.kwargs)}};
    if (!step.bind.empty()) {
      msg["bind"] = step.bind;
      msg["bind_types"] = step.bind_types;
    }
    if (step.set_form) {
      msg["form"] = "set";
      msg["value"] = substituted(step.value);
    }
    return msg;
  }

  bool run_step(int index, const Step& step) {
    if (step.kind == Step::Kind::Signal) return run_signal(index, step);
    if (step.kind == Step::Kind::InFlight) return run_in_flight(index, step);
    if (step.kind == Step::Kind::Await && step.group.size() > 1) return run_group_await(index, step);
    const Expectation* e = case_.expectation_for_target(step, target_);
    StepRecord& rec = record(index, step, e);
    int seq;
    if (step.kind == Step::Kind::Await) {
      seq = labels_.at(step.label);
    } else {
      if (auto gone = gone_after_signal(step.actor)) {
        rec.problem = *gone;
        return false;
      }
      // PROC.terminate() and PROC.kill() signal PROC's process as a signal step does: it may end.
      if ((step.method == "terminate" || step.method == "kill") && actor_pids_.contains(step.target))
        signalled_pids_.insert(actor_pids_.at(step.target));
      seq = send(step.actor, call_message(step));
      calls_[seq].actor = step.actor;
      calls_[seq].may_die =
          (e && e->outcome == Expectation::Outcome::Dies) || (!step.label.empty() && dies_labels_.contains(step.label));
      if (!step.label.empty()) labels_[step.label] = seq;
      if (step.target.empty() && is_ending_operation(step.method)) {
        exited_.insert(step.actor);
        // Its exit terminates its daemonic children: their end is the case's doing, as a signal's.
        for (const auto& a : case_.actors)
          if (a.kind == "process" && a.in == step.actor && a.daemon == true && actor_pids_.contains(a.name))
            signalled_pids_.insert(actor_pids_.at(a.name));
      }
      if (step.detach) {
        labels_[step.label] = seq;
        rec.observed = "sent";
        rec.outcome = {{"kind", "sent"}};
        return true;
      }
    }
    Call& call = calls_[seq];
    wait_until([&] { return call.started.has_value() || killed(call); }, kStartedTimeout,
               "'started' from " + step.actor + " for step " + std::to_string(index));
    if (e && e->outcome == Expectation::Outcome::Blocks) {
      auto until = call.started.value_or(Clock::now()) + seconds_to_ms(e->blocks);
      while (!call.result && !killed(call) && Clock::now() < until)
        pump(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
      if (killed(call)) {  // a call whose await expects dies, dead before its blocks window ended
        rec.observed =
            "its process ended after " +
            format_float(std::chrono::duration<double>(Clock::now() - call.started.value_or(Clock::now())).count()) +
            " s" + death_text(call);
        rec.outcome = death_outcome(call);
        rec.problem = "its process ended while the call should have blocked";
        return false;
      }
      if (call.result) {
        rec.observed = outcome_text(*call.result) + " after " +
                       format_float(std::chrono::duration<double>(Clock::now() - *call.started).count()) + " s";
        try {
          Outcome early = outcome_from_result(*call.result);
          rec.outcome = outcome_json(early);
          rec.elapsed = early.elapsed;
        } catch (const std::exception&) {
        }
        rec.problem = "completed while it should have blocked";
        return false;
      }
      labels_[step.label] = seq;
      rec.observed = "still blocked after " + format_float(e->blocks) + " s";
      rec.outcome = {{"kind", "blocked"}, {"seconds", e->blocks}};
      return true;
    }
    auto budget = e && e->max_elapsed ? seconds_to_ms(*e->max_elapsed) + kOutcomeGrace
                                      : std::chrono::milliseconds(kDefaultOutcome);
    auto limit = call.started.value_or(Clock::now()) + budget;
    wait_until([&] { return call.result.has_value() || killed(call); },
               std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()),
               "outcome of step " + std::to_string(index) + " (" + rec.call + ")");
    return judge(index, step, e, seq, rec);
  }

  // The outcome of call `seq`, which has come (a result, or its process was killed), against e.
  bool judge(int index, const Step& step, const Expectation* e, int seq, StepRecord& rec) {
    Call& call = calls_[seq];
    if (!call.result && call.unsignalled) {  // only a call that may die is let to end so
      rec.observed = "its process ended before the call sent its result" + death_text(call);
      rec.outcome = death_outcome(call);
      if (!e || e->outcome != Expectation::Outcome::Dies)
        rec.problem = "its process ended, unsignalled by the case, before the call completed";
      else
        rec.problem = check_after(*e, seq);
      return rec.problem.empty();
    }
    if (!call.result) {
      rec.observed = "still in flight when its process was killed by the case's signal";
      rec.outcome = {{"kind", "killed"}};
      if (e && e->outcome == Expectation::Outcome::Dies)
        rec.problem = "its process was killed by the case's signal (dies is for a death the case does not cause)";
      else if (!e || e->outcome != Expectation::Outcome::Killed)
        rec.problem = "its process was killed by the case's signal before the call completed";
      else
        rec.problem = check_after(*e, seq);
      return rec.problem.empty();
    }
    const json& res = *call.result;
    if (res["status"] == "error") {
      const json& err = res["error"];
      throw Abort{Verdict::AdapterError, "step " + std::to_string(index) + " (" + rec.call + "): adapter error " +
                                             err["kind"].get<std::string>() + ": " + err["message"].get<std::string>()};
    }
    Outcome outcome;
    try {
      outcome = outcome_from_result(res);
    } catch (const ValueError& err) {
      throw Abort{Verdict::ProtocolError, "step " + std::to_string(index) + ": malformed result: " + err.what()};
    }
    rec.observed = outcome.describe();
    rec.outcome = outcome_json(outcome);
    rec.elapsed = outcome.elapsed;
    std::optional<Expectation> resolved;
    if (e) resolved = substituted(*e);
    rec.problem = check_outcome(e ? &*resolved : nullptr, outcome);
    if (rec.problem.empty() && e) rec.problem = check_after(*e, seq);
    if (rec.problem.empty() && step.target.empty() && step.method == "start" && outcome.kind == Outcome::Kind::Returned)
      wait_for_started(step.args[0]["v"].get<std::string>(), index);
    if (rec.problem.empty() && !step.capture.empty()) captured_[step.capture] = outcome.value;
    return rec.problem.empty();
  }

  // ---- case language v2, runner-only forms (spec/case-format.md) ----

  // Whether a call in flight counts as killed: its process was seen dead after the case's signal,
  // long enough ago that a result it sent before it died would have been read.
  bool killed(const Call& call) const {
    return !call.result && call.process_gone && Clock::now() - *call.process_gone >= kKilledSettle;
  }

  // Why `actor` can take no call: its process died after a signal of the case, or died during a
  // call that expected it to (dies); nullopt if it can.
  std::optional<std::string> gone_after_signal(const std::string& actor) const {
    auto pid = actor_pids_.find(actor);
    if (pid == actor_pids_.end() || AdapterProcess::process_alive(pid->second)) return std::nullopt;
    if (signalled_pids_.contains(pid->second))
      return "actor '" + actor + "' cannot take the call: its process (pid " + std::to_string(pid->second) +
             ") ended after the case's signal";
    if (died_pids_.contains(pid->second))
      return "actor '" + actor + "' cannot take the call: its process (pid " + std::to_string(pid->second) +
             ") died during an earlier call";
    return std::nullopt;
  }

  // ": killed by signal 11 (SIGSEGV)" where the runner saw how the process ended, else what it could not.
  static std::string death_text(const Call& call) {
    if (call.death_status) return ": " + describe_wait_status(*call.death_status);
    return " (how it ended was not seen: its parent had reaped it)";
  }

  static json death_outcome(const Call& call) {
    json out = {{"kind", "died"}};
    if (call.death_status) {
      const int st = *call.death_status;
      if (WIFSIGNALED(st)) out["signal"] = WTERMSIG(st);
      if (WIFEXITED(st)) out["exit_code"] = WEXITSTATUS(st);
    }
    return out;
  }

  // {$captured: NAME} replaced by the value captured under NAME, anywhere in v.
  json substituted(const json& v) const {
    if (v.is_object() && v.value("t", json()) == "captured") {
      auto it = captured_.find(v["name"].get<std::string>());
      if (it == captured_.end())
        throw Abort{Verdict::CaseError,
                    case_.file + ": $captured '" + v["name"].get<std::string>() + "' was never captured"};
      return it->second;
    }
    if (!v.is_array() && !v.is_object()) return v;
    json out = v;
    for (auto& item : out) item = substituted(item);
    return out;
  }

  Expectation substituted(const Expectation& e) const {
    Expectation out = e;
    out.value = substituted(e.value);
    if (e.match_min) out.match_min = substituted(*e.match_min);
    if (e.match_max) out.match_max = substituted(*e.match_max);
    return out;
  }

  // after: LABEL — the call `seq` completed after the call labelled LABEL started: by the adapter's
  // clock (ended_at, started_at of the results) where both results carry it, else by the order in
  // which the runner received the awaited result and the labelled call's started.
  std::string check_after(const Expectation& e, int seq) {
    if (e.after.empty()) return "";
    const Call& awaited = calls_[seq];
    const Call& other = calls_[labels_.at(e.after)];
    auto stamp = [](const std::optional<json>& result, const char* key) -> std::optional<double> {
      if (!result || !result->contains(key) || !(*result)[key].is_number()) return std::nullopt;
      return (*result)[key].get<double>();
    };
    const auto ended = stamp(awaited.result, "ended_at"), started = stamp(other.result, "started_at");
    if (ended && started) {
      if (*ended > *started) return "";
      return "completed (ended_at " + format_float(*ended) + ") before '" + e.after + "' started (started_at " +
             format_float(*started) + ")";
    }
    if (!awaited.result) {  // killed: it was still in flight when its process died
      if (other.started_order != 0) return "";
      return "'" + e.after + "' had not started when the awaited call's process was killed";
    }
    if (other.started_order != 0 && awaited.result_order > other.started_order) return "";
    return "completed before '" + e.after +
           "' started (by the order in which the runner received them: the adapter sent no started_at/ended_at)";
  }

  bool run_signal(int index, const Step& step) {
    StepRecord& rec = record(index, step, nullptr);
    rec.expected = "the signal is delivered";
    const int pid = actor_pids_.at(step.actor);
    if (!process_->signal_process(pid, step.signal)) {
      rec.problem = "the process of actor '" + step.actor + "' (pid " + std::to_string(pid) +
                    ") is gone: " + step.signal_name + " was not sent";
      return false;
    }
    signalled_pids_.insert(pid);
    rec.observed = "sent " + step.signal_name + " to pid " + std::to_string(pid);
    rec.outcome = {{"kind", "signalled"}, {"signal", step.signal_name}, {"pid", pid}};
    return true;
  }

  // Reads every message already waiting, then checks that the labelled call has no outcome yet.
  bool run_in_flight(int index, const Step& step) {
    StepRecord& rec = record(index, step, nullptr);
    rec.expected = "'" + step.label + "' is still in flight";
    while (auto m = channel_.receive(0ms)) handle(*m);
    check_alive();
    const Call& call = calls_[labels_.at(step.label)];
    if (call.result) {
      rec.observed = "it has completed: " + outcome_text(*call.result);
      rec.problem = "completed while it should still be in flight";
      return false;
    }
    if (call.process_gone) {
      rec.observed = "its process has ended";
      rec.problem = "its process ended while the call should still be in flight";
      return false;
    }
    rec.observed = "still in flight";
    rec.outcome = {{"kind", "in_flight"}};
    return true;
  }

  // await: [L1, L2, ...]: each outcome meets `expect`, or with exactly_one, exactly one of them meets
  // exactly_one and every other meets `expect`.
  bool run_group_await(int index, const Step& step) {
    const Expectation* each = case_.expectation_for_target(step, target_);
    const Expectation* one = case_.expectation_in(step.exactly_one, step, target_);
    std::vector<std::size_t> records;
    for (const auto& label : step.group) {
      Step member = step;
      member.label = label;
      member.group.clear();
      member.actor = calls_[labels_.at(label)].actor;
      StepRecord& r = record(index, member, each);
      r.call = "await " + label + " (of " + step.describe_call().substr(6) + ")";
      if (one)
        r.expected = "exactly one: " + one->describe() +
                     "; the others: " + (each ? each->describe() : "complete without raising");
      records.push_back(result_.trace.size() - 1);
    }
    // Wait for every outcome, each within its own budget from its start.
    double max_elapsed = 0;
    bool bounded = true;
    for (const Expectation* e : {each, one})
      if (e) {
        if (e->max_elapsed)
          max_elapsed = std::max(max_elapsed, *e->max_elapsed);
        else
          bounded = false;
      }
    if (!each && !one) bounded = false;
    const auto budget =
        bounded ? seconds_to_ms(max_elapsed) + kOutcomeGrace : std::chrono::milliseconds(kDefaultOutcome);
    for (const auto& label : step.group) {
      Call& call = calls_[labels_.at(label)];
      wait_until([&] { return call.started.has_value(); }, kStartedTimeout,
                 "'started' from " + call.actor + " for " + label);
      auto limit = *call.started + budget;
      wait_until([&] { return call.result.has_value() || killed(call); },
                 std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()),
                 "outcome of " + label + " (step " + std::to_string(index) + ")");
    }
    // Judge each against both, then count.
    std::vector<int> meets_one;
    std::vector<std::string> why_each(step.group.size()), why_one(step.group.size());
    for (std::size_t i = 0; i < step.group.size(); ++i) {
      const int seq = labels_.at(step.group[i]);
      StepRecord& r = result_.trace[records[i]];
      Step member = step;
      member.capture.clear();
      if (one) {
        judge(index, member, one, seq, r);
        why_one[i] = r.problem;
        if (why_one[i].empty()) meets_one.push_back(static_cast<int>(i));
      }
      judge(index, member, each, seq, r);
      why_each[i] = r.problem;
      r.problem.clear();
    }
    bool ok = true;
    if (one && meets_one.size() != 1) {
      std::string which;
      for (int i : meets_one) which += (which.empty() ? "" : ", ") + step.group[i];
      result_.trace[records[0]].problem = "exactly one should " + one->describe() + "; " +
                                          std::to_string(meets_one.size()) + " did" +
                                          (which.empty() ? "" : " (" + which + ")");
      ok = false;
    }
    for (std::size_t i = 0; i < step.group.size(); ++i) {
      if (one && meets_one.size() == 1 && static_cast<int>(i) == meets_one[0]) continue;
      if (!why_each[i].empty()) {
        StepRecord& r = result_.trace[records[i]];
        r.problem += (r.problem.empty() ? "" : "; ") + why_each[i];
        ok = false;
      }
    }
    return ok;
  }

  // The case's `output:` patterns, against what the adapter printed, once every process has ended.
  void check_output() {
    if (case_.output.empty()) return;
    std::size_t total = 0;
    const std::string text = process_->output_head(kMaxOutputSearch, &total);
    for (const auto& o : case_.output) {
      if (!o.keys.matches(target_)) continue;
      std::string why;
      const std::string where = " (output line " + std::to_string(o.pos.line) + ")";
      if (total > text.size()) {
        why = "the adapter printed " + std::to_string(total) + " bytes, more than the " +
              std::to_string(kMaxOutputSearch) + " an output pattern is searched in";
      } else if (o.must_match) {
        why = search_message(o.pattern, text, "the adapter's output");
      } else {
        why = search_message(o.pattern, text, "the adapter's output");
        if (why.starts_with("the adapter's output does not match"))
          why = "";
        else if (why.empty())
          why = "the adapter's output matches /" + o.pattern + "/, which it must not";
      }
      if (!why.empty()) {
        result_.verdict = Verdict::Fail;
        result_.reason = "output: " + why + where;
        return;
      }
    }
  }

  std::string outcome_text(const json& res) {
    try {
      return outcome_from_result(res).describe();
    } catch (const std::exception&) {
      return excerpt(res.dump(), 200);
    }
  }

  void shutdown() {
    // Threads first: a process actor's threads must end before the process can.
    std::vector<const ActorDecl*> order;
    for (const auto& a : case_.actors)
      if (a.kind == "thread") order.push_back(&a);
    // Processes last-declared first: a child (declared after its parent) ends before the parent,
    // which would otherwise wait for it in its exit handlers.
    for (auto a = case_.actors.rbegin(); a != case_.actors.rend(); ++a)
      if (a->kind == "process") order.push_back(&*a);
    for (const ActorDecl* a : order) {
      // An actor that never said hello was never started (a skipped case has no setup).
      if (!actor_pids_.contains(a->name) || exited_.contains(a->name)) continue;
      // An actor whose process the case signalled is sent exit only while that process lives.
      const bool signalled =
          signalled_pids_.contains(actor_pids_[a->name]) || died_pids_.contains(actor_pids_[a->name]);
      if (signalled && gone_after_signal(a->name)) continue;
      int seq = send(a->name, {{"type", "call"},
                               {"target", nullptr},
                               {"method", "exit"},
                               {"args", json::array()},
                               {"kwargs", json::object()}});
      calls_[seq].actor = a->name;
      wait_until([&] { return calls_[seq].result.has_value() || (signalled && gone_after_signal(a->name)); },
                 kExitTimeout, "reply to exit from actor '" + a->name + "'");
    }
    int seq = request({{"type", "teardown"}}, {"goodbye"});
    auto& answer = controller_requests_[seq].reply;
    wait_until([&] { return answer.has_value(); }, kExitTimeout, "goodbye");
    const json bye = *answer;
    expect_exit_ = true;
    if (!process_->wait_exit(kExitTimeout)) throw Abort{Verdict::TimedOut, "the adapter did not exit after goodbye"};
    // What came after goodbye, or after a result the runner had stopped waiting for (a second
    // result of the last call), is a protocol error too: read what has arrived.
    // The controller's connection ends after its last frame has come in: read until then (a bounded
    // time), then what else is already there.
    for (auto until = Clock::now() + kDisconnectGrace;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      auto m = channel_.receive(main_ended_ ? 0ms : std::max(left, 0ms));
      if (!m) {
        if (main_ended_ || Clock::now() >= until) break;
        continue;
      }
      if (m->kind == ControlChannel::Message::Kind::Frame)
        handle(*m);
      else if (m->from == "main")
        main_ended_ = true;  // the adapter has exited: every end is expected now
    }
    if (!process_->wait_all_gone(kGroupTimeout))  // group or not: those that left it (setsid) too
      throw Abort{Verdict::Leaked, "processes of the adapter still alive " +
                                       format_float(std::chrono::duration<double>(kGroupTimeout).count()) +
                                       " s after its main process exited: " + process_->describe_live()};
    check_cleanup(bye.value("cleanup", json::array()));
    clean_end_ = true;
  }

  // Each name is checked before it becomes a path (isolation.hpp), and looked up as the adapter
  // saw it (its private /dev/shm and /tmp where isolated).
  void check_cleanup(const json& items) {
    if (!items.is_array()) throw Abort{Verdict::ProtocolError, "goodbye.cleanup is not an array"};
    for (std::size_t i = 0; i < items.size(); ++i) {
      const json& item = items[i];
      const std::string where = "goodbye.cleanup[" + std::to_string(i) + "]";
      const std::string kind =
          item.is_object() && item.contains("kind") && item["kind"].is_string() ? item["kind"].get<std::string>() : "";
      const char* field = kind == "file" ? "path" : kind == "shm" ? "name" : nullptr;
      if (!field)
        throw Abort{Verdict::ProtocolError,
                    where + " is not {\"kind\": \"file\", \"path\": …} or {\"kind\": \"shm\", \"name\": …}"};
      if (!item.contains(field) || !item[field].is_string())
        throw Abort{Verdict::ProtocolError, where + "." + field + " is not a string"};
      const std::string name = item[field].get<std::string>();
      std::string path;
      try {
        if (kind == "shm") {
          path = shm_name_path(name);
        } else {
          check_absolute_normal(name);
          path = name;
        }
      } catch (const std::invalid_argument& e) {
        throw Abort{Verdict::ProtocolError, where + "." + field + " '" + name.substr(0, 200) + "' " + e.what()};
      }
      if (process_->exists_for_adapter(path))
        throw Abort{Verdict::Leaked, "still there after the adapter exited: " + path};
    }
  }

  const Case& case_;
  const Implementation& impl_;
  const Limits limits_;
  zmq::context_t context_;
  ControlChannel channel_;
  Clock::time_point deadline_;
  std::optional<AdapterProcess> process_;
  CaseResult result_;
  std::optional<json> hello_;
  Version semantics_;
  Target target_;                         // semantics, start method, platform: what the case's keys match
  std::map<std::string, json> captured_;  // capture: NAME -> the value returned
  std::set<int> signalled_pids_;          // processes a signal step of the case went to
  std::set<int> died_pids_;               // processes that died, unsignalled, during a call that expected dies
  std::set<std::string> dies_labels_;     // calls in flight whose await expects dies
  std::uint64_t received_ = 0;            // started and result messages received so far
  std::set<std::string> types_, ops_, exited_, features_, contexts_;
  std::map<std::string, int> actor_pids_;
  std::map<int, ControllerRequest> controller_requests_;
  std::map<int, Call> calls_;
  std::map<std::string, int> labels_;
  std::set<std::string> ending_;  // peers sent exit or teardown: their connection may end
  int seq_ = 0;
  bool goodbye_seen_ = false;
  bool main_ended_ = false;  // the controller's connection has ended
  bool expect_exit_ = false;
  bool clean_end_ = false;
};

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Pass: return "passed";
    case Verdict::Fail: return "failed";
    case Verdict::Differs: return "differs (cpython-specific)";
    case Verdict::Skipped: return "skipped";
    case Verdict::Crashed: return "crashed";
    case Verdict::TimedOut: return "timed out";
    case Verdict::ProtocolError: return "protocol error";
    case Verdict::AdapterError: return "adapter error";
    case Verdict::Leaked: return "leaked";
    case Verdict::CaseError: return "malformed case";
    case Verdict::RecommendedFail: return "failed (recommended)";
    case Verdict::ExpectedDivergence: return "expected divergence";
    case Verdict::NewlyPassing: return "newly passing";
  }
  return "?";
}

CaseResult run_case(const Case& c, const Implementation& impl, const Limits& limits) {
  return Session(c, impl, limits).run();
}

std::string format_result(const Case& c, const CaseResult& r) {
  std::string out = c.id + " — " + c.title + "\n  file: " + c.file + "\n  verdict: " + verdict_name(r.verdict);
  if (!r.reason.empty()) out += ": " + r.reason;
  out += "\n";
  if (!r.implementation.empty()) out += "  implementation: " + r.implementation.dump() + "\n";
  for (const auto& s : r.trace) {
    out += "  step " + std::to_string(s.index) + " [" + s.actor + "] " + s.call + "\n";
    out += "      expected: " + s.expected + "\n";
    if (!s.observed.empty()) out += "      observed: " + s.observed + "\n";
    if (!s.problem.empty()) out += "      MISMATCH: " + s.problem + "\n";
  }
  if (r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped && !r.adapter_output.empty()) {
    out += "  adapter output:\n";
    std::size_t start = 0;
    while (start < r.adapter_output.size()) {
      auto end = r.adapter_output.find('\n', start);
      if (end == std::string::npos) end = r.adapter_output.size();
      out += "    | " + r.adapter_output.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return valid_utf8(out);  // the case's own text (its file name) may hold any bytes too
}

}  // namespace mpconform
