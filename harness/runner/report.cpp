#include "report.hpp"

#include <map>
#include <set>
#include <sstream>

namespace mpconform {

json record_to_json(const Record& r) {
  return {{"implementation_label", r.impl}, {"case", r.case_id}, {"level", r.level}, {"verdict", verdict_name(r.verdict)},
          {"verdict_code", static_cast<int>(r.verdict)}, {"reason", r.reason}, {"seconds", r.seconds},
          {"implementation", r.implementation}, {"details", r.details}};
}

Record record_from_json(const json& j) {
  Record r;
  r.impl = j.value("implementation_label", std::string());
  r.case_id = j.value("case", std::string());
  r.level = j.value("level", std::string());
  r.verdict = static_cast<Verdict>(j.value("verdict_code", 0));
  r.reason = j.value("reason", std::string());
  r.seconds = j.value("seconds", 0.0);
  r.implementation = j.value("implementation", json::object());
  r.details = j.value("details", std::string());
  return r;
}

Tally tally(const std::vector<Record>& records) {
  Tally t;
  for (const auto& r : records) {
    switch (r.verdict) {
      case Verdict::Pass: ++t.passed; break;
      case Verdict::Skipped: ++t.skipped; break;
      case Verdict::Differs: ++t.differs; break;
      default: ++t.failed; break;
    }
  }
  return t;
}

std::string summary_line(const Tally& t, double wall_seconds) {
  std::ostringstream out;
  // Cases where a non-CPython implementation differs on a cpython-specific quirk are not failures,
  // and not hidden: they are counted with the skipped and named apart.
  out << t.passed << " passed, " << t.failed << " failed, " << (t.skipped + t.differs) << " skipped";
  if (t.differs) out << " (" << t.differs << " of them differ on cpython-specific cases)";
  char wall[32];
  std::snprintf(wall, sizeof wall, "%.1f", wall_seconds);
  out << " in " << wall << " s";
  return out.str();
}

std::string comparison(const std::vector<Record>& records) {
  std::set<std::string> impls;
  std::map<std::string, std::map<std::string, std::string>> by_case;  // case -> impl -> verdict
  for (const auto& r : records) {
    if (r.verdict == Verdict::CaseError && r.impl == "malformed") continue;  // not an implementation
    impls.insert(r.impl);
    auto& cell = by_case[r.case_id][r.impl];
    std::string v = verdict_name(r.verdict);
    if (cell.empty()) cell = v;
    else if (cell.find(v) == std::string::npos) cell += "/" + v;  // repeated runs that disagree
  }
  if (impls.size() < 2) return "";
  std::ostringstream out;
  int rows = 0;
  for (const auto& [id, cells] : by_case) {
    std::set<std::string> distinct;
    for (const auto& impl : impls) distinct.insert(cells.contains(impl) ? cells.at(impl) : "not run");
    if (distinct.size() < 2) continue;
    if (rows++ == 0) {
      out << "Cases where the implementations differ:\n";
      out << "  case";
      for (const auto& impl : impls) out << " | " << impl;
      out << "\n";
    }
    out << "  " << id;
    for (const auto& impl : impls) out << " | " << (cells.contains(impl) ? cells.at(impl) : "not run");
    out << "\n";
  }
  if (rows == 0) out << "All " << impls.size() << " implementations gave the same verdict on every case.\n";
  return out.str();
}

}  // namespace mpconform
