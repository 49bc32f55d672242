// mpconform: runs the conformance cases against implementations, one GoogleTest test per
// case × implementation, so that GoogleTest's filters, repeat, shuffle, output and sharding apply.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "adapter_process.hpp"
#include "case_loader.hpp"
#include "implementations.hpp"
#include "report.hpp"
#include "session.hpp"

namespace fs = std::filesystem;
using namespace mpconform;

namespace {

const char* kUsage = R"(usage: mpconform [options] [GoogleTest options]

Runs the conformance cases against one or more implementations through their adapters.

options:
  --impl SPEC        an implementation to test (repeatable; default: cpython and cpp):
                       cpython[:PYTHON][,module=M][,start=fork|spawn|forkserver][,label=L]
                       cpp[:ADAPTER][,label=L]
                       cmd:LABEL=COMMAND ...   any other adapter (see spec/adapter-protocol.md)
  --cases DIR        the case tree (default: the source tree's cases/)
  --schema FILE      the case schema (default: the source tree's spec/case.schema.json)
  --jobs N           run N shards in parallel (default: the number of cores; 1 = in this process)
  --report FILE      write every verdict, with traces, as JSON
  --check            only read and validate the cases; exit 1 if any is malformed
  --help             this text

Each test is named IMPL.CASE_ID, e.g. cpython.queue.fifo_single_producer, so
--gtest_filter='cpython.queue.*' runs the queue cases against CPython. --gtest_repeat,
--gtest_shuffle, --gtest_output=xml:FILE|json:FILE and sharding work as usual; with --jobs N
each shard writes its own output file (FILE gets .shardK before its extension).
)";

struct Options {
  std::vector<std::string> impls;
  fs::path cases = fs::path(MPC_SOURCE_DIR) / "cases";
  fs::path schema = fs::path(MPC_SOURCE_DIR) / "spec" / "case.schema.json";
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  std::string report;
  bool check_only = false;
};

std::mutex g_records_mutex;
std::vector<Record> g_records;
std::string g_self;  // how to run this program again, for rerun commands

class CaseTest : public testing::Test {
 public:
  CaseTest(const Case* c, const Implementation* impl, const fs::path* cases) : case_(c), impl_(impl), cases_(cases) {}

  void TestBody() override {
    CaseResult r = run_case(*case_, *impl_);
    Record rec{impl_->label, case_->id, case_->level, r.verdict, r.reason, r.seconds, r.implementation, ""};
    if (r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped) rec.details = format_result(*case_, r);
    {
      std::lock_guard lock(g_records_mutex);
      g_records.push_back(rec);
    }
    RecordProperty("verdict", verdict_name(r.verdict));
    switch (r.verdict) {
      case Verdict::Pass:
        return;
      case Verdict::Skipped:
        GTEST_SKIP() << r.reason;
      case Verdict::Differs:
        GTEST_SKIP() << "differs from CPython on a cpython-specific case:\n" << rec.details;
      default:
        ADD_FAILURE() << format_result(*case_, r) << "  rerun: " << g_self << " --cases " << cases_->string() << " --jobs 1 --impl '"
                      << impl_->spec << "' --gtest_filter='" << impl_->label << "." << case_->id << "'";
    }
  }

 private:
  const Case* case_;
  const Implementation* impl_;
  const fs::path* cases_;
};

class MalformedCaseTest : public testing::Test {
 public:
  explicit MalformedCaseTest(std::string error) : error_(std::move(error)) {}
  void TestBody() override {
    {
      std::lock_guard lock(g_records_mutex);
      g_records.push_back(Record{"malformed", error_, "", Verdict::CaseError, error_, 0, json::object(), error_});
    }
    ADD_FAILURE() << "malformed case file: " << error_;
  }

 private:
  std::string error_;
};

// Names in /dev/shm: POSIX semaphores (sem.*) and shared-memory segments of every implementation.
std::set<std::string> shm_entries() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev/shm", ec)) out.insert(e.path().filename().string());
  return out;
}

// What appeared in /dev/shm during the run and is still there: a case left a semaphore or segment.
int report_shm_leaks(const std::set<std::string>& before) {
  std::string leaked;
  for (const auto& name : shm_entries())
    if (!before.contains(name)) leaked += " /dev/shm/" + name;
  if (leaked.empty()) return 0;
  std::cout << "mpconform: left behind by the run (semaphores or shared memory):" << leaked << std::endl;
  return 1;
}

std::string sanitize_test_name(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
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
    } else if (a == "--check") {
      o.check_only = true;
    } else {
      throw std::invalid_argument("unknown option '" + a + "' (see --help)");
    }
  }
  if (!impls_given) o.impls = {"cpython", "cpp"};
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
  path = dot == std::string::npos || path.find('/', dot) != std::string::npos ? path + tag : path.substr(0, dot) + tag + path.substr(dot);
  return "--gtest_output=" + value.substr(0, colon + 1) + path;
}

