#include "known_divergences.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "yaml_position.hpp"

namespace mpconform {
namespace fs = std::filesystem;

namespace {

// The keys of a mapping, refusing duplicates and keys outside `allowed`.
std::map<std::string, YAML::Node> mapping(const std::string& file, const YAML::Node& node,
                                          const std::set<std::string>& allowed, const std::string& what) {
  if (!node.IsMap()) fail(file, line_of(node), what + " must be a mapping");
  std::map<std::string, YAML::Node> out;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (!allowed.contains(key)) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      fail(file, line_of(kv.first), "unknown key '" + key + "' in " + what + " (known: " + known + ")");
    }
    if (out.contains(key)) fail(file, line_of(kv.first), "duplicate key '" + key + "' in " + what);
    out.emplace(key, kv.second);
  }
  return out;
}

std::string text(const std::string& file, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().find_first_not_of(" \t\n") == std::string::npos)
    fail(file, line_of(node), what + " must be a non-empty string");
  return node.Scalar();
}

// The anchors of each spec page, read once per run.
const std::set<std::string>& anchors_of(const fs::path& page) {
  static std::map<fs::path, std::set<std::string>> cache;
  auto it = cache.find(page);
  if (it == cache.end()) it = cache.emplace(page, heading_anchors(page)).first;
  return it->second;
}

}  // namespace

std::set<std::string> heading_anchors(const fs::path& page) {
  std::set<std::string> out;
  std::ifstream in(page);
  static const std::regex heading(R"(^#{1,6} (.+)$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, heading)) continue;
    std::string anchor;
    for (char c : m[1].str()) {
      unsigned char u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '_' || c == '-')
        anchor.push_back(static_cast<char>(std::tolower(u)));
      else if (c == ' ')
        anchor.push_back('-');
    }
    while (!anchor.empty() && anchor.back() == '-') anchor.pop_back();  // a trailing space
    out.insert(anchor);
  }
  return out;
}

bool KnownDivergence::applies_to(const json& hello) const {
  if (!start_methods.empty()) {
    const std::string method = hello.is_object() ? hello.value("start_method", std::string()) : std::string();
    if (std::find(start_methods.begin(), start_methods.end(), method) == start_methods.end()) return false;
  }
  if (versions) {
    const std::string semantics = hello.is_object() ? hello.value("semantics", std::string()) : std::string();
    try {
      if (!versions->matches(full_version(parse_version(semantics), hello.value("language", std::string()),
                                          hello.value("version", std::string()))))
        return false;
    } catch (const std::invalid_argument&) {
      return false;  // no hello (the adapter did not start): only entries for every version apply
    }
  }
  return true;
}

const KnownDivergence* KnownDivergences::find(const std::string& case_id, const json& hello) const {
  for (const auto& d : divergences)
    if (d.case_id == case_id && d.applies_to(hello)) return &d;
  return nullptr;
}

