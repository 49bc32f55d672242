// Turns --impl specifications into adapter command lines.
#pragma once

#include <string>

#include "session.hpp"

namespace mpconform {

struct AdapterPaths {
  std::string cpython_adapter;  // harness/adapters/cpython/adapter.py
  std::string cpp_adapter;      // the built C++ adapter executable
};

// Forms (options after commas, in any order):
//   cpython[:PYTHON][,module=M][,start=fork|spawn|forkserver][,label=L]
//   cpp[:ADAPTER][,label=L]
//   cmd:LABEL=COMMAND WORDS…   (any other adapter, split on spaces)
// Throws std::invalid_argument with a message that says what is wrong.
Implementation parse_implementation(const std::string& spec, const AdapterPaths& paths);

}  // namespace mpconform
