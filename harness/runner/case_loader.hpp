// Reads case files: YAML -> schema validation -> semantic checks -> Case.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "case.hpp"

namespace mpconform {

class CaseLoader {
 public:
  // schema_path: spec/case.schema.json. Throws std::runtime_error if the schema cannot be read.
  explicit CaseLoader(const std::filesystem::path& schema_path);
  ~CaseLoader();
  CaseLoader(const CaseLoader&) = delete;
  CaseLoader& operator=(const CaseLoader&) = delete;

  // cases_root: the cases/ directory (the id is the path below it). Throws CaseError.
  Case load_file(const std::filesystem::path& file, const std::filesystem::path& cases_root) const;
  // Loads from text (for tests); `file` names the source in errors and gives the id.
  Case load_text(const std::string& text, const std::string& file, const std::string& expected_id) const;

  struct Loaded {
    std::vector<Case> cases;
    std::vector<std::string> errors;  // one "file:line:col: reason" per malformed file
  };
  // Every *.yaml below root, sorted by id; malformed files are reported, not loaded.
  Loaded load_tree(const std::filesystem::path& root) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpconform
