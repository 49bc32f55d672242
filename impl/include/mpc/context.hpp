// mpc/context.hpp: start methods and contexts, as multiprocessing.context.
//
// mpc has CPython's three start methods on Linux: fork (a fork()ed copy of this process), spawn (a
// fresh exec of this program that runs a target registered by name: mpc/spawn.hpp) and forkserver
// (a server process, itself a spawn of this program, forks each child and runs the target in it).
//
// A Context tells an object how to lay out its shared memory: a fork-context object lives in an
// anonymous shared mapping, which only fork()ed children inherit; a spawn- or forkserver-context
// one in a memfd mapping, whose descriptor such a child is given. Objects made without a Context
// are fork-context objects. A fork-context Lock or Queue given to a spawn or forkserver child makes
// start() raise CPython's RuntimeError "A SemLock created in a fork context is being shared with a
// process in a spawn context. ..." (CPython's text for both).
//
// The module-level start method (CPython's DefaultContext) is per process: unset until
// set_start_method() or its first use, which chooses fork; a fork()ed child inherits it, a
// spawned child is given its parent's (as CPython's spawn preparation data does).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpc {

enum class StartMethod { fork, spawn, forkserver };

// "fork", "spawn", "forkserver".
[[nodiscard]] std::string_view to_string(StartMethod method) noexcept;

class Context {
 public:
  explicit constexpr Context(StartMethod method) noexcept : method_(method) {}
  [[nodiscard]] constexpr StartMethod start_method() const noexcept { return method_; }
  // CPython's ctx.get_start_method().
  [[nodiscard]] std::string_view get_start_method() const noexcept { return to_string(method_); }
  friend constexpr bool operator==(Context, Context) noexcept = default;

 private:
  StartMethod method_;
};

// CPython's get_context(method): nullopt gives the module's start method (choosing fork if none
// was chosen yet). ValueError "cannot find context for 'NAME'" for any other name.
[[nodiscard]] Context get_context(std::optional<std::string_view> method = std::nullopt);

// The start methods mpc has, the default first: ["fork", "spawn", "forkserver"].
[[nodiscard]] std::vector<std::string> get_all_start_methods();

// The module's start method; nullopt only with allow_none while none was chosen (without it, an
// unset method becomes fork, as CPython's).
[[nodiscard]] std::optional<std::string> get_start_method(bool allow_none = false);

// CPython's set_start_method: RuntimeError "context has already been set" when one was chosen and
// not force; nullopt with force unsets it; ValueError "cannot find context for 'NAME'".
void set_start_method(std::optional<std::string_view> method, bool force = false);

}  // namespace mpc
