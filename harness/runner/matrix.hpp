// The matrix file (harness/matrix.yaml, spec/known-divergences.md#the-matrix-file): the
// implementations one `mpconform --matrix FILE` run covers, each with its known-divergence file
// and what it needs to exist on the machine.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mpconform {

struct MatrixEntry {
  std::string name;   // e.g. py38, billiard (the tox environment's name)
  std::string impl;   // an --impl spec, variables expanded
  std::string known;  // the known-divergence file, absolute; empty when none
  struct Need {
    std::string kind;  // executable, file, python_module
    std::string path;  // executable, file: the path; python_module: the interpreter
    std::string module;
    int line = 0;
  };
  std::vector<Need> needs;
  int line = 0;
};

struct MatrixPlan {
  std::vector<MatrixEntry> run;
  std::vector<std::string> skipped;  // "NAME (FILE:LINE): not run: WHY", one per entry skipped
};

// Variables a matrix file may use besides the environment's: ${cpp_adapter}, ${source}.
using MatrixVariables = std::map<std::string, std::string>;

// Reads the matrix file. `${NAME}`, `${NAME:-default}` and a leading `~` are expanded in impl,
// known and needs (lower-case names from `variables`, others from the environment). Throws
// std::invalid_argument "FILE:LINE: what is wrong".
std::vector<MatrixEntry> read_matrix(const std::filesystem::path& file, const MatrixVariables& variables);

// Whether a need holds: "" if it does, else why not. python_module runs the interpreter once
// (bounded) to import the module.
std::string unmet(const MatrixEntry::Need& need);

// The entries whose needs all hold, and a line for each other one.
MatrixPlan plan_matrix(const std::filesystem::path& file, const MatrixVariables& variables,
                       const std::function<std::string(const MatrixEntry::Need&)>& check = unmet);

// The --impl spec that runs an entry: its impl and, when it has one, ",known=FILE".
std::string matrix_impl_spec(const MatrixEntry& entry);

}  // namespace mpconform
