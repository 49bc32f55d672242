// Positions in the runner's own YAML files (known-divergence and matrix files) for their errors.
#pragma once

#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

namespace mpconform {

// The 1-based line of a node (yaml-cpp counts from 0); 0 when unknown.
inline int line_of(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }

// Throws std::invalid_argument "FILE:LINE: what".
[[noreturn]] inline void fail(const std::string& file, int line, const std::string& what) {
  throw std::invalid_argument(file + ":" + std::to_string(line) + ": " + what);
}

}  // namespace mpconform
