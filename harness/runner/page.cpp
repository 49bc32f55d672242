#include "page.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "options.hpp"
#include "report.hpp"

namespace mpconform {
namespace fs = std::filesystem;

namespace {

const char* kPageUsage =
    R"(usage: mpconform page RESULTS.json [--html OUT.html] [--markdown OUT.md] [--cases DIR] [--spec DIR]

Makes the compatibility page of a results file (mpconform --report FILE): cases × implementations,
grouped by primitive, with each case's level and tags, each cell's verdict linked to its trace,
reason and rerun command, and each case linked to its case file.

  --html FILE      one self-contained HTML file (no script, no network); - for stdout
  --markdown FILE  the same matrix as GitHub Markdown tables, one per primitive, with a legend; - for stdout
  --cases DIR      the case tree the results' files are relative to (default: the results file's run.cases.dir)
  --spec DIR       the spec pages the cases' spec anchors link to (default: DIR/../spec when it exists)

Links to case files and spec pages are relative to the directory of each output file.
)";

struct VerdictStyle {
  const char* name;
  const char* symbol;
  const char* css;  // after "v-"
};

// Every verdict of spec/results.md, in the order of the legend. The symbols are in DejaVu Sans
// (the one font of a bare Debian) and tell the verdicts apart without colour.
const VerdictStyle kVerdictStyles[] = {
    {"passed", "✓", "passed"},
    {"failed", "✗", "failed"},
    {"failed (recommended)", "⚠", "failed-recommended"},
    {"differs (cpython-specific)", "≠", "differs"},
    {"skipped", "○", "skipped"},
    {"expected divergence", "≈", "expected-divergence"},
    {"newly passing", "★", "newly-passing"},
    {"crashed", "☠", "crashed"},
    {"timed out", "◔", "timed-out"},
    {"protocol error", "↯", "protocol-error"},
    {"adapter error", "⚙", "adapter-error"},
    {"leaked", "◌", "leaked"},
    {"malformed case", "⊘", "malformed"},
};

const VerdictStyle* style_of(const std::string& verdict) {
  for (const auto& s : kVerdictStyles)
    if (verdict == s.name) return &s;
  return nullptr;
}

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool is_hex_safe(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string hex_byte(unsigned char c) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02x", c);
  return buf;
}

std::string upper_hex_byte(unsigned char c) {  // RFC 3986 percent-encoding
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", c);
  return buf;
}

// An HTML id from any text: letters, digits, '.' and '_' kept, every other byte as ~xx, so that
// '-' is free to join the parts of an id and two texts never share one.
std::string id_part(std::string_view text) {
  std::string out;
  for (unsigned char c : text)
    out += is_hex_safe(c) || c == '.' || c == '_' ? std::string(1, static_cast<char>(c)) : "~" + hex_byte(c);
  return out;
}