KnownDivergences read_known_divergences(const fs::path& path, const std::set<std::string>& case_ids,
                                        const fs::path& spec_dir) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(file + ": the known-divergence file cannot be read");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    fail(file, e.mark.is_null() ? 0 : e.mark.line + 1, "not valid YAML: " + e.msg);
  }
  KnownDivergences out;
  out.file = file;
  if (!root.IsDefined() || root.IsNull())
    fail(file, 1, "empty: a known-divergence file is a mapping with implementation and divergences");
  auto top = mapping(file, root, {"implementation", "divergences"}, "the file");
  if (!top.contains("implementation")) fail(file, line_of(root), "missing 'implementation' (what the file is about)");
  out.implementation = text(file, top["implementation"], "implementation");
  if (!top.contains("divergences")) fail(file, line_of(root), "missing 'divergences' (a list; [] when there are none)");
  const YAML::Node list = top["divergences"];
  if (!list.IsSequence()) fail(file, line_of(list), "divergences must be a list");
  static const std::regex spec_form(R"(^([a-z0-9][a-z0-9_-]*\.md)#([a-z0-9_-]+)$)");
  for (const auto& item : list) {
    const int line = line_of(item);
    auto e = mapping(file, item, {"case", "reason", "spec", "start_methods", "versions"}, "a divergence");
    KnownDivergence d;
    d.line = line;
    if (!e.contains("case")) fail(file, line, "a divergence without 'case'");
    d.case_id = text(file, e["case"], "case");
    if (!case_ids.contains(d.case_id))
      fail(file, line_of(e["case"]), "unknown case '" + d.case_id + "' (no such case in the case tree)");
    if (!e.contains("reason"))
      fail(file, line, "divergence '" + d.case_id + "' has no 'reason' (why the implementation fails it)");
    d.reason = text(file, e["reason"], "reason");
    if (!e.contains("spec"))
      fail(file, line, "divergence '" + d.case_id + "' has no 'spec' (PAGE.md#ANCHOR of the sentence it breaks)");
    d.spec = text(file, e["spec"], "spec");
    std::smatch m;
    if (!std::regex_match(d.spec, m, spec_form))
      fail(file, line_of(e["spec"]), "spec '" + d.spec + "' is not PAGE.md#ANCHOR");
    if (!spec_dir.empty()) {
      const fs::path page = spec_dir / m[1].str();
      if (!fs::is_regular_file(page)) fail(file, line_of(e["spec"]), "spec '" + d.spec + "': no page " + page.string());
      if (!anchors_of(page).contains(m[2].str()))
        fail(file, line_of(e["spec"]), "spec '" + d.spec + "': " + m[1].str() + " has no section #" + m[2].str());
    }
    if (e.contains("start_methods")) {
      const YAML::Node methods = e["start_methods"];
      if (!methods.IsSequence() || methods.size() == 0)
        fail(file, line_of(methods), "start_methods must be a non-empty list");
      for (const auto& m : methods) d.start_methods.push_back(text(file, m, "a start method"));
    }
    // A case is listed once, or once per start method: entries for it must name disjoint ones.
    for (const auto& other : out.divergences) {
      if (other.case_id != d.case_id) continue;
      bool disjoint = !d.start_methods.empty() && !other.start_methods.empty();
      for (const auto& m : d.start_methods)
        if (std::find(other.start_methods.begin(), other.start_methods.end(), m) != other.start_methods.end())
          disjoint = false;
      if (!disjoint)
        fail(file, line,
             "case '" + d.case_id + "' is listed twice (first at line " + std::to_string(other.line) +
                 ") for the same start methods: give it once, or once per start method (start_methods)");
    }
    if (e.contains("versions")) {
      try {
        d.versions = VersionSpec::parse(text(file, e["versions"], "versions"));
      } catch (const std::invalid_argument& err) {
        fail(file, line_of(e["versions"]), std::string("versions: ") + err.what());
      }
    }
    out.divergences.push_back(std::move(d));
  }
  return out;
}

std::optional<Reclassified> reclassify(const KnownDivergences& list, const std::string& case_id, Verdict verdict,
                                       const std::string& reason, const json& hello) {
  if (verdict == Verdict::Skipped) return std::nullopt;
  const KnownDivergence* d = list.find(case_id, hello);
  if (!d) return std::nullopt;
  const std::string where = list.file + ":" + std::to_string(d->line);
  Reclassified out;
  out.known = {{"file", list.file},
               {"line", d->line},
               {"reason", d->reason},
               {"spec", d->spec},
               {"verdict", verdict_name(verdict)}};
  if (verdict == Verdict::Pass) {
    out.verdict = Verdict::NewlyPassing;
    out.reason = "listed as a known divergence (" + where + ": " + d->reason + ") but passed: remove it from the list";
  } else {
    out.verdict = Verdict::ExpectedDivergence;
    out.reason = std::string(verdict_name(verdict)) + (reason.empty() ? "" : ": " + reason) + "; known divergence (" +
                 where + ", " + d->spec + "): " + d->reason;
  }
  return out;
}

}  // namespace mpconform
