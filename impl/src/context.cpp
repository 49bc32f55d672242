#include "mpc/context.hpp"

#include "mpc/errors.hpp"

namespace mpc {

namespace {

// CPython's DefaultContext._actual_context. Unlocked, as the module functions it serves are
// called by one thread at a time in practice (CPython's GIL): a lock held at a fork() would stay
// locked in the child.
std::optional<StartMethod>& chosen() {
  static std::optional<StartMethod> method;
  return method;
}

std::optional<StartMethod> parse(std::string_view name) {
  if (name == "fork") return StartMethod::fork;
  if (name == "spawn") return StartMethod::spawn;
  if (name == "forkserver") return StartMethod::forkserver;
  return std::nullopt;
}

StartMethod find(std::string_view name) {
  if (auto m = parse(name)) return *m;
  throw ValueError("cannot find context for '" + std::string(name) + "'");
}

}  // namespace

std::string_view to_string(StartMethod method) noexcept {
  switch (method) {
    case StartMethod::fork: return "fork";
    case StartMethod::spawn: return "spawn";
    case StartMethod::forkserver: return "forkserver";
  }
  return "fork";
}

Context get_context(std::optional<std::string_view> method) {
  if (method) return Context(find(*method));
  if (!chosen()) chosen() = StartMethod::fork;
  return Context(*chosen());
}

std::vector<std::string> get_all_start_methods() { return {"fork", "spawn", "forkserver"}; }

std::optional<std::string> get_start_method(bool allow_none) {
  if (!chosen()) {
    if (allow_none) return std::nullopt;
    chosen() = StartMethod::fork;
  }
  return std::string(to_string(*chosen()));
}

void set_start_method(std::optional<std::string_view> method, bool force) {
  if (chosen() && !force) throw RuntimeError("context has already been set");
  if (!method && force) {
    chosen().reset();
    return;
  }
  chosen() = method ? find(*method) : StartMethod::fork;
}

}  // namespace mpc