// A CSS class (and id used in a selector) from any text: letters and digits kept, every other byte
// as _xx (no '.', '~' or '-', which a selector would read otherwise).
std::string css_part(std::string_view text) {
  std::string out;
  for (unsigned char c : text) out += is_hex_safe(c) ? std::string(1, static_cast<char>(c)) : "_" + hex_byte(c);
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A case file as the results file names it: relative to the case tree, or absolute.
struct Row {
  std::string id, primitive, file, title, level, spec;
  std::vector<std::string> tags;
  std::map<std::string, std::vector<const json*>> runs;  // implementation label -> its entries, in order
};

struct Column {
  std::string label, spec;
  json hello;  // hello.implementation, or null
};

struct Model {
  std::vector<Column> columns;
  std::map<std::string, std::vector<Row>> primitives;  // by name, rows by case id
  std::vector<json> malformed;
};

Model build_model(const json& doc) {
  Model m;
  std::set<std::string> labels;
  if (doc.contains("implementations") && doc["implementations"].is_array())
    for (const auto& i : doc["implementations"]) {
      const std::string label = str(i, "label");
      if (!labels.insert(label).second) continue;
      m.columns.push_back({label, str(i, "spec"), i.contains("implementation") ? i["implementation"] : json()});
    }
  std::map<std::string, Row> rows;
  if (doc.contains("results") && doc["results"].is_array())
    for (const auto& r : doc["results"]) {
      if (!r.is_object()) continue;
      const std::string id = str(r, "case"), label = str(r, "implementation");
      if (labels.insert(label).second) m.columns.push_back({label, "", json()});  // a label the file does not list
      auto [it, fresh] = rows.try_emplace(id);
      Row& row = it->second;
      if (fresh) {
        row.id = id;
        row.primitive = id.substr(0, id.find('.'));
        row.file = str(r, "file");
        row.title = str(r, "title");
        row.level = str(r, "level");
        row.spec = str(r, "spec");
        if (r.contains("tags") && r["tags"].is_array())
          for (const auto& t : r["tags"])
            if (t.is_string()) row.tags.push_back(t.get<std::string>());
      }
      row.runs[label].push_back(&r);
    }
  for (auto& [id, row] : rows) m.primitives[row.primitive].push_back(std::move(row));
  if (doc.contains("malformed") && doc["malformed"].is_array())
    for (const auto& e : doc["malformed"]) m.malformed.push_back(e);
  return m;
}

// The path from `dir` to `target` ("../cases/queue/x.yaml"), for an href.
std::string relative_path(const fs::path& target, const fs::path& dir) {
  std::error_code ec;
  fs::path t = fs::weakly_canonical(fs::absolute(target), ec);
  if (ec) t = fs::absolute(target).lexically_normal();
  fs::path d = fs::weakly_canonical(fs::absolute(dir), ec);
  if (ec) d = fs::absolute(dir).lexically_normal();
  fs::path rel = t.lexically_relative(d);
  return (rel.empty() ? t : rel).generic_string();
}

std::string case_file_href(const Row& row, const PageOptions& o) {
  fs::path file(row.file);
  return href_path(relative_path(file.is_absolute() ? file : o.cases_dir / file, o.out_dir));
}

// "queue.md#timeouts" -> the page's href, or "" when there is no spec directory to link to.
std::string spec_href(const std::string& spec, const PageOptions& o) {
  if (o.spec_dir.empty() || spec.empty()) return "";
  const auto hash = spec.find('#');
  std::string href = href_path(relative_path(o.spec_dir / spec.substr(0, hash), o.out_dir));
  if (hash != std::string::npos) href += "#" + href_path(spec.substr(hash + 1));
  return href;
}

std::string result_anchor(const std::string& label, const std::string& case_id, std::size_t run) {
  return "r-" + id_part(label) + "-" + id_part(case_id) + (run ? "-" + std::to_string(run + 1) : "");
}
std::string case_anchor(const std::string& case_id) { return "c-" + id_part(case_id); }
std::string filter_id(const std::string& primitive, const std::string& tag) {
  return "f-" + css_part(primitive) + "-" + css_part(tag);
}

std::string level_class(const std::string& level) {
  if (level == "required" || level == "recommended" || level == "cpython-specific") return "lvl-" + level;
  return "lvl-other";
}

// "cpython 3.11.2 · semantics 3.11 · fork" from a hello.implementation.
std::string describe_hello(const json& hello) {
  if (!hello.is_object()) return "no hello seen";
  std::string out = str(hello, "name");
  if (!str(hello, "version").empty()) out += " " + str(hello, "version");
  out += " · semantics " + (str(hello, "semantics").empty() ? std::string("?") : str(hello, "semantics"));
  if (!str(hello, "module").empty()) out += " · " + str(hello, "module");
  if (!str(hello, "start_method").empty()) out += " · " + str(hello, "start_method");
  return out;
}

// The distinct verdicts of a cell's runs (--gtest_repeat), in order.
std::vector<std::string> cell_verdicts(const std::vector<const json*>& runs) {
  std::vector<std::string> out;
  for (const json* r : runs) {
    std::string v = str(*r, "verdict");
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

// Why a result has its verdict: its reason, or else (a failed step says why in the trace, not in
// the reason) the first step's problem.
std::string reason_of(const json& result) {
  std::string reason = str(result, "reason");
  if (!reason.empty() || !result.contains("trace") || !result["trace"].is_array()) return reason;
  for (const auto& st : result["trace"])
    if (!str(st, "problem").empty())
      return "step " + std::to_string(st.value("step", 0)) + " (line " + std::to_string(st.value("line", 0)) +
             "): " + str(st, "problem");
  return reason;
}

// Counts per verdict over cells (a cell counts by its first run), in legend order.
using Counts = std::map<std::string, int>;
void count_cell(Counts& c, const Row& row, const std::string& label) {
  auto it = row.runs.find(label);
  if (it != row.runs.end() && !it->second.empty()) ++c[str(*it->second.front(), "verdict")];
}

std::vector<std::string> verdict_order(const Counts& c) {
  std::vector<std::string> out;
  for (const auto& s : kVerdictStyles)
    if (c.contains(s.name)) out.push_back(s.name);
  for (const auto& [v, _] : c)
    if (!style_of(v)) out.push_back(v);
  return out;
}

// The inside of a verdict badge: its symbol (hidden from screen readers, which read the name) and
// its name (after COUNT when given). Symbol and name never break apart; a long name may wrap.
std::string badge(const std::string& verdict, const std::string& count = "") {
  const VerdictStyle* s = style_of(verdict);
  return std::string("<span class=\"sym\" aria-hidden=\"true\">") + (s ? s->symbol : "?") +
         "</span> <span class=\"vt\">" + (count.empty() ? "" : count + " ") + html_escape(verdict) + "</span>";
}

const char* kCss = R"CSS(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--head:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;padding:16px;font:14px/1.45 "DejaVu Sans",system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1280px;margin:0 auto}
h1{font-size:1.45em;margin:0 0 .3em}
h2{font-size:1.2em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h2 small,h3 small{font-weight:normal;color:var(--muted)}
h3{font-size:1em;margin:.2em 0 .5em;overflow-wrap:anywhere}
a{color:#0550ae}
code,pre,.mono{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:.9em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--head);padding:6px 8px;border-radius:4px;margin:0}
.meta{color:var(--muted);margin:.2em 0;overflow-wrap:anywhere}
.meta b{color:var(--fg);font-weight:600}
nav a{margin-right:.8em}
.legend{display:flex;flex-wrap:wrap;gap:4px 10px;padding:0;margin:.4em 0;list-style:none}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px;max-width:100%}
table{border-collapse:separate;border-spacing:0;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top;text-align:left}
tbody tr:last-child>*{border-bottom:0}
thead th{background:var(--head);font-weight:600}
th .impl{display:block;font-weight:normal;color:var(--muted);font-size:.85em}
table.matrix th.case{position:sticky;left:0;z-index:1;background:var(--bg);min-width:15em;width:40%;border-right:1px solid var(--line);font-weight:normal}
table.matrix thead th.case{background:var(--head);z-index:2}
.case .name{font-weight:600;overflow-wrap:anywhere}
.case .title{color:var(--muted);font-size:.88em;overflow-wrap:anywhere}
.tags{margin-top:2px}
.tag{display:inline-block;font-size:.78em;line-height:1.5;background:#eef1f5;color:var(--fg);border-radius:9px;padding:0 7px;margin:1px 3px 1px 0;text-decoration:none}
.level{display:inline-block;font-size:.75em;line-height:1.4;padding:0 5px;border-radius:3px;margin-left:4px;white-space:nowrap}
.lvl-required .level{border:1px solid #59636e}
.lvl-recommended .level{border:1px dashed #9a6700;color:#7d4e00}
.lvl-cpython-specific .level{border:1px dotted #0550ae;color:#0550ae;font-style:italic}
.lvl-other .level{border:1px solid #d1d9e0}
tr.lvl-required th.case{box-shadow:inset 4px 0 0 #8c959f}
tr.lvl-recommended th.case{box-shadow:inset 4px 0 0 #d4a72c}
tr.lvl-cpython-specific th.case{box-shadow:inset 4px 0 0 #54aeff}
td.cell{min-width:7.5em}
.v{display:inline-block;white-space:nowrap;padding:1px 6px;border-radius:4px;border:1px solid transparent;text-decoration:none;font-weight:600;line-height:1.4}
a.v:hover{text-decoration:underline}
.sym{display:inline-block;min-width:1.1em;text-align:center}
.vt{white-space:normal}
.v-passed{background:#dafbe1;color:#116329}
.v-failed{background:#ffebe9;color:#a40e26;border-color:#ff8182}
.v-failed-recommended{background:#fff8c5;color:#7d4e00;border-color:#d4a72c}
.v-differs{background:#ddf4ff;color:#0550ae}
.v-skipped{background:#f6f8fa;color:#59636e;font-weight:normal}
.v-expected-divergence{background:#f3f0ff;color:#5e3fb0;font-weight:normal}
.v-newly-passing{background:#dafbe1;color:#0a4d1f;border:2px solid #1a7f37}
.v-crashed{background:#a40e26;color:#fff}
.v-timed-out{background:#ffd8b5;color:#762c00;border-color:#e16f24}
.v-protocol-error{background:#fbefff;color:#6e40c9;border-color:#c297ff}
.v-adapter-error{background:#eaeef2;color:#1f2328;border:1px dashed #59636e}
.v-leaked{background:#fff1e5;color:#953800;border:1px dotted #bc4c00}
.v-malformed{background:#1f2328;color:#fff}
.v-unknown,.v-notrun{color:#59636e;font-weight:normal}
.tag-filter{display:none;background:#ddf4ff;border-radius:6px;padding:6px 10px}
.tag-filter:target{display:block}
article.trace{border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:10px 0;scroll-margin-top:8px}
article.trace:target{outline:3px solid #0969da;outline-offset:1px}
article.trace dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 10px;margin:.4em 0}
article.trace dt{color:var(--muted)}
article.trace dd{margin:0;overflow-wrap:anywhere}
table.steps td,table.steps th{font-size:.85em}
table.steps td{font-family:"DejaVu Sans Mono",ui-monospace,monospace;overflow-wrap:anywhere;min-width:5em}
table.steps tr.bad td{background:#ffebe9}
details{margin-top:.4em}
footer{margin-top:2em;color:var(--muted);font-size:.85em}
@media (max-width:640px){
  body{padding:8px;font-size:13px}
  table.matrix th.case{min-width:0;width:46vw;max-width:46vw}
  td.cell{min-width:6.5em}
  article.trace dl{grid-template-columns:minmax(0,1fr)}
  article.trace dt{margin-top:.3em}
}
)CSS";

class HtmlPage {
 public:
  HtmlPage(const json& doc, const PageOptions& o) : doc_(doc), o_(o), m_(build_model(doc)) {}

  std::string render() {
    out_ << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         << "<title>mpconform compatibility</title>\n<style>" << kCss << filter_css()
         << "</style>\n</head>\n<body>\n<main>\n";
    header();
    summary();
    matrix();
    tags_summary();
    malformed();
    traces();
    out_ << "<footer>Written by <code>mpconform page</code> from " << h(o_.source)
         << " (spec/results.md#compatibility-page).</footer>\n</main>\n</body>\n</html>\n";
    return out_.str();
  }

 private:
  static std::string h(std::string_view s) { return html_escape(s); }

  // Following a tag's link (#f-PRIMITIVE-TAG) shows only that primitive's cases with that tag.
  std::string filter_css() const {
    std::string css;
    for (const auto& [primitive, rows] : m_.primitives) {
      std::set<std::string> tags;
      for (const auto& r : rows) tags.insert(r.tags.begin(), r.tags.end());
      for (const auto& t : tags) {
        const std::string f = filter_id(primitive, t);
        css += "body:has(#" + f + ":target) tr.case:not(." + f + "),body:has(#" + f +
               ":target) section.primitive:not(:has(tr." + f + ")){display:none}\n";
      }
    }
    return css;
  }

  void header() {
    const json& run = doc_.contains("run") && doc_["run"].is_object() ? doc_["run"] : json::object();
    out_ << "<header>\n<h1>mpconform compatibility</h1>\n";
    std::size_t cases = 0;
    for (const auto& [_, rows] : m_.primitives) cases += rows.size();
    out_ << "<p class=\"meta\"><b>" << cases << "</b> cases × <b>" << m_.columns.size() << "</b> implementations";
    if (!str(run, "started").empty()) out_ << " · run started <b>" << h(str(run, "started")) << "</b>";
    if (run.contains("wall_seconds") && run["wall_seconds"].is_number())
      out_ << " in " << fixed(run["wall_seconds"].get<double>(), 1) << " s";
    if (!str(run, "runner_version").empty()) out_ << " · runner " << h(str(run, "runner_version"));
    out_ << "</p>\n";
    if (run.contains("cases") && run["cases"].is_object()) {
      const json& c = run["cases"];
      out_ << "<p class=\"meta\">cases: <code>" << h(str(c, "dir")) << "</code>";
      if (c.contains("git") && c["git"].is_object()) {
        out_ << " at commit <code>" << h(str(c["git"], "commit").substr(0, 12)) << "</code>";
        if (c["git"].value("dirty", false)) out_ << " (with changes)";
      }
      out_ << "</p>\n";
    }
    if (!str(run, "isolation").empty()) out_ << "<p class=\"meta\">" << h(str(run, "isolation")) << "</p>\n";
    if (run.contains("host") && run["host"].is_object()) {
      const json& host = run["host"];
      out_ << "<p class=\"meta\">host: " << h(str(host, "name")) << " · " << h(str(host, "system")) << " "
           << h(str(host, "release")) << " " << h(str(host, "machine")) << "</p>\n";
    }
    out_ << "<nav>";
    for (const auto& [primitive, rows] : m_.primitives)
      out_ << "<a href=\"#p-" << css_part(primitive) << "\">" << h(primitive) << "</a>";
    out_ << "<a href=\"#tags\">by tag</a>";
    if (!m_.malformed.empty()) out_ << "<a href=\"#malformed\">malformed case files</a>";
    out_ << "<a href=\"#traces\">traces</a></nav>\n";
    out_ << "<ul class=\"legend\" id=\"legend\">";
    for (const auto& s : kVerdictStyles)
      out_ << "<li><span class=\"v v-" << s.css << "\">" << badge(s.name) << "</span></li>";
    out_ << "</ul>\n<ul class=\"legend\"><li>levels:</li>";
    for (const char* l : {"required", "recommended", "cpython-specific"})
      out_ << "<li class=\"" << level_class(l) << "\"><span class=\"level\">" << l << "</span></li>";
    out_ << "</ul>\n</header>\n";
  }

  void counts_cell(const Counts& c, int total) {
    out_ << "<td>";
    const int passed = c.contains("passed") ? c.at("passed") : 0;
    out_ << passed << " of " << total << " passed";
    for (const auto& v : verdict_order(c)) {
      if (v == "passed") continue;
      out_ << " <span class=\"v " << verdict_class(v) << "\" title=\"" << h(v) << "\">"
           << badge(v, std::to_string(c.at(v))) << "</span>";
    }
    out_ << "</td>";
  }

  void column_heads() {
    for (const auto& c : m_.columns)
      out_ << "<th scope=\"col\" class=\"impl-head\">" << h(c.label) << "<span class=\"impl\">"
           << h(describe_hello(c.hello)) << "</span></th>";
  }

  void summary_head(const char* first) {
    out_ << "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th scope=\"col\">" << first << "</th>";
    column_heads();
    out_ << "</tr></thead>\n<tbody>\n";
  }

  void counts_row(const char* css, const std::string& head, const std::vector<const Row*>& rows) {
    out_ << "<tr class=\"" << css << "\"><th scope=\"row\">" << head << " (" << rows.size() << ")</th>";
    for (const auto& col : m_.columns) {
      Counts c;
      for (const Row* r : rows) count_cell(c, *r, col.label);
      counts_cell(c, static_cast<int>(rows.size()));
    }
    out_ << "</tr>\n";
  }

  // Per implementation and primitive: how many passed, and what the others were.
  void summary() {
    out_ << "<section id=\"summary\">\n<h2>Summary</h2>\n";
    summary_head("cases");
    for (const auto& [primitive, rows] : m_.primitives) {
      std::vector<const Row*> all;
      for (const auto& r : rows) all.push_back(&r);
      counts_row("primitive", "<a href=\"#p-" + css_part(primitive) + "\"><b>" + h(primitive) + "</b></a>", all);
    }
    out_ << "</tbody></table></div>\n";
    out_ << "<p class=\"meta\">";
    for (std::size_t i = 0; i < m_.columns.size(); ++i)
      out_ << (i ? " · " : "") << "<b>" << h(m_.columns[i].label) << "</b>: <code>--impl " << h(m_.columns[i].spec)
           << "</code>";
    out_ << " · <a href=\"#tags\">by tag</a></p>\n</section>\n";
  }

  // The same per primitive and tag; each tag links to the matrix showing only its cases.
  void tags_summary() {
    out_ << "<section id=\"tags\">\n<h2>By primitive and tag</h2>\n";
    summary_head("tag");
    for (const auto& [primitive, rows] : m_.primitives) {
      out_ << "<tr class=\"primitive\"><th scope=\"row\" colspan=\"" << m_.columns.size() + 1 << "\"><a href=\"#p-"
           << css_part(primitive) << "\"><b>" << h(primitive) << "</b></a></th></tr>\n";
      std::map<std::string, std::vector<const Row*>> by_tag;
      for (const auto& r : rows)
        for (const auto& t : r.tags) by_tag[t].push_back(&r);
      for (const auto& [tag, tagged] : by_tag)
        counts_row("tag-row", "<a class=\"tag\" href=\"#" + filter_id(primitive, tag) + "\">" + h(tag) + "</a>",
                   tagged);
    }
    out_ << "</tbody></table></div>\n</section>\n";
  }

  void matrix() {
    out_ << "<section id=\"matrix\">\n";
    for (const auto& [primitive, rows] : m_.primitives) {
      std::set<std::string> tags;
      for (const auto& r : rows) tags.insert(r.tags.begin(), r.tags.end());
      for (const auto& t : tags)
        out_ << "<p class=\"tag-filter\" id=\"" << filter_id(primitive, t) << "\">Showing the " << h(primitive)
             << " cases tagged <b>" << h(t) << "</b> · <a href=\"#matrix\">show all</a></p>\n";
    }
    for (const auto& [primitive, rows] : m_.primitives) {
      out_ << "<section class=\"primitive\" data-primitive=\"" << h(primitive) << "\">\n<h2 id=\"p-"
           << css_part(primitive) << "\">" << h(primitive) << " <small>" << rows.size() << " cases</small></h2>\n";
      out_ << "<div class=\"scroll\"><table class=\"matrix\">\n<thead><tr><th scope=\"col\" class=\"case\">case</th>";
      column_heads();
      out_ << "</tr></thead>\n<tbody>\n";
      for (const auto& r : rows) row(r);
      out_ << "</tbody></table></div>\n</section>\n";
    }
    out_ << "</section>\n";
  }

  void row(const Row& r) {
    out_ << "<tr class=\"case " << level_class(r.level);
    for (const auto& t : r.tags) out_ << " " << filter_id(r.primitive, t);
    out_ << "\" id=\"" << case_anchor(r.id) << "\" data-case=\"" << h(r.id) << "\" data-level=\"" << h(r.level)
         << "\">";
    const std::string name = r.id.size() > r.primitive.size() + 1 ? r.id.substr(r.primitive.size() + 1) : r.id;
    out_ << "<th scope=\"row\" class=\"case\"><a class=\"name src\" href=\"" << h(case_file_href(r, o_))
         << "\" title=\"" << h(r.file) << "\">" << h(name) << "</a><span class=\"level\">"
         << h(r.level.empty() ? "no level" : r.level) << "</span>";
    if (!r.title.empty()) out_ << "<div class=\"title\">" << h(r.title) << "</div>";
    if (!r.tags.empty()) {
      out_ << "<div class=\"tags\">";
      for (const auto& t : r.tags)
        out_ << "<a class=\"tag\" href=\"#" << filter_id(r.primitive, t) << "\">" << h(t) << "</a>";
      out_ << "</div>";
    }
    out_ << "</th>";
    for (const auto& col : m_.columns) {
      auto it = r.runs.find(col.label);
      if (it == r.runs.end() || it->second.empty()) {
        out_ << "<td class=\"cell\" data-impl=\"" << h(col.label)
             << "\" data-verdict=\"not run\"><span class=\"v v-notrun\">· not run</span></td>";
        continue;
      }
      const auto verdicts = cell_verdicts(it->second);
      std::string joined;
      for (const auto& v : verdicts) joined += (joined.empty() ? "" : " / ") + v;
      out_ << "<td class=\"cell\" data-impl=\"" << h(col.label) << "\" data-verdict=\"" << h(joined) << "\">";
      for (std::size_t i = 0; i < verdicts.size(); ++i) {
        // Each distinct verdict of repeated runs links to the first run that gave it.
        std::size_t run = 0;
        while (str(*it->second[run], "verdict") != verdicts[i]) ++run;
        const std::string reason = reason_of(*it->second[run]);
        out_ << (i ? " " : "") << "<a class=\"v " << verdict_class(verdicts[i]) << "\" href=\"#"
             << result_anchor(col.label, r.id, run) << "\" title=\""
             << h(reason.empty() ? verdicts[i] : verdicts[i] + ": " + reason) << "\">" << badge(verdicts[i]) << "</a>";
      }
      if (it->second.size() > 1) out_ << " <small>(" << it->second.size() << " runs)</small>";
      out_ << "</td>";
    }
    out_ << "</tr>\n";
  }

  void malformed() {
    if (m_.malformed.empty()) return;
    out_ << "<section id=\"malformed\">\n<h2>Malformed case files <small>" << m_.malformed.size()
         << "</small></h2>\n<ul>\n";
    for (const auto& e : m_.malformed) {
      Row fake;
      fake.file = str(e, "file");
      out_ << "<li><span class=\"v v-malformed\">" << badge("malformed case") << "</span> <a href=\""
           << h(case_file_href(fake, o_)) << "\">" << h(fake.file) << "</a>: <code>" << h(str(e, "error"))
           << "</code></li>\n";
    }
    out_ << "</ul>\n</section>\n";
  }

  void traces() {
    out_ << "<section id=\"traces\">\n<h2>Traces</h2>\n<p class=\"meta\">Each case × implementation: its verdict and "
            "reason, the command that "
            "reruns only it, and each step run with its expectation and what was observed.</p>\n";
    for (const auto& [primitive, rows] : m_.primitives)
      for (const auto& r : rows)
        for (const auto& col : m_.columns) {
          auto it = r.runs.find(col.label);
          if (it == r.runs.end()) continue;
          for (std::size_t run = 0; run < it->second.size(); ++run)
            trace(r, col, *it->second[run], run, it->second.size());
        }
    out_ << "</section>\n";
  }

  void trace(const Row& r, const Column& col, const json& res, std::size_t run, std::size_t runs) {
    const std::string verdict = str(res, "verdict");
    out_ << "<article class=\"trace " << verdict_class(verdict) << "-trace\" id=\""
         << result_anchor(col.label, r.id, run) << "\">\n";
    out_ << "<h3><a href=\"#" << case_anchor(r.id) << "\">" << h(r.id) << "</a> × " << h(col.label);
    if (runs > 1) out_ << " <small>run " << run + 1 << " of " << runs << "</small>";
    out_ << " <span class=\"v " << verdict_class(verdict) << "\">" << badge(verdict) << "</span></h3>\n<dl>\n";
    if (const std::string reason = reason_of(res); !reason.empty())
      out_ << "<dt>reason</dt><dd class=\"reason\">" << h(reason) << "</dd>\n";
    out_ << "<dt>case</dt><dd>" << h(r.title) << "</dd>\n";
    const int line = res.value("line", 1);
    out_ << "<dt>file</dt><dd><a class=\"src\" href=\"" << h(case_file_href(r, o_)) << "#L" << line << "\">"
         << h(r.file) << ":" << line << "</a></dd>\n";
    out_ << "<dt>level</dt><dd>" << h(r.level) << "</dd>\n";
    if (!r.spec.empty()) {
      const std::string href = spec_href(r.spec, o_);
      out_ << "<dt>spec</dt><dd>";
      if (href.empty())
        out_ << h(r.spec);
      else
        out_ << "<a class=\"spec\" href=\"" << h(href) << "\">" << h(r.spec) << "</a>";
      out_ << "</dd>\n";
    }
    if (res.contains("seconds") && res["seconds"].is_number())
      out_ << "<dt>time</dt><dd>" << fixed(res["seconds"].get<double>(), 3) << " s</dd>\n";
    out_ << "<dt>rerun</dt><dd><pre class=\"rerun\"><code>" << h(str(res, "rerun")) << "</code></pre></dd>\n</dl>\n";
    const json& steps = res.contains("trace") && res["trace"].is_array() ? res["trace"] : json::array();
    if (steps.empty()) {
      out_ << "<p class=\"meta\">No step was run.</p>\n";
    } else {
      out_ << "<div class=\"scroll\"><table class=\"steps\">\n<thead><tr><th scope=\"col\">step</th><th "
              "scope=\"col\">actor</th><th scope=\"col\">call</th>"
              "<th scope=\"col\">expected</th><th scope=\"col\">observed</th><th scope=\"col\">elapsed</th><th "
              "scope=\"col\">problem</th></tr></thead>\n<tbody>\n";
      for (const auto& st : steps) {
        const std::string problem = str(st, "problem");
        out_ << "<tr" << (problem.empty() ? "" : " class=\"bad\"") << "><td>" << st.value("step", 0) << " <small>(line "
             << st.value("line", 0) << ")</small></td><td>" << h(str(st, "actor")) << "</td><td>" << h(str(st, "call"))
             << "</td><td>" << h(str(st, "expected")) << "</td><td>" << h(str(st, "observed")) << "</td><td>"
             << (st.contains("elapsed") && st["elapsed"].is_number() ? fixed(st["elapsed"].get<double>(), 3) + " s"
                                                                     : std::string("—"))
             << "</td><td>" << h(problem) << "</td></tr>\n";
      }
      out_ << "</tbody></table></div>\n";
    }
    if (!str(res, "details").empty())
      out_ << "<details><summary>runner output</summary><pre>" << h(str(res, "details")) << "</pre></details>\n";
    out_ << "</article>\n";
  }

  const json& doc_;
  const PageOptions& o_;
  Model m_;
  std::ostringstream out_;
};

bool write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return static_cast<bool>(std::cout);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

fs::path output_dir(const std::string& path) {
  return path == "-" ? fs::current_path() : fs::absolute(path).parent_path();
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string href_path(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (is_hex_safe(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
      out += static_cast<char>(c);
    else
      out += "%" + upper_hex_byte(c);
  }
  // "//host/…" would be read as another host: one leading slash is a path.
  while (out.starts_with("//")) out.erase(0, 1);
  return out;
}

std::string markdown_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t')
      out += ' ';
    else if (c == '<')
      out += "&lt;";  // GitHub passes some HTML through
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (std::string_view("\\`*_[]|~").find(c) != std::string_view::npos)
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out;
}

const char* verdict_symbol(const std::string& verdict) {
  const VerdictStyle* s = style_of(verdict);
  return s ? s->symbol : "?";
}

std::string verdict_class(const std::string& verdict) {
  const VerdictStyle* s = style_of(verdict);
  return std::string("v-") + (s ? s->css : "unknown");
}

std::string render_html(const json& doc, const PageOptions& o) { return HtmlPage(doc, o).render(); }

std::string render_markdown(const json& doc, const PageOptions& o) {
  const Model m = build_model(doc);
  std::ostringstream out;
  auto md = [](std::string_view s) { return markdown_escape(s); };
  const json& run = doc.contains("run") && doc["run"].is_object() ? doc["run"] : json::object();
  std::size_t cases = 0;
  for (const auto& [_, rows] : m.primitives) cases += rows.size();
  out << "<!-- written by mpconform page from " << html_escape(o.source) << " -->\n";
  out << cases << " cases × " << m.columns.size() << " implementations";
  if (!str(run, "started").empty()) out << ", run " << md(str(run, "started"));
  if (run.contains("cases") && run["cases"].is_object() && run["cases"].contains("git") &&
      run["cases"]["git"].is_object())
    out << ", cases at commit " << md(str(run["cases"]["git"], "commit").substr(0, 12));
  out << ".\n\n";
  for (const auto& col : m.columns) {
    Counts c;
    for (const auto& [_, rows] : m.primitives)
      for (const auto& r : rows) count_cell(c, r, col.label);
    out << "- **" << md(col.label) << "** (" << md(describe_hello(col.hello)) << "):";
    bool first = true;
    for (const auto& v : verdict_order(c)) {
      out << (first ? " " : ", ") << c[v] << " " << verdict_symbol(v) << " " << md(v);
      first = false;
    }
    out << "\n";
  }
  out << "\nLegend:";
  bool first = true;
  for (const auto& s : kVerdictStyles) {
    out << (first ? " " : " · ") << s.symbol << " " << s.name;
    first = false;
  }
  out << " · `·` not run. Each case links to its case file.\n";
  for (const auto& [primitive, rows] : m.primitives) {
    out << "\n### " << md(primitive) << " (" << rows.size() << " cases)\n\n| case | level | tags |";
    for (const auto& col : m.columns) out << " " << md(col.label) << " |";
    out << "\n|:--|:--|:--|";
    for (std::size_t i = 0; i < m.columns.size(); ++i) out << ":-:|";
    out << "\n";
    for (const auto& r : rows) {
      const std::string name = r.id.size() > r.primitive.size() + 1 ? r.id.substr(r.primitive.size() + 1) : r.id;
      std::string tags;
      for (const auto& t : r.tags) tags += (tags.empty() ? "" : ", ") + md(t);
      out << "| [" << md(name) << "](" << case_file_href(r, o) << ") | " << md(r.level) << " | " << tags << " |";
      for (const auto& col : m.columns) {
        auto it = r.runs.find(col.label);
        if (it == r.runs.end() || it->second.empty()) {
          out << " · |";
          continue;
        }
        std::string cell;
        for (const auto& v : cell_verdicts(it->second))
          cell += (cell.empty() ? "" : " / ") + std::string(verdict_symbol(v));
        out << " " << cell << " |";
      }
      out << "\n";
    }
  }
  if (!m.malformed.empty()) {
    out << "\nMalformed case files:\n\n";
    for (const auto& e : m.malformed) out << "- ⊘ " << md(str(e, "error")) << "\n";
  }
  return out.str();
}

int page_main(const std::vector<std::string>& args) {
  std::string results, html, markdown, cases, spec;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto is = [&](const std::string& name) { return is_option(a, name); };
      auto value = [&](const std::string& name) { return option_value(args, i, name); };
      if (a == "--help" || a == "-h") {
        std::cout << kPageUsage;
        return 0;
      } else if (is("--html")) {
        html = value("--html");
      } else if (is("--markdown")) {
        markdown = value("--markdown");
      } else if (is("--cases")) {
        cases = value("--cases");
      } else if (is("--spec")) {
        spec = value("--spec");
      } else if (a.starts_with("-") && a != "-") {
        throw std::invalid_argument("unknown option " + a + " (see mpconform page --help)");
      } else if (results.empty()) {
        results = a;
      } else {
        throw std::invalid_argument("page takes one results file");
      }
    }
    if (results.empty()) throw std::invalid_argument("page needs a results file (see mpconform page --help)");
    if (html.empty() && markdown.empty())
      throw std::invalid_argument("page needs --html FILE, --markdown FILE or both");
  } catch (const std::invalid_argument& e) {
    std::cerr << "mpconform page: " << e.what() << "\n";
    return 2;
  }
  try {
    const json doc = read_results_file(results);
    PageOptions o;
    o.source = results;
    if (cases.empty() && doc.contains("run") && doc["run"].is_object() && doc["run"].contains("cases"))
      cases = str(doc["run"]["cases"], "dir");
    o.cases_dir = cases.empty() ? fs::path(".") : fs::path(cases);
    if (!spec.empty())
      o.spec_dir = spec;
    else if (fs::is_directory(o.cases_dir / ".." / "spec"))
      o.spec_dir = (o.cases_dir / ".." / "spec").lexically_normal();
    int rc = 0;
    if (!html.empty()) {
      o.out_dir = output_dir(html);
      if (!write_output(html, render_html(doc, o))) {
        std::cerr << "mpconform page: could not write " << html << "\n";
        rc = 2;
      }
    }
    if (!markdown.empty()) {
      o.out_dir = output_dir(markdown);
      if (!write_output(markdown, render_markdown(doc, o))) {
        std::cerr << "mpconform page: could not write " << markdown << "\n";
        rc = 2;
      }
    }
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "mpconform page: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace mpconform
