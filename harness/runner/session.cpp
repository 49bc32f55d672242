#include "session.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "adapter_process.hpp"
#include "control_channel.hpp"
#include "expect.hpp"

namespace mpconform {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kHelloTimeout = 30s;   // a spawn-method interpreter can be slow to start under load
constexpr auto kReadyTimeout = 30s;
constexpr auto kStartedTimeout = 10s; // from sending a call to the actor saying it started
constexpr auto kOutcomeGrace = 10s;   // on top of a step's elapsed.max
constexpr auto kDefaultOutcome = 30s; // a step without elapsed.max
constexpr auto kExitTimeout = 10s;
constexpr auto kGroupTimeout = 5s;

// Ends a session early with a verdict of the runner's own.
struct Abort {
  Verdict verdict;
  std::string reason;
};

struct Call {
  std::string actor;
  std::optional<Clock::time_point> started;
  std::optional<json> result;
};

std::chrono::milliseconds seconds_to_ms(double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); }

class Session {
 public:
  Session(const Case& c, const Implementation& impl)
      : case_(c), impl_(impl), channel_(context_), deadline_(Clock::now() + seconds_to_ms(c.timeout)) {}

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
    } catch (const std::exception& e) {
      result_.verdict = Verdict::ProtocolError;
      result_.reason = e.what();
    }
    if (process_) {
      if (!clean_end_) process_->kill_group();  // a failed or aborted case may have left calls blocked
      process_->wait_group_empty(kGroupTimeout);
      result_.adapter_output = process_->output();
    }
    if (result_.verdict == Verdict::Fail && case_.level == "cpython-specific" &&
        result_.implementation.value("family", std::string()) != "cpython")
      result_.verdict = Verdict::Differs;
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
    for (const auto& step : case_.steps) case_.expectation_for(step, semantics_);  // malformed cases fail before running
    setup();
    bool all_ok = true;
    for (std::size_t i = 0; i < case_.steps.size() && all_ok; ++i) all_ok = run_step(static_cast<int>(i) + 1, case_.steps[i]);
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
    json msg;
    try {
      msg = json::parse(m->text);
    } catch (const json::exception&) {
      std::string shown = m->text.substr(0, 80);
      throw Abort{Verdict::ProtocolError, "'" + m->from + "' sent a frame that is not JSON: '" + shown + "'"};
    }
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
      throw Abort{Verdict::ProtocolError, "'" + m->from + "' sent a message without a type: " + msg.dump().substr(0, 200)};
    if (msg.value("protocol", 0) != 1)
      throw Abort{Verdict::ProtocolError, "'" + m->from + "' speaks protocol " + msg.value("protocol", json()).dump() + ", not 1"};
    dispatch(m->from, msg);
  }

  void dispatch(const std::string& from, const json& msg) {
    const std::string type = msg["type"].get<std::string>();
    if (type == "hello") {
      const std::string role = msg.value("role", std::string());
      if (role == "controller" && from == "main") {
        hello_ = msg;
      } else if (role == "actor") {
        if (msg.value("name", std::string()) != from) throw Abort{Verdict::ProtocolError, "actor hello from '" + from + "' names another actor"};
        actor_pids_[from] = msg.value("pid", 0);
      } else {
        throw Abort{Verdict::ProtocolError, "hello from '" + from + "' with role '" + role + "'"};
      }
      return;
    }
    if (type == "ready" || type == "setup_failed" || type == "goodbye") {
      if (from != "main") throw Abort{Verdict::ProtocolError, "'" + type + "' from '" + from + "', not main"};
      controller_replies_[msg.value("re", -1)] = msg;
      return;
    }
    if (type == "started" || type == "result") {
      int re = msg.value("re", -1);
      auto it = calls_.find(re);
      if (it == calls_.end() || it->second.actor != from)
        throw Abort{Verdict::ProtocolError, "'" + type + "' from '" + from + "' answers no call of theirs (re " + std::to_string(re) + ")"};
      if (type == "started") {
        it->second.started = Clock::now();
      } else {
        if (!it->second.started) it->second.started = Clock::now();
        it->second.result = msg;
      }
      return;
    }
    throw Abort{Verdict::ProtocolError, "unexpected message type '" + type + "' from '" + from + "'"};
  }

  void check_alive() {
    if (auto status = process_->poll_exit(); status && !expect_exit_)
      throw Abort{Verdict::Crashed, "the adapter's main process ended (" + describe_wait_status(*status) + ") before the case ended"};
    for (const auto& [seq, call] : calls_) {
      if (call.result || !call.started) continue;
      auto pid = actor_pids_.find(call.actor);
      if (pid != actor_pids_.end() && pid->second > 0 && !AdapterProcess::process_alive(pid->second))
        throw Abort{Verdict::Crashed, "actor '" + call.actor + "' (pid " + std::to_string(pid->second) + ") died during a call"};
    }
  }

  template <class Pred>
  void wait_until(Pred done, std::chrono::milliseconds timeout, const std::string& what) {
    auto limit = std::min(Clock::now() + timeout, deadline_);
    while (!done()) {
      auto now = Clock::now();
      if (now >= limit) {
        if (now >= deadline_)
          throw Abort{Verdict::TimedOut, "the case deadline (" + format_float(case_.timeout) + " s) passed waiting for " + what};
        throw Abort{Verdict::TimedOut, "no " + what + " within " + format_float(std::chrono::duration<double>(timeout).count()) + " s"};
      }
      pump(std::chrono::duration_cast<std::chrono::milliseconds>(limit - now));
    }
  }

  int send(const std::string& to, json msg) {
    msg["protocol"] = 1;
    msg["seq"] = ++seq_;
    if (!channel_.send(to, msg)) throw Abort{Verdict::ProtocolError, "actor '" + to + "' is not connected"};
    return seq_;
  }

  // ---- phases ----

  void read_hello() {
    const json& h = *hello_;
    if (!h.contains("implementation") || !h["implementation"].is_object())
      throw Abort{Verdict::ProtocolError, "hello without implementation"};
    result_.implementation = h["implementation"];
    try {
      semantics_ = parse_version(h["implementation"].value("semantics", std::string()));
    } catch (const std::exception&) {
      throw Abort{Verdict::ProtocolError, "hello.implementation.semantics is not major.minor"};
    }
    const json caps = h.value("capabilities", json::object());
    for (const auto& t : caps.value("types", json::array())) types_.insert(t.get<std::string>());
    for (const auto& o : caps.value("ops", json::array())) ops_.insert(o.get<std::string>());
  }

  std::optional<std::string> skip_reason() const {
    if (case_.versions && !case_.versions->matches(semantics_))
      return "not applicable: the case applies to " + case_.versions->text() + ", the implementation follows " + semantics_.str();
    std::string missing;
    for (const auto& t : case_.required_types())
      if (!types_.contains(t)) missing += " " + t;
    for (const auto& o : case_.required_ops())
      if (!ops_.contains(o)) missing += " " + o;
    if (!missing.empty()) return "unsupported by the implementation:" + missing;
    return std::nullopt;
  }

  void setup() {
    json objects = json::array();
    for (const auto& o : case_.objects) {
      json j = {{"type", o.type}, {"args", o.args}, {"kwargs", o.kwargs}};
      if (o.names.size() == 1) j["name"] = o.names[0];
      else j["names"] = o.names;
      objects.push_back(j);
    }
    json actors = json::array();
    for (const auto& a : case_.actors) {
      json j = {{"name", a.name}, {"kind", a.kind}};
      if (!a.in.empty()) j["in"] = a.in;
      actors.push_back(j);
    }
    int seq = send("main", {{"type", "setup"}, {"case", case_.id}, {"objects", objects}, {"actors", actors}});
    wait_until([&] { return controller_replies_.contains(seq); }, kReadyTimeout, "reply to setup");
    const json& reply = controller_replies_[seq];
    if (reply["type"] == "setup_failed")
      throw Abort{Verdict::AdapterError, "setup failed: " + reply.value("error", json::object()).value("message", std::string("?"))};
    if (reply["type"] != "ready") throw Abort{Verdict::ProtocolError, "setup answered with '" + reply["type"].get<std::string>() + "'"};
    wait_until(
        [&] {
          return std::all_of(case_.actors.begin(), case_.actors.end(), [&](const ActorDecl& a) { return actor_pids_.contains(a.name); });
        },
        kReadyTimeout, "hello from every actor");
    actor_pids_["main"] = hello_->value("pid", 0);
  }

  StepRecord& record(int index, const Step& step, const Expectation* e) {
    StepRecord r;
    r.index = index;
    r.actor = step.actor;
    r.call = step.describe_call();
    if (step.detach) r.expected = "(detached; checked by its await)";
    else r.expected = e ? e->describe() : "completes without raising";
    result_.trace.push_back(r);
    return result_.trace.back();
  }

  json call_message(const Step& step) {
    json target = step.target.empty() ? json(nullptr) : json(step.target);
    return {{"type", "call"}, {"target", target}, {"method", step.method}, {"args", step.args}, {"kwargs", step.kwargs}};
  }

  bool run_step(int index, const Step& step) {
    const Expectation* e = case_.expectation_for(step, semantics_);
    StepRecord& rec = record(index, step, e);
    int seq;
    if (step.kind == Step::Kind::Await) {
      seq = labels_.at(step.label);
    } else {
      seq = send(step.actor, call_message(step));
      calls_[seq].actor = step.actor;
      if (step.method == "exit") exited_.insert(step.actor);
      if (step.detach) {
        labels_[step.label] = seq;
        rec.observed = "sent";
        return true;
      }
    }
    Call& call = calls_[seq];
    wait_until([&] { return call.started.has_value(); }, kStartedTimeout, "'started' from " + step.actor + " for step " + std::to_string(index));
    if (e && e->outcome == Expectation::Outcome::Blocks) {
      auto until = *call.started + seconds_to_ms(e->blocks);
      while (!call.result && Clock::now() < until) pump(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
      if (call.result) {
        rec.observed = outcome_text(*call.result) + " after " +
                       format_float(std::chrono::duration<double>(Clock::now() - *call.started).count()) + " s";
        rec.problem = "completed while it should have blocked";
        return false;
      }
      labels_[step.label] = seq;
      rec.observed = "still blocked after " + format_float(e->blocks) + " s";
      return true;
    }
    auto budget = e && e->max_elapsed ? seconds_to_ms(*e->max_elapsed) + kOutcomeGrace : std::chrono::milliseconds(kDefaultOutcome);
    auto limit = *call.started + budget;
    wait_until([&] { return call.result.has_value(); }, std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()),
               "outcome of step " + std::to_string(index) + " (" + rec.call + ")");
    const json& res = *call.result;
    if (res.value("status", std::string()) == "error") {
      const json err = res.value("error", json::object());
      throw Abort{Verdict::AdapterError, "step " + std::to_string(index) + " (" + rec.call + "): adapter error " +
                                             err.value("kind", std::string("?")) + ": " + err.value("message", std::string())};
    }
    Outcome outcome;
    try {
      outcome = outcome_from_result(res);
    } catch (const ValueError& err) {
      throw Abort{Verdict::ProtocolError, "step " + std::to_string(index) + ": malformed result: " + err.what()};
    }
    rec.observed = outcome.describe();
    rec.problem = check_outcome(e, outcome);
    return rec.problem.empty();
  }

  std::string outcome_text(const json& res) {
    try {
      return outcome_from_result(res).describe();
    } catch (const std::exception&) {
      return res.dump().substr(0, 200);
    }
  }

  void shutdown() {
    // Threads first: a process actor's threads must end before the process can.
    std::vector<const ActorDecl*> order;
    for (const auto& a : case_.actors)
      if (a.kind == "thread") order.push_back(&a);
    for (const auto& a : case_.actors)
      if (a.kind == "process") order.push_back(&a);
    for (const ActorDecl* a : order) {
      // An actor that never said hello was never started (a skipped case has no setup).
      if (!actor_pids_.contains(a->name) || exited_.contains(a->name)) continue;
      int seq = send(a->name, {{"type", "call"}, {"target", nullptr}, {"method", "exit"}, {"args", json::array()}, {"kwargs", json::object()}});
      calls_[seq].actor = a->name;
      wait_until([&] { return calls_[seq].result.has_value(); }, kExitTimeout, "reply to exit from actor '" + a->name + "'");
    }
    int seq = send("main", {{"type", "teardown"}});
    wait_until([&] { return controller_replies_.contains(seq); }, kExitTimeout, "goodbye");
    const json& bye = controller_replies_[seq];
    if (bye["type"] != "goodbye") throw Abort{Verdict::ProtocolError, "teardown answered with '" + bye["type"].get<std::string>() + "'"};
    expect_exit_ = true;
    if (!process_->wait_exit(kExitTimeout)) throw Abort{Verdict::TimedOut, "the adapter did not exit after goodbye"};
    if (!process_->wait_group_empty(kGroupTimeout)) {
      std::string pids;
      for (pid_t p : process_->live_members()) pids += " " + std::to_string(p);
      throw Abort{Verdict::Leaked, "processes of the adapter's group still alive after exit:" + pids};
    }
    check_cleanup(bye.value("cleanup", json::array()));
    clean_end_ = true;
  }

  void check_cleanup(const json& items) {
    for (const auto& item : items) {
      std::string path;
      if (item.value("kind", std::string()) == "file") path = item.value("path", std::string());
      else if (item.value("kind", std::string()) == "shm") path = "/dev/shm/" + item.value("name", std::string()).substr(item.value("name", std::string()).starts_with("/") ? 1 : 0);
      if (!path.empty() && access(path.c_str(), F_OK) == 0) throw Abort{Verdict::Leaked, "still there after the adapter exited: " + path};
    }
  }

  const Case& case_;
  const Implementation& impl_;
  zmq::context_t context_;
  ControlChannel channel_;
  Clock::time_point deadline_;
  std::optional<AdapterProcess> process_;
  CaseResult result_;
  std::optional<json> hello_;
  Version semantics_;
  std::set<std::string> types_, ops_, exited_;
  std::map<std::string, int> actor_pids_;
  std::map<int, json> controller_replies_;
  std::map<int, Call> calls_;
  std::map<std::string, int> labels_;
  int seq_ = 0;
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
  }
  return "?";
}

CaseResult run_case(const Case& c, const Implementation& impl) { return Session(c, impl).run(); }

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
  return out;
}

}  // namespace mpconform
