// Reads case files: bytes -> budgeted YAML tree -> schema validation -> semantic checks -> Case.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "case.hpp"
#include "limits.hpp"

namespace mpconform {

// spec/api.yaml: the Python-side API that cases may use (spec/case-format.md#api-registry).
struct ApiRegistry {
  struct Operation {
    bool attribute = false;                 // read with no arguments
    std::vector<std::string> params;        // as Python writes them: "timeout=None"
    std::vector<std::string> raises;        // portable exception types
    std::string loop;                       // sequence operations: the method they repeat
    bool settable = false;                  // an attribute a case may assign (`set:`)
    std::vector<std::string> returns_type;  // the spec's type(s) of what it returns, for `bind`
  };
  struct Type {
    bool constructible = false;            // may be named by objects[].type
    std::vector<std::string> params;       // constructor's
    std::vector<std::string> raises;       // constructor's
    std::vector<std::string> makes;        // Pipe: [Connection, Connection]
    std::map<std::string, Operation> ops;  // methods and attributes, `extends` resolved
    bool context_manager = false;          // `with:` may use it (__enter__ / __exit__)
  };
  std::map<std::string, Type> types;
  // Module-level calls by qualified name ("multiprocessing.connection.wait").
  std::map<std::string, Operation> functions;

  const Type* type(const std::string& name) const;
  const Operation* find(const std::string& type, const std::string& method) const;
  // "Type.method" of every operation, sorted.
  std::vector<std::string> all_ops() const;
};

class CaseLoader {
 public:
  // schema_path: spec/case.schema.json; api_path: spec/api.yaml (default: beside the schema).
  // Throws std::runtime_error if either cannot be read.
  explicit CaseLoader(const std::filesystem::path& schema_path, const Limits& limits = Limits{},
                      const std::filesystem::path& api_path = {});
  ~CaseLoader();
  CaseLoader(const CaseLoader&) = delete;
  CaseLoader& operator=(const CaseLoader&) = delete;

  // cases_root: the cases/ directory (the id is the path below it). Throws CaseError.
  Case load_file(const std::filesystem::path& file, const std::filesystem::path& cases_root) const;
  // Loads from text (for tests and fuzzing); `file` names the source in errors. Throws CaseError
  // and nothing else for any text (bad_alloc included).
  Case load_text(const std::string& text, const std::string& file, const std::string& expected_id) const;

  struct Loaded {
    std::vector<Case> cases;
    std::vector<std::string> errors;  // one "file:line:col: reason" per malformed file
  };
  // Every *.yaml below root, sorted by id; malformed files are reported, not loaded.
  Loaded load_tree(const std::filesystem::path& root) const;

  const ApiRegistry& api() const;
  const Limits& limits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The id of a case file from its path below the cases root ("queue/fifo.yaml" -> "queue.fifo").
// Throws CaseError (naming `file`) if a path component holds a character an id may not.
std::string case_id_of(const std::filesystem::path& relative, const std::string& file);

}  // namespace mpconform
