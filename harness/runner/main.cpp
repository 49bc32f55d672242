// mpconform: runs the conformance cases against implementations, one GoogleTest test per
// case × implementation, so that GoogleTest's filters, repeat, shuffle, output and sharding apply.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "adapter_check.hpp"
#include "adapter_process.hpp"
#include "case_loader.hpp"
#include "diff.hpp"
#include "implementations.hpp"
#include "known_divergences.hpp"
#include "limits.hpp"
#include "matrix.hpp"
#include "page.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "session.hpp"

namespace fs = std::filesystem;
using namespace mpconform;

namespace {

const char* kUsage = R"(usage: mpconform [options] [GoogleTest options]
       mpconform diff A B | --impl X --impl Y [options]   (see mpconform diff --help)
       mpconform page RESULTS.json --html OUT.html [--markdown OUT.md]   (see mpconform page --help)
       mpconform adapter-check 'COMMAND ARGS…'   (checks one adapter against the protocol; see mpconform adapter-check --help)

Runs the conformance cases against one or more implementations through their adapters.

options:
  --impl SPEC        an implementation to test (repeatable; default: cpython and cpp):
                       cpython[:PYTHON][,module=M][,start=fork|spawn|forkserver][,older=run][,label=L][,known=FILE]
                       cpp[:ADAPTER][,label=L][,known=FILE]
                       cmd:LABEL=COMMAND ...   any other adapter (see spec/adapter-protocol.md)
                     known=FILE: the cases it is known to fail (spec/known-divergences.md): such a
                     case is an expected divergence, a listed case that passes is newly passing
  --matrix FILE      every implementation of a matrix file (harness/matrix.yaml) whose needs exist
                     on this machine, with its known-divergence file; one line per entry skipped
  --cases DIR        the case tree (default: the source tree's cases/)
  --schema FILE      the case schema (default: the source tree's spec/case.schema.json)
  --jobs N           run N shards in parallel (default: the number of cores; 1 = in this process)
  --report FILE      write the results file: run metadata, and every verdict with its observed
                     trace and rerun command (spec/results.md); --results FILE is the same
  --strict           a failed recommended case (and a newly passing known divergence) fails
                     the run too; without it each is counted on its own and the run passes
  --check            only read and validate the cases; exit 1 if any is malformed
  --help             this text

bounds (a case file or adapter message past one is rejected with the reason; defaults shown):
  --max-case-bytes N          size of one case file (1048576)
  --max-generated-items N     YAML nodes (aliases expanded) and $range items of one case (1000000)
  --max-payload-bytes N       size of one $payload (268435456)
  --max-case-nesting N        YAML nesting depth of a case file (64)
  --max-case-timeout S        a case's timeout, seconds (600)
  --max-frame-bytes N         one frame from an adapter (67108864)
  --max-message-nesting N     JSON nesting depth of one adapter message (256)

Each test is named IMPL.CASE_ID, e.g. cpython.queue.fifo_single_producer, so
--gtest_filter='cpython.queue.*' runs the queue cases against CPython. --gtest_repeat,
--gtest_shuffle, --gtest_output=xml:FILE|json:FILE and sharding work as usual; with --jobs N
each shard writes its own output file (FILE gets .shardK before its extension).

Each case's adapter gets a private /dev/shm and /tmp where the runner may create a mount namespace
(root, or unprivileged user namespaces); the first line of the output says which isolation is in
force. MPCONFORM_ISOLATION=none turns it off: the runner then compares /dev/shm before and after
each case (see spec/adapter-protocol.md, Isolation and cleanup).

Output: one progress line (cases done of the total, failures so far, the case running longest,
across shards), rewritten in place on a terminal and a plain line at most every 5 s elsewhere;
then one line per case that did not pass (verdict, file:line, what was expected and what
happened, the rerun command), the summary with each verdict class counted on its own, and the
full traces, a traceback that several cases printed shown once with their count.
MPCONFORM_PROGRESS=tty|lines|off chooses the progress line; =gtest prints GoogleTest's own output
instead (each shard's, after it ends).
)";

struct Options {
  std::vector<std::string> impls;
  fs::path cases = fs::path(MPC_SOURCE_DIR) / "cases";
  fs::path schema = fs::path(MPC_SOURCE_DIR) / "spec" / "case.schema.json";
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  std::string report;
  std::string matrix;
  bool check_only = false;
  bool strict = false;  // a failed recommended case fails the run
  Limits limits;
};

// Reports are written with invalid UTF-8 replaced, so that no byte an adapter printed can stop
// the runner while it writes verdicts (the session also cleans what it keeps).
std::string dump_json(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// A shard's verdicts, one JSON line each as they are given, flushed: a shard that dies loses
// none of the verdicts it gave, and the line `started` names the case it died in.
class ShardJournal {
 public:
  void open(const char* path) { out_.open(path, std::ios::out | std::ios::trunc); }
  bool is_open() const { return out_.is_open(); }
  void write(const json& line) {
    std::lock_guard lock(mutex_);
    out_ << dump_json(line) << "\n" << std::flush;
  }

 private:
  std::mutex mutex_;
  std::ofstream out_;
};

std::mutex g_records_mutex;
std::vector<Record> g_records;
ShardJournal g_journal;
std::string g_self;  // how to run this program again, for rerun commands

void add_record(const Record& rec) {
  {
    std::lock_guard lock(g_records_mutex);
    g_records.push_back(rec);
  }
  if (g_journal.is_open()) g_journal.write({{"record", record_to_json(rec)}, {"hello", rec.implementation}});
}

// Tells the journal which tests this shard will run and which one it is in.
class JournalListener : public testing::EmptyTestEventListener {
  void OnTestIterationStart(const testing::UnitTest& unit, int) override {
    json planned = json::array();
    for (int i = 0; i < unit.total_test_suite_count(); ++i) {
      const testing::TestSuite* suite = unit.GetTestSuite(i);
      for (int j = 0; j < suite->total_test_count(); ++j)
        if (suite->GetTestInfo(j)->should_run())
          planned.push_back(std::string(suite->name()) + "." + suite->GetTestInfo(j)->name());
    }
    g_journal.write({{"planned", planned}});
  }
  void OnTestStart(const testing::TestInfo& info) override {
    g_journal.write({{"started", std::string(info.test_suite_name()) + "." + info.name()}});
  }
  // For the parent's progress line (a malformed file's test gives no record: this ends it).
  void OnTestEnd(const testing::TestInfo& info) override {
    g_journal.write(
        {{"finished", std::string(info.test_suite_name()) + "." + info.name()}, {"failed", info.result()->Failed()}});
  }
};

// The progress line of a run in this process (--jobs 1, or sharded by the user).
class ProgressListener : public testing::EmptyTestEventListener {
 public:
  explicit ProgressListener(Progress& progress) : progress_(progress) {}
  void OnTestIterationStart(const testing::UnitTest& unit, int) override {
    progress_.planned(unit.test_to_run_count());
  }
  void OnTestStart(const testing::TestInfo& info) override {
    progress_.started("", std::string(info.test_suite_name()) + "." + info.name(), Progress::Clock::now());
  }
  void OnTestEnd(const testing::TestInfo& info) override { progress_.finished("", info.result()->Failed()); }

 private:
  Progress& progress_;
};

// The terminal's width for the live progress line (COLUMNS, else 100, when stdout is no terminal).
int terminal_columns() {
  struct winsize w {};
  if (ioctl(1, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  const char* columns = std::getenv("COLUMNS");
  return columns && std::atoi(columns) > 0 ? std::atoi(columns) : 100;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A case × implementation as the results file names it, before it has a verdict.
Record planned_record(const Case& c, const Implementation& impl, const fs::path& cases) {
  Record r{impl.label, c.id, c.level};
  fs::path rel = fs::path(c.file).lexically_relative(cases);
  r.file = rel.empty() || rel.string().starts_with("..") ? c.file : rel.string();
  r.title = c.title;
  r.spec = c.spec;
  r.tags = c.tags;
  r.rerun = shell_quote(g_self) + " --cases " + shell_quote(fs::absolute(cases).string()) + " --jobs 1 --impl " +
            shell_quote(impl.spec) + " --gtest_filter=" + shell_quote(impl.label + "." + c.id);
  return r;
}

// Each implementation's known-divergence file, by label.
std::map<std::string, KnownDivergences> g_known;

class CaseTest : public testing::Test {
 public:
  CaseTest(const Case* c, const Implementation* impl, const Options* options)
      : case_(c), impl_(impl), options_(options) {}

  void TestBody() override {
    CaseResult r = run_case(*case_, *impl_, options_->limits);
    Record rec = planned_record(*case_, *impl_, options_->cases);
    rec.verdict = r.verdict;
    rec.reason = r.reason;
    rec.seconds = r.seconds;
    rec.implementation = r.implementation;
    rec.trace = trace_to_json(r.trace);
    if (r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped) rec.details = format_result(*case_, r);
    // A failure points at the step that failed (or was running when the case was ended), else at the case file.
    for (const auto& s : r.trace)
      if (!s.problem.empty() && s.line > 0) rec.line = s.line;
    if (rec.line == 1 && r.verdict != Verdict::Pass && !r.trace.empty() && r.trace.back().observed.empty() &&
        r.trace.back().line > 0)
      rec.line = r.trace.back().line;
    if (auto known = g_known.find(impl_->label); known != g_known.end())
      if (auto k = reclassify(known->second, case_->id, r.verdict, r.reason, r.implementation)) {
        rec.verdict = k->verdict;
        rec.reason = k->reason;
        rec.known = k->known;
      }
    add_record(rec);
    RecordProperty("verdict", verdict_name(rec.verdict));
    switch (rec.verdict) {
      case Verdict::Pass: return;
      case Verdict::ExpectedDivergence: GTEST_SKIP() << "expected divergence: " << rec.reason << "\n" << rec.details;
      case Verdict::NewlyPassing:  // not a failure, but said so that the list gets pruned
        std::cout << "mpconform: " << impl_->label << "." << case_->id << " newly passing: " << rec.reason << std::endl;
        return;
      case Verdict::Skipped: GTEST_SKIP() << r.reason;
      case Verdict::Differs: GTEST_SKIP() << "differs from CPython on a cpython-specific case:\n" << rec.details;
      case Verdict::RecommendedFail:
        if (!options_->strict)
          GTEST_SKIP() << "failed a recommended behaviour (a failure with --strict):\n" << rec.details;
        [[fallthrough]];
      default: ADD_FAILURE_AT(case_->file.c_str(), rec.line) << format_result(*case_, r) << "  rerun: " << rec.rerun;
    }
  }

 private:
  const Case* case_;
  const Implementation* impl_;
  const Options* options_;
};

class MalformedCaseTest : public testing::Test {
 public:
  explicit MalformedCaseTest(std::string error) : error_(std::move(error)) {}
  // The verdict is counted by main() from the loader's errors, filtered or not (a filter must
  // never hide a malformed file); this test shows it in GoogleTest's own output.
  void TestBody() override { ADD_FAILURE() << "malformed case file: " << error_; }

 private:
  std::string error_;
};

std::string sanitize_test_name(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

// A positive whole number (or, for seconds, a positive finite number) for a bound option.
std::uint64_t positive_count(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || n == 0 || text.starts_with("-"))
    throw std::invalid_argument(name + " takes a positive whole number, not '" + text + "'");
  return n;
}

// Sets one of the --max-* bounds if `a` is one; false if it is not a bound option.
template <class Value>
bool bound_option(const std::string& a, Value value, Limits& limits) {
  auto is = [&](const char* name) { return a == name || a.starts_with(std::string(name) + "="); };
  auto count = [&](const char* name) { return positive_count(name, value(name)); };
  auto depth = [&](const char* name) {
    auto n = count(name);
    if (n > 100000) throw std::invalid_argument(std::string(name) + " is at most 100000");
    return static_cast<int>(n);
  };
  if (is("--max-case-bytes"))
    limits.case_file_bytes = count("--max-case-bytes");
  else if (is("--max-generated-items"))
    limits.generated_items = count("--max-generated-items");
  else if (is("--max-payload-bytes"))
    limits.payload_bytes = count("--max-payload-bytes");
  else if (is("--max-case-nesting"))
    limits.case_nesting = depth("--max-case-nesting");
  else if (is("--max-frame-bytes"))
    limits.frame_bytes = count("--max-frame-bytes");
  else if (is("--max-message-nesting"))
    limits.message_nesting = depth("--max-message-nesting");
  else if (is("--max-case-timeout")) {
    std::string text = value("--max-case-timeout");
    double s = 0;
    try {
      std::size_t used = 0;
      s = std::stod(text, &used);
      if (used != text.size()) s = 0;
    } catch (const std::exception&) {
    }
    if (!(s > 0 && s <= 86400))
      throw std::invalid_argument("--max-case-timeout takes seconds in (0, 86400], not '" + text + "'");
    limits.case_timeout = s;
  } else {
    return false;
  }
  return true;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool impls_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& name) -> std::string {
      if (a.starts_with(name + "=")) return a.substr(name.size() + 1);
      if (i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--impl" || a.starts_with("--impl=")) {
      o.impls.push_back(value("--impl"));
      impls_given = true;
    } else if (a == "--cases" || a.starts_with("--cases=")) {
      o.cases = value("--cases");
    } else if (a == "--schema" || a.starts_with("--schema=")) {
      o.schema = value("--schema");
    } else if (a == "--jobs" || a.starts_with("--jobs=")) {
      int n = std::stoi(value("--jobs"));
      if (n < 1) throw std::invalid_argument("--jobs must be at least 1");
      o.jobs = static_cast<unsigned>(n);
    } else if (a == "--report" || a.starts_with("--report=")) {
      o.report = value("--report");
    } else if (a == "--results" || a.starts_with("--results=")) {
      o.report = value("--results");
    } else if (a == "--matrix" || a.starts_with("--matrix=")) {
      o.matrix = value("--matrix");
    } else if (a == "--check") {
      o.check_only = true;
    } else if (a == "--strict") {
      o.strict = true;
    } else if (!bound_option(a, value, o.limits)) {
      throw std::invalid_argument("unknown option '" + a + "' (see --help)");
    }
  }
  if (!impls_given && o.matrix.empty()) o.impls = {"cpython", "cpp"};
  return o;
}

std::string shard_output_flag(const std::string& flag, unsigned shard) {
  // --gtest_output=xml:path/file.xml -> xml:path/file.shardK.xml
  std::string value = flag.substr(std::string("--gtest_output=").size());
  auto colon = value.find(':');
  if (colon == std::string::npos) return flag;
  std::string path = value.substr(colon + 1);
  auto dot = path.rfind('.');
  std::string tag = ".shard" + std::to_string(shard);
  path = dot == std::string::npos || path.find('/', dot) != std::string::npos
             ? path + tag
             : path.substr(0, dot) + tag + path.substr(dot);
  return "--gtest_output=" + value.substr(0, colon + 1) + path;
}

// The tests a run registers, by GoogleTest name: what a shard that dies is charged with.
using TestIndex = std::map<std::string, Record>;

// A shard's journal: the verdicts it gave, and `crashed` for each test it planned and did not
// finish, the one it was in named apart. A line cut short by the shard's death is skipped.
std::vector<Record> read_journal(const std::string& path, int status, unsigned shard, const TestIndex& tests) {
  std::vector<Record> records;
  std::map<std::string, int> unfinished;  // name -> planned count minus verdicts given
  std::string in_progress, line;
  std::ifstream in(path);
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("planned")) {
      for (const auto& name : j["planned"]) ++unfinished[name.get<std::string>()];
    } else if (j.contains("started")) {
      in_progress = j["started"].get<std::string>();
    } else if (j.contains("finished")) {
      // A malformed file's test gives no record (main counts the loader's errors); it ran.
      const std::string name = j["finished"].get<std::string>();
      if (name == in_progress && name.starts_with("malformed.")) {
        --unfinished[name];
        in_progress.clear();
      }
    } else if (j.contains("record")) {
      Record r = record_from_json(j["record"]);
      r.implementation = j.value("hello", json::object());
      --unfinished[r.impl + "." + r.case_id];
      records.push_back(std::move(r));
      in_progress.clear();
    }
  }
  const std::string how = describe_wait_status(status);
  for (const auto& [name, count] : unfinished) {
    auto t = tests.find(name);
    for (int i = 0; i < count; ++i) {
      Record r = t != tests.end() ? t->second : Record{name.substr(0, name.find('.')), name.substr(name.find('.') + 1)};
      r.verdict = Verdict::Crashed;
      r.reason = name == in_progress && i == 0
                     ? "the runner's shard " + std::to_string(shard) + " ended (" + how + ") during this case"
                     : "the runner's shard " + std::to_string(shard) + " ended (" + how + ") before this case ran";
      r.details = r.case_id + "\n  verdict: crashed: " + r.reason + "\n";
      r.trace = json::array();  // the shard's trace of this case died with it
      records.push_back(std::move(r));
    }
  }
  return records;
}

// What a shard has appended to its journal since the last look, line by line, for the progress
// line while the shard runs (read_journal reads the whole file once it has ended).
class JournalTail {
 public:
  explicit JournalTail(std::string path) : path_(std::move(path)) {}
  ~JournalTail() {
    if (fd_ >= 0) close(fd_);
  }
  JournalTail(const JournalTail&) = delete;
  JournalTail& operator=(const JournalTail&) = delete;

  // The whole lines written since the last call (none while the shard has not created the file).
  std::vector<json> read_new() {
    std::vector<json> lines;
    if (fd_ < 0) fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return lines;
    char buf[65536];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) pending_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
      json j = json::parse(pending_.substr(start, end - start), nullptr, false);
      if (j.is_object()) lines.push_back(std::move(j));
    }
    pending_.erase(0, start);
    return lines;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;
};

// Feeds a shard's journal lines to the progress line.
void show_progress(Progress& progress, const std::string& slot, const std::vector<json>& lines) {
  for (const auto& j : lines) {
    if (j.contains("planned") && j["planned"].is_array())
      progress.planned(static_cast<int>(j["planned"].size()));
    else if (j.contains("started") && j["started"].is_string())
      progress.started(slot, j["started"], Progress::Clock::now());
    else if (j.contains("finished"))
      progress.finished(slot, j.value("failed", false));
  }
}

// Runs `jobs` copies of this program, each one GoogleTest shard, and merges their verdicts. The
// shards' own output is printed only if they print any (GoogleTest's printer is theirs only with
// MPCONFORM_PROGRESS=gtest); while they run, their journals feed the progress line.
std::vector<Record> run_sharded(const std::vector<std::string>& original_args, const Options& o, const TestIndex& tests,
                                int& worst, Progress& progress) {
  struct Shard {
    pid_t pid;
    std::string output_path, records_path;
    std::unique_ptr<JournalTail> tail;
    std::optional<int> status;
  };
  std::vector<Shard> shards;
  for (unsigned k = 0; k < o.jobs; ++k) {
    std::string base = "/tmp/mpconform-shard-" + std::to_string(getpid()) + "-" + std::to_string(k);
    Shard s{-1, base + ".out", base + ".jsonl", nullptr, std::nullopt};
    unlink(s.records_path.c_str());  // a stale journal of the same name must not be read as this shard's
    s.tail = std::make_unique<JournalTail>(s.records_path);
    std::vector<std::string> args = {"/proc/self/exe"};
    for (std::size_t i = 1; i < original_args.size(); ++i) {
      const std::string& a = original_args[i];
      args.push_back(a.starts_with("--gtest_output=") ? shard_output_flag(a, k) : a);
    }
    s.pid = fork();
    if (s.pid == 0) {
      int fd = open(s.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("GTEST_TOTAL_SHARDS", std::to_string(o.jobs).c_str(), 1);
      setenv("GTEST_SHARD_INDEX", std::to_string(k).c_str(), 1);
      setenv("MPCONFORM_SHARD_RECORDS", s.records_path.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    shards.push_back(std::move(s));
  }
  for (bool running = true; running;) {
    running = false;
    for (unsigned k = 0; k < shards.size(); ++k) {
      Shard& s = shards[k];
      if (!s.status) {
        int status = 0;
        pid_t got = waitpid(s.pid, &status, WNOHANG);
        if (got == s.pid || (got < 0 && errno != EINTR)) {
          s.status = got == s.pid ? status : 0;
          if (!WIFEXITED(*s.status))
            progress.say("mpconform: shard " + std::to_string(k + 1) + " ended with " +
                         describe_wait_status(*s.status) + ": the cases it had not finished are counted as crashed\n");
        } else {
          running = true;
        }
      }
      show_progress(progress, "shard " + std::to_string(k),
                    s.tail->read_new());  // after the wait: a shard's last lines too
    }
    progress.tick(Progress::Clock::now());
    if (running) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  progress.finish();
  std::vector<Record> records;
  for (unsigned k = 0; k < shards.size(); ++k) {
    const int status = *shards[k].status;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    worst = std::max(worst, code);
    std::ifstream out(shards[k].output_path);
    std::ostringstream said;
    said << out.rdbuf();
    if (!said.str().empty())
      std::cout << "==== shard " << k + 1 << " of " << shards.size() << " printed ====\n" << said.str() << std::flush;
    for (auto& r : read_journal(shards[k].records_path, status, k + 1, tests)) records.push_back(std::move(r));
    unlink(shards[k].output_path.c_str());
    unlink(shards[k].records_path.c_str());
  }
  // Every shard has ended, so any process still descended from this one was orphaned by a shard
  // that died mid-case (its adapter's children come back here: this process is a subreaper).
  if (std::string orphans = AdapterProcess::end_orphans(); !orphans.empty()) {
    std::cout << "mpconform: ended processes left by a shard that died: " << orphans << "\n";
    worst = std::max(worst, 1);
  }
  return records;
}

// Every verdict, malformed files included (whatever the filter), into the report and summary.
int finish_run(std::vector<Record> records, const std::vector<std::string>& malformed, const Options& o, RunInfo run,
               const std::vector<Implementation>& impls, double wall, int rc) {
  if (!o.report.empty()) {
    run.wall_seconds = wall;
    std::vector<ImplInfo> infos;
    for (const auto& impl : impls) infos.push_back({impl.label, impl.spec});
    std::ofstream out(o.report);
    out << dump_json(results_document(run, infos, records, malformed), 2) << "\n";
    if (!out) std::cerr << "mpconform: could not write the results file " << o.report << "\n";
  }
  // Counted in the summary as failures; the results file lists them under "malformed".
  for (const auto& err : malformed)
    records.push_back(Record{"malformed", err, "", Verdict::CaseError, err, 0, json::object(), err});
  std::cout << comparison(records);
  // A person reads one line per case that did not pass, then the totals, then the full traces.
  std::vector<const Record*> listed;
  for (const auto& r : records)
    if (r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped && r.verdict != Verdict::ExpectedDivergence &&
        r.impl != "malformed")
      listed.push_back(&r);
  std::stable_sort(listed.begin(), listed.end(), [](const Record* a, const Record* b) {
    return std::tie(a->impl, a->case_id) < std::tie(b->impl, b->case_id);
  });
  for (const Record* r : listed) std::cout << failure_line(*r, o.cases.string()) << "\n";
  for (const auto& err : malformed) std::cout << "mpconform: malformed case file: " << err << "\n";
  const bool any_failed =
      std::any_of(records.begin(), records.end(), [&](const Record& r) { return fails_run(r.verdict, o.strict); });
  std::cout << "mpconform: " << summary_line(tally(records), wall) << (o.strict ? " (--strict)" : "") << std::endl;
  std::vector<Record> traced;
  for (const Record* r : listed) traced.push_back(*r);
  if (std::string traces = full_traces(traced); !traces.empty()) std::cout << "\n" << traces << std::flush;
  return std::max(rc, any_failed ? 1 : 0);
}

RunInfo run_info(RunInfo run, const Options& o) {
  run.cases_dir = o.cases.string();
  run.jobs = o.jobs;
  run.isolation = AdapterProcess::isolation_description();
  run.limits = o.limits;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> original_args(argv, argv + argc);
  RunInfo run;
  run.command = original_args;
  run.started = utc_iso8601(std::time(nullptr));
  if (argc > 1 && std::string(argv[1]) == "diff") {
    std::error_code ec;
    std::string self = fs::read_symlink("/proc/self/exe", ec).string();
    return diff_main(std::vector<std::string>(argv + 2, argv + argc), self.empty() ? argv[0] : self);
  }
  if (argc > 1 && std::string(argv[1]) == "page") return page_main(std::vector<std::string>(argv + 2, argv + argc));
  if (argc > 1 && std::string(argv[1]) == "adapter-check")
    return adapter_check_main(std::vector<std::string>(argv + 2, argv + argc), fs::path(MPC_SOURCE_DIR) / "spec");
  testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv
  Options o;
  try {
    o = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  ProgressStyle style;
  try {
    style = progress_style_from_env();
  } catch (const std::invalid_argument& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  Progress progress(std::cout, style, terminal_columns());
  std::error_code ec;
  g_self = fs::read_symlink("/proc/self/exe", ec).string();
  if (g_self.empty()) g_self = original_args[0];
  AdapterPaths paths{(fs::path(MPC_SOURCE_DIR) / "harness" / "adapters" / "cpython" / "adapter.py").string(),
                     MPC_CPP_ADAPTER};
  if (!o.matrix.empty()) {
    try {
      MatrixPlan plan = plan_matrix(o.matrix, {{"cpp_adapter", MPC_CPP_ADAPTER}, {"source", MPC_SOURCE_DIR}});
      if (!std::getenv("MPCONFORM_SHARD_RECORDS"))  // said once, by the parent of shards
        for (const auto& line : plan.skipped) std::cout << "mpconform: matrix: " << line << std::endl;
      for (const auto& e : plan.run) o.impls.push_back(matrix_impl_spec(e));
    } catch (const std::invalid_argument& e) {
      std::cerr << "mpconform: " << e.what() << "\n";
      return 2;
    }
    if (o.impls.empty()) {
      std::cerr << "mpconform: no implementation of the matrix " << o.matrix << " exists on this machine\n";
      return 2;
    }
  }

  std::vector<Implementation> impls;
  std::vector<std::string> notes;  // e.g. how an interpreter older than the spec is judged
  try {
    impls = parse_implementations(
        o.impls, paths, [](const std::string& python) { return query_interpreter(python); }, notes);
  } catch (const std::invalid_argument& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  if (!std::getenv("MPCONFORM_SHARD_RECORDS"))  // said once, by the parent of shards
    for (const auto& n : notes) std::cout << "mpconform: " << n << std::endl;

  for (const auto& impl : impls) {
    const std::string& exe = impl.command[0];
    bool found = exe.find('/') != std::string::npos
                     ? access(exe.c_str(), X_OK) == 0
                     : std::system(("command -v '" + exe + "' >/dev/null 2>&1").c_str()) == 0;
    if (!found) {
      std::cerr << "mpconform: the adapter of '" << impl.spec << "' cannot be run: " << exe << " is not an executable"
                << (impl.label == "cpp" ? " (build it: cmake --build build)" : "") << "\n";
      return 2;
    }
  }

  std::unique_ptr<CaseLoader> loader;
  CaseLoader::Loaded loaded;
  try {
    loader = std::make_unique<CaseLoader>(o.schema, o.limits);
    if (!fs::is_directory(o.cases)) throw std::runtime_error("no case directory " + o.cases.string());
    loaded = loader->load_tree(o.cases);
  } catch (const std::exception& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  {
    std::set<std::string> case_ids;
    for (const auto& c : loaded.cases) case_ids.insert(c.id);
    try {
      for (const auto& impl : impls)
        if (!impl.known_divergences.empty())
          g_known[impl.label] = read_known_divergences(impl.known_divergences, case_ids, o.schema.parent_path());
    } catch (const std::invalid_argument& e) {
      std::cerr << "mpconform: " << e.what() << "\n";
      return 2;
    }
  }
  if (o.check_only) {
    for (const auto& e : loaded.errors) std::cout << e << "\n";
    std::cout << "mpconform: " << loaded.cases.size() << " cases valid, " << loaded.errors.size() << " malformed\n";
    return loaded.errors.empty() ? 0 : 1;
  }

  const char* journal = std::getenv("MPCONFORM_SHARD_RECORDS");
  const bool user_sharding = std::getenv("GTEST_TOTAL_SHARDS") != nullptr;
  AdapterProcess::become_subreaper();  // also in the parent of shards: a dead shard's orphans come back here
  if (o.jobs > 1 && !journal && !user_sharding && !testing::GTEST_FLAG(list_tests)) {
    TestIndex tests;
    for (const auto& impl : impls)
      for (const auto& c : loaded.cases) tests[impl.label + "." + c.id] = planned_record(c, impl, o.cases);
    auto t0 = std::chrono::steady_clock::now();
    std::cout << "mpconform: " << AdapterProcess::isolation_description()
              << std::endl;  // leftovers are checked per case
    int worst = 0;
    auto records = run_sharded(original_args, o, tests, worst, progress);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return finish_run(std::move(records), loaded.errors, o, run_info(run, o), impls, wall, worst);
  }

  for (const auto& err : loaded.errors) {
    std::string name = sanitize_test_name(err.substr(0, err.find(':')));
    testing::RegisterTest("malformed", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [err]() -> testing::Test* { return new MalformedCaseTest(err); });
  }
  for (const auto& impl : impls) {
    for (const auto& c : loaded.cases) {
      const Case* cp = &c;
      const Implementation* ip = &impl;
      const Options* op = &o;
      testing::RegisterTest(impl.label.c_str(), c.id.c_str(), nullptr, nullptr, c.file.c_str(), 1,
                            [cp, ip, op]() -> testing::Test* { return new CaseTest(cp, ip, op); });
    }
  }
  testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
  // The run's output is the runner's own (progress, one line per failure, summary, traces), not
  // GoogleTest's per-test lines and totals, which a shard would print as if they were the run's.
  if (style != ProgressStyle::GTest && !testing::GTEST_FLAG(list_tests))
    delete listeners.Release(listeners.default_result_printer());
  if (journal) {
    g_journal.open(journal);
    listeners.Append(new JournalListener);
  } else if (!testing::GTEST_FLAG(list_tests)) {
    listeners.Append(new ProgressListener(progress));
  }

  auto t0 = std::chrono::steady_clock::now();
  if (!journal && !testing::GTEST_FLAG(list_tests))
    std::cout << "mpconform: " << AdapterProcess::isolation_description()
              << std::endl;  // leftovers are checked per case
  std::atomic<bool> tests_done = false;
  std::thread ticker;  // the live line moves on while a case runs (its time, on a terminal)
  if (!journal && !testing::GTEST_FLAG(list_tests))
    ticker = std::thread([&] {
      while (!tests_done) {
        progress.tick(Progress::Clock::now());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  int rc = RUN_ALL_TESTS();
  tests_done = true;
  if (ticker.joinable()) ticker.join();
  progress.finish();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (testing::GTEST_FLAG(list_tests) || journal) return rc;  // a shard's parent sums up
  return finish_run(g_records, loaded.errors, o, run_info(run, o), impls, wall, rc);
}
