// Small helpers shared by the impl/ unit tests.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace mpc_test {

using Clock = std::chrono::steady_clock;

// How much slower code runs under AddressSanitizer (impl.sanitized builds with it): a bound on
// work done, such as "refused within 10 s", is scaled by this there; timing of waits is not.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang (the sanitized tree is built with it)
#define MPC_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(MPC_TEST_UNDER_ASAN)
inline constexpr double kWorkSlowdown = 5;
#else
inline constexpr double kWorkSlowdown = 1;
#endif

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Lower-case hex of bytes, as Python's bytes.hex() writes it (to hand bytes to a Python peer).
inline std::string hex_of(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : data) {
    out.push_back(digits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(digits[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

// The message of the E that f() throws, or "<no exception>"; any other exception propagates.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

// The CPythons to talk to: /usr/bin/python3 and every ~/.pyenv/versions/3.8+ interpreter.
inline std::vector<std::string> find_pythons() {
  std::vector<std::string> out;
  if (::access("/usr/bin/python3", X_OK) == 0) out.emplace_back("/usr/bin/python3");
  const char* home = std::getenv("HOME");
  std::string root = std::string(home ? home : "/root") + "/.pyenv/versions";
  std::vector<std::string> found;
  if (DIR* d = ::opendir(root.c_str())) {
    while (dirent* e = ::readdir(d)) {
      int major = 0, minor = 0;
      if (std::sscanf(e->d_name, "%d.%d", &major, &minor) == 2 && major == 3 && minor >= 8) {
        std::string py = root + "/" + e->d_name + "/bin/python";
        if (::access(py.c_str(), X_OK) == 0) found.push_back(py);
      }
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return out;
}

// A gtest parameter name for an interpreter path.
inline std::string identifier(const std::string& path) {
  std::string name;
  for (char c : path) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace mpc_test