// Runs `jobs` copies of this program, each one GoogleTest shard, and merges their verdicts.
int run_sharded(const std::vector<std::string>& original_args, const Options& o) {
  auto t0 = std::chrono::steady_clock::now();
  const auto shm_before = shm_entries();
  struct Shard {
    pid_t pid;
    std::string output_path, records_path;
  };
  std::vector<Shard> shards;
  for (unsigned k = 0; k < o.jobs; ++k) {
    std::string base = "/tmp/mpconform-shard-" + std::to_string(getpid()) + "-" + std::to_string(k);
    Shard s{-1, base + ".out", base + ".json"};
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
    shards.push_back(s);
  }
  int worst = 0;
  std::vector<Record> records;
  for (unsigned k = 0; k < shards.size(); ++k) {
    int status = 0;
    waitpid(shards[k].pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    worst = std::max(worst, code);
    std::ifstream out(shards[k].output_path);
    std::cout << "==== shard " << k + 1 << " of " << shards.size() << " ====\n" << out.rdbuf() << std::flush;
    std::ifstream rec(shards[k].records_path);
    if (rec) {
      try {
        for (const auto& j : json::parse(rec)) records.push_back(record_from_json(j));
      } catch (const json::exception& e) {
        std::cout << "mpconform: shard " << k + 1 << " left an unreadable record file: " << e.what() << "\n";
        worst = std::max(worst, 1);
      }
    } else if (code != 0) {
      std::cout << "mpconform: shard " << k + 1 << " ended with " << describe_wait_status(status) << " and no records\n";
    }
    unlink(shards[k].output_path.c_str());
    unlink(shards[k].records_path.c_str());
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.report.empty()) {
    json all = json::array();
    for (const auto& r : records) all.push_back(record_to_json(r));
    std::ofstream(o.report) << all.dump(2) << "\n";
  }
  std::cout << comparison(records);
  std::cout << "mpconform: " << summary_line(tally(records), wall) << std::endl;
  return std::max(worst, report_shm_leaks(shm_before));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> original_args(argv, argv + argc);
  testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv
  Options o;
  try {
    o = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  std::error_code ec;
  g_self = fs::read_symlink("/proc/self/exe", ec).string();
  if (g_self.empty()) g_self = original_args[0];
  AdapterPaths paths{(fs::path(MPC_SOURCE_DIR) / "harness" / "adapters" / "cpython" / "adapter.py").string(), MPC_CPP_ADAPTER};

  std::vector<Implementation> impls;
  try {
    for (const auto& spec : o.impls) impls.push_back(parse_implementation(spec, paths));
  } catch (const std::invalid_argument& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }

  for (const auto& impl : impls) {
    const std::string& exe = impl.command[0];
    bool found = exe.find('/') != std::string::npos ? access(exe.c_str(), X_OK) == 0
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
    loader = std::make_unique<CaseLoader>(o.schema);
    if (!fs::is_directory(o.cases)) throw std::runtime_error("no case directory " + o.cases.string());
    loaded = loader->load_tree(o.cases);
  } catch (const std::exception& e) {
    std::cerr << "mpconform: " << e.what() << "\n";
    return 2;
  }
  if (o.check_only) {
    for (const auto& e : loaded.errors) std::cout << e << "\n";
    std::cout << "mpconform: " << loaded.cases.size() << " cases valid, " << loaded.errors.size() << " malformed\n";
    return loaded.errors.empty() ? 0 : 1;
  }

  const bool shard_child = std::getenv("MPCONFORM_SHARD_RECORDS") != nullptr;
  const bool user_sharding = std::getenv("GTEST_TOTAL_SHARDS") != nullptr;
  if (o.jobs > 1 && !shard_child && !user_sharding && !testing::GTEST_FLAG(list_tests)) return run_sharded(original_args, o);

  AdapterProcess::become_subreaper();
  for (const auto& err : loaded.errors) {
    std::string name = sanitize_test_name(err.substr(0, err.find(':')));
    testing::RegisterTest("malformed", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [err]() -> testing::Test* { return new MalformedCaseTest(err); });
  }
  for (const auto& impl : impls) {
    for (const auto& c : loaded.cases) {
      const Case* cp = &c;
      const Implementation* ip = &impl;
      const fs::path* cases = &o.cases;
      testing::RegisterTest(impl.label.c_str(), c.id.c_str(), nullptr, nullptr, c.file.c_str(), 1,
                            [cp, ip, cases]() -> testing::Test* { return new CaseTest(cp, ip, cases); });
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  const auto shm_before = shm_entries();
  int rc = RUN_ALL_TESTS();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (testing::GTEST_FLAG(list_tests)) return rc;

  json all = json::array();
  for (const auto& r : g_records) all.push_back(record_to_json(r));
  if (shard_child) {
    std::ofstream(std::getenv("MPCONFORM_SHARD_RECORDS")) << all.dump() << "\n";
    return rc;
  }
  if (!o.report.empty()) std::ofstream(o.report) << all.dump(2) << "\n";
  std::cout << comparison(g_records);
  std::cout << "mpconform: " << summary_line(tally(g_records), wall) << std::endl;
  return std::max(rc, report_shm_leaks(shm_before));
}
