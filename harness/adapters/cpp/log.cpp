#include "log.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace mpconform::cpp_adapter {

void log(std::string_view who, std::string_view text) noexcept {
  try {
    // One fputs per line so that lines of concurrent actors (threads, children) do not interleave.
    std::string line = "mpconform-cpp-adapter[" + std::to_string(::getpid()) + " " + std::string(who) + "]: ";
    line.append(text);
    line.push_back('\n');
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  } catch (...) {
    // Out of memory while logging: nothing more useful to do.
  }
}

}  // namespace mpconform::cpp_adapter
