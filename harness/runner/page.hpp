// `mpconform page`: the compatibility page of a results file (spec/results.md#compatibility-page):
// one self-contained HTML file (cases × implementations, grouped by primitive, each cell linked to
// its trace) and the same matrix as GitHub Markdown tables.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "session.hpp"

namespace mpconform {

struct PageOptions {
  // Links to case files and spec pages are relative to the directory the page is written to, so
  // that a page written into a checkout works from it wherever it is checked out.
  std::filesystem::path out_dir = ".";
  std::filesystem::path cases_dir;  // the case tree the results' `file`s are relative to
  std::filesystem::path spec_dir;   // spec pages, for the cases' `spec` anchors; empty: shown unlinked
  std::string source;               // the results file, named in the page
};

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

// A path for an href: every byte but unreserved characters and '/' percent-encoded (so that no
// scheme, query or fragment can be smuggled in by a file name).
std::string href_path(std::string_view path);

// Text for a GitHub Markdown table cell: Markdown punctuation backslash-escaped, '|' too, line
// breaks as spaces.
std::string markdown_escape(std::string_view text);

// The text symbol and the CSS class of a verdict ("passed" -> "✓", "v-passed"); "?" and
// "v-unknown" for a verdict this runner does not know.
const char* verdict_symbol(const std::string& verdict);
std::string verdict_class(const std::string& verdict);

// The page and the tables of a results document (read_results_file).
std::string render_html(const json& doc, const PageOptions& o);
std::string render_markdown(const json& doc, const PageOptions& o);

// `mpconform page ARGS…` (the args after "page"). Exit code 0, or 2 when the results file cannot
// be read or an output cannot be written.
int page_main(const std::vector<std::string>& args);

}  // namespace mpconform
