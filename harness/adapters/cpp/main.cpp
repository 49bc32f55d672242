// mpconform-cpp-adapter: exposes mpc, the C++ reference implementation, to the mpconform runner
// through the adapter protocol (spec/adapter-protocol.md).
//
//   mpconform-cpp-adapter [--semantics 3.12] --endpoint ENDPOINT   (e.g. ipc://@mpconform-…)
//
// A spawned process actor is a fresh exec of this program, which mpc::spawn_main() recognizes
// by its arguments and runs as that actor.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "actor.hpp"
#include "channel.hpp"
#include "controller.hpp"
#include "log.hpp"
#include "mpc/context.hpp"
#include "mpc/spawn.hpp"

namespace {

using namespace mpconform::cpp_adapter;

// After goodbye, how long the normal exit path may take before the process leaves by force.
constexpr std::chrono::seconds kExitWatchdog{3};

int usage(const char* why) {
  std::fprintf(
      stderr, "mpconform-cpp-adapter: %s\nusage: mpconform-cpp-adapter [--semantics MAJOR.MINOR] --endpoint ENDPOINT\n",
      why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  register_spawned_actor_target();
  if (auto code = mpc::spawn_main(argc, argv)) return *code;
  // The adapter runs under fork, chosen as CPython's adapter chooses `,start=`: a forked actor
  // inherits the choice, a spawned one is given it.
  mpc::set_start_method("fork", true);
  ControllerOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;  // --name=value
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (arg == "--endpoint") {
      auto v = value();
      if (!v || v->empty()) return usage("--endpoint needs a value");
      options.endpoint = *v;
    } else if (arg == "--semantics") {
      auto v = value();
      if (!v || !std::regex_match(*v, std::regex(R"(\d+\.\d+)")))
        return usage("--semantics needs MAJOR.MINOR, e.g. 3.12");
      options.semantics = *v;
    } else {
      return usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (options.endpoint.empty()) return usage("--endpoint is required");

  // The controller's channel lives on the heap and is never destroyed in a child: see channel.hpp.
  std::unique_ptr<Channel> channel;
  try {
    channel = std::make_unique<Channel>(options.endpoint, "main");
  } catch (const std::exception& e) {
    log("main", "cannot connect to " + options.endpoint + ": " + e.what());
    return 2;
  }
  Controller controller(options, *channel);
  int code = 0;
  try {
    controller.run();
  } catch (const std::exception& e) {
    log("main", std::string("controller failed: ") + e.what());
    controller.abandon();
    code = 1;
  }
  channel->close();  // delivers goodbye (linger)
  if (!controller.threads_joined()) {
    // A thread actor still runs: the normal exit path would destroy objects under it.
    std::fflush(nullptr);
    ::_exit(code);
  }
  std::thread([] {
    std::this_thread::sleep_for(kExitWatchdog);
    log("main", "the normal exit is taking over 3 s, leaving by force");
    ::_exit(0);
  }).detach();
  return code;
}
