// The escaping and naming of `mpconform page` (page.cpp); tests/runner/test_page.py renders whole
// pages in Chromium.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "page.hpp"

namespace mpconform {
namespace {

TEST(Page, HtmlEscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  EXPECT_EQ(html_escape("plain é ✓"), "plain é ✓");
}

TEST(Page, AnHrefIsAPathAndNothingElse) {
  EXPECT_EQ(href_path("../cases/pipe/odd name#1.yaml"), "../cases/pipe/odd%20name%231.yaml");
  EXPECT_EQ(href_path("javascript:alert(1)"), "javascript%3Aalert%281%29");  // no scheme
  EXPECT_EQ(href_path("x?y=\"z\"<"), "x%3Fy%3D%22z%22%3C");
  EXPECT_EQ(href_path("//other.host/x"), "/other.host/x");  // not a network-path reference
  EXPECT_EQ(href_path("caf\xc3\xa9.yaml"), "caf%C3%A9.yaml");
}

TEST(Page, MarkdownEscapesWhatATableCellWouldRead) {
  EXPECT_EQ(markdown_escape("a|b <i>_x_</i> [l](u) `c`\nnext"),
            "a\\|b &lt;i&gt;\\_x\\_&lt;/i&gt; \\[l\\](u) \\`c\\` next");
}

// Every verdict the results schema names has its own symbol and style: a verdict added to the
// format without one would be shown as "?".
TEST(Page, EveryVerdictOfTheSchemaHasItsOwnSymbolAndClass) {
  std::ifstream in(std::string(MPC_SOURCE_DIR) + "/spec/results.schema.json");
  const json schema = json::parse(in);
  const json& verdicts = schema["definitions"]["verdict"]["enum"];
  ASSERT_GE(verdicts.size(), 13u);
  std::set<std::string> symbols, classes;
  for (const auto& v : verdicts) {
    EXPECT_STRNE(verdict_symbol(v), "?") << v;
    EXPECT_NE(verdict_class(v), "v-unknown") << v;
    symbols.insert(verdict_symbol(v));
    classes.insert(verdict_class(v));
  }
  EXPECT_EQ(symbols.size(), verdicts.size());
  EXPECT_EQ(classes.size(), verdicts.size());
  EXPECT_STREQ(verdict_symbol("a verdict from the future"), "?");
}

json result(const std::string& impl, const std::string& id, const std::string& verdict, const std::string& reason) {
  return {{"implementation", impl}, {"case", id},          {"file", "x/y.yaml"}, {"line", 1},
          {"title", "<b>t</b>"},    {"level", "required"}, {"tags", {"t<1>"}},   {"spec", "x.md#s"},
          {"verdict", verdict},     {"reason", reason},    {"seconds", 0.1},     {"rerun", "r"},
          {"trace", json::array()}, {"details", ""}};
}

TEST(Page, NoTextOfAResultsFileBecomesMarkup) {
  const json doc = {
      {"format", "mpconform-results/1"},
      {"implementations",
       {{{"label", "a"}, {"spec", "<i>"}, {"implementation", {{"name", "<img src=x>"}, {"semantics", "3.11"}}}}}},
      {"results", {result("a", "x.<script>", "failed", "<script>alert(1)</script>")}},
      {"malformed", json::array()}};
  PageOptions o;
  o.cases_dir = "/cases";
  o.out_dir = "/out";
  const std::string html = render_html(doc, o);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>t</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;t&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("href=\"../cases/x/y.yaml\""), std::string::npos);
  const std::string md = render_markdown(doc, o);
  EXPECT_EQ(md.find("<script"), std::string::npos);
  EXPECT_EQ(md.find("<img"), std::string::npos);
}

// Anchors join label and case id with '-', which neither part keeps: two results never share one.
TEST(Page, TwoResultsNeverShareAnAnchor) {
  const json doc = {{"format", "mpconform-results/1"},
                    {"implementations",
                     {{{"label", "a"}, {"spec", ""}, {"implementation", nullptr}},
                      {{"label", "a-b"}, {"spec", ""}, {"implementation", nullptr}}}},
                    {"results", {result("a", "b-c.d", "passed", ""), result("a-b", "c.d", "passed", "")}},
                    {"malformed", json::array()}};
  const std::string html = render_html(doc, PageOptions{});
  EXPECT_NE(html.find("id=\"r-a-b~2dc.d\""), std::string::npos);
  EXPECT_NE(html.find("id=\"r-a~2db-c.d\""), std::string::npos);
}

}  // namespace
}  // namespace mpconform
