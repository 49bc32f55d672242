// Known-divergence files (spec/known-divergences.md): the cases an implementation is known to
// fail, each with the reason and the spec sentence it breaks. A listed case that fails is an
// expected divergence, one that passes is newly passing; an unlisted failure stays a failure.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "session.hpp"
#include "versions.hpp"

namespace mpconform {

struct KnownDivergence {
  std::string case_id, reason, spec;
  std::vector<std::string> start_methods;  // empty: under every start method
  std::optional<VersionSpec> versions;     // of the semantics the implementation follows; none: every
  int line = 0;                            // of the entry in its file

  // Whether it applies to the implementation whose hello.implementation this is.
  bool applies_to(const json& hello_implementation) const;
};

struct KnownDivergences {
  std::string file;            // as read (for messages and the results file)
  std::string implementation;  // the file's description of the implementation
  std::vector<KnownDivergence> divergences;

  // The entry for the case that applies to this implementation, or nullptr.
  const KnownDivergence* find(const std::string& case_id, const json& hello_implementation) const;
};

// Reads and checks a file: YAML, the keys of spec/known-divergences.md, each case one of
// `case_ids` and listed once (or once per start method), a reason, a spec anchor that exists below `spec_dir`. Throws
// std::invalid_argument "FILE:LINE: what is wrong".
KnownDivergences read_known_divergences(const std::filesystem::path& file, const std::set<std::string>& case_ids,
                                        const std::filesystem::path& spec_dir);

// What a verdict becomes under the list. A listed case that did not pass (any verdict but passed
// and skipped) is ExpectedDivergence, its reason keeping the original verdict and reason and adding
// the listed one; a listed case that passed is NewlyPassing. nullopt when the case is not listed
// for this implementation's start method and semantics, or was skipped.
struct Reclassified {
  Verdict verdict;
  std::string reason;
  json known;  // {"file", "line", "reason", "spec", "verdict": the verdict before}, for the results file
};
std::optional<Reclassified> reclassify(const KnownDivergences& list, const std::string& case_id, Verdict verdict,
                                       const std::string& reason, const json& hello_implementation);

// The anchors of a Markdown page's headings, GitHub-style (lower case, punctuation dropped,
// spaces to dashes), as spec anchors name them.
std::set<std::string> heading_anchors(const std::filesystem::path& page);

}  // namespace mpconform
