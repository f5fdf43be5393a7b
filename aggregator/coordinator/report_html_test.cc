// report.html: one self-contained page (no script, nothing loaded from anywhere, every figure
// inline) that shows another party's text (site ids, variable names, messages) as text.
#include "aggregator/coordinator/report_html.h"

#include <gmock/gmock.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/validation_heatmap.h"
#include "core/file_util.h"
#include "protocol/wire/univariate_association.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every src=, href= or xlink:href= inside a tag of the page (text between tags is not markup).
std::vector<std::string> References(const std::string& html) {
  std::vector<std::string> refs;
  static const std::regex kRef(R"re(\b(src|href)\s*=\s*["']?([^"'\s>]*))re", std::regex::icase);
  for (size_t lt = html.find('<'); lt != std::string::npos; lt = html.find('<', lt + 1)) {
    const std::string tag = html.substr(lt, html.find('>', lt) - lt);
    for (auto it = std::sregex_iterator(tag.begin(), tag.end(), kRef); it != std::sregex_iterator();
         ++it) {
      refs.push_back((*it)[2]);
    }
  }
  return refs;
}

// The page's text outside its <style> and inside no tag: what a reader sees.
std::string VisibleText(const std::string& html) {
  std::string text;
  const size_t style_end = html.find("</style>");
  bool in_tag = false;
  for (size_t i = style_end == std::string::npos ? 0 : style_end; i < html.size(); ++i) {
    if (html[i] == '<') in_tag = true;
    if (!in_tag) text += html[i];
    if (html[i] == '>') in_tag = false;
  }
  return text;
}

// A univariate association study over sites named `a` and `b` with one term named `term`.
v1::StudyStatus AssociationStudy(const std::string& a, const std::string& b,
                                 const std::string& term) {
  wire::AssociationTable t;
  t.options.outcome = "severe";
  t.sites = {a, b};
  t.site_counts = {{a, {646, 120}}, {b, {135, 40}}};
  t.tests = 1;
  wire::AssociationRow row;
  row.term = row.variable = term;
  row.type = "continuous";
  wire::AssociationTerm site;
  site.term = site.variable = term;
  site.type = "continuous";
  site.status = "ok";
  site.n = 646, site.events = 120;
  site.odds_ratio = 1.8, site.ci_lower = 1.4, site.ci_upper = 2.3;
  site.log_or = std::log(1.8), site.se = 0.13, site.z = site.log_or / site.se, site.p = 1e-5;
  row.sites[a] = site;
  wire::AssociationTerm refused = site;
  refused.status = "refused";
  refused.reason = "fewer than 10 events";
  refused.n = refused.events = 0;
  refused.odds_ratio = refused.ci_lower = refused.ci_upper = 0;
  row.sites[b] = refused;
  row.sites_used = 1;
  row.combined = true;
  row.p_combined = row.p_adjusted = 1e-5;
  row.significant = true;
  row.fe_or = 1.8, row.fe_ci_lower = 1.4, row.fe_ci_upper = 2.3;
  t.rows = {row};
  v1::StudyStatus st;
  st.set_study_id("table1");
  st.set_state(v1::STUDY_STATE_DONE);
  st.set_created_unix(1796126400);  // 2026-12-01 12:00 UTC
  st.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  st.mutable_spec()->set_study_kind("univariate_association");
  st.mutable_spec()->add_sites(a);
  st.mutable_spec()->add_sites(b);
  v1::RoundStatus* r = st.add_rounds();
  r->set_round(1);
  r->set_state("closed");
  r->set_result_json(wire::ToJson(t));
  for (const std::string& s : {a, b}) {
    v1::SiteRoundStatus* site_round = r->add_sites();
    site_round->set_site_id(s);
    site_round->set_state("done");
  }
  return st;
}

// A training study with two global metrics: two per-round charts.
v1::StudyStatus TrainingStudy(const std::string& site) {
  v1::StudyStatus st;
  st.set_study_id("severity");
  st.set_state(v1::STUDY_STATE_DONE);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->set_study_kind("tabular_training");
  st.mutable_spec()->set_rounds(2);
  st.mutable_spec()->add_sites(site);
  for (int round = 1; round <= 3; ++round) {
    v1::RoundStatus* r = st.add_rounds();
    r->set_round(round);
    r->set_state("closed");
    (*r->mutable_metrics())["global.n_val"] = 287;
    (*r->mutable_metrics())["global.val_auc"] = 0.7 + 0.05 * round;
    (*r->mutable_metrics())["global.val_loss"] = 0.6 - 0.1 * round;
    v1::SiteRoundStatus* s = r->add_sites();
    s->set_site_id(site);
    s->set_state("done");
    s->set_num_samples(287);
    (*s->mutable_metrics())["global.val_auc"] = 0.7 + 0.05 * round;
  }
  return st;
}

// Checks what every report page must be: self-contained, no script, every image a figure
// inlined, no "nan"/"inf" in its text.
void ExpectSelfContained(const std::string& html) {
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<iframe")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  for (const std::string& ref : References(html)) {
    EXPECT_TRUE(absl::StartsWith(ref, "#")) << "refers outside the page: " << ref;
  }
  // Nor in the figures' coordinates.
  static const std::regex kNotANumber(R"(\b(nan|NaN|inf)\b)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html.substr(html.find("</style>")), kNotANumber)) << html;
  EXPECT_FALSE(std::regex_search(VisibleText(html), kNotANumber));
}

TEST(ReportHtmlTest, TrainingPageIsSelfContainedWithItsChartsInline) {
  const v1::StudyStatus st = TrainingStudy("kb");
  const std::string html = StudyReportHtml(st);
  ExpectSelfContained(html);
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<title>Study severity</title>"));
  EXPECT_THAT(html, HasSubstr("<dd>tabular_training</dd>"));
  EXPECT_THAT(html, HasSubstr("<dd>done</dd>"));
  // One inline chart per global metric but n_val, each the chart MetricChartSvg draws.
  EXPECT_EQ(Count(html, "<svg"), 2);
  EXPECT_THAT(html, HasSubstr("global.val_auc per round"));
  EXPECT_THAT(html, HasSubstr("global.val_loss per round"));
  EXPECT_THAT(html, HasSubstr("viewBox=\"0 0 640 360\""));
  // The table of contents links each section, which has the anchor.
  for (const char* section : {"Rounds", "Charts"}) {
    const std::string title = absl::StrCat("\">", section, "</a>");
    ASSERT_THAT(html, HasSubstr(title));
    const size_t at = html.rfind("href=\"#", html.find(title));
    const std::string id = html.substr(at + 7, html.find('"', at + 7) - at - 7);
    EXPECT_THAT(html, HasSubstr(absl::StrCat("<h2 id=\"", id, "\">", section, "</h2>")));
  }
  // Numbers right-aligned and for people; a metric a round lacks is an explicit dash.
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">287</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.85</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<td></td>")));
}

TEST(ReportHtmlTest, AssociationPageHasTableOneAndTheForestPlotInline) {
  const std::string html = StudyReportHtml(AssociationStudy("kb", "igr", "age"));
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<svg"), 1);
  EXPECT_THAT(html, HasSubstr("Odds ratios for severe"));
  EXPECT_THAT(html, HasSubstr("<dd>2026-12-01 12:00 UTC</dd>"));
  EXPECT_THAT(html, HasSubstr("Univariate association with <code>severe</code></h2>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">646</td>"));
  EXPECT_THAT(html, HasSubstr("1.80 (1.40-2.30)"));
}

TEST(ReportHtmlTest, OtherPartiesTextIsShownEscapedAndNeverRuns) {
  const std::string script = "<script>alert(1)</script>";
  const std::string img = "\"><img src=x onerror=alert(2)>";
  v1::StudyStatus st = AssociationStudy(script, "igr", img);
  st.set_state(v1::STUDY_STATE_FAILED);
  st.set_message(
      "[click](http://evil.example/phish) ![pixel](http://evil.example/p.png) "
      "<a href=\"javascript:alert(3)\">x</a> <style>body{display:none}</style>");
  const std::string html = StudyReportHtml(st);
  ExpectSelfContained(html);
  EXPECT_THAT(html, Not(HasSubstr("onerror=alert(2)>")));
  EXPECT_EQ(Count(html, "<style"), 1) << "only the page's own";
  // Shown, escaped, where a reader looks for it: the site in the tables, the term in Table 1,
  // both in the forest plot, the message in the header and the state line.
  EXPECT_GE(Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 4);
  EXPECT_GE(Count(html, "&lt;img src=x onerror=alert(2)&gt;"), 2);
  EXPECT_THAT(html, HasSubstr("click"));
  EXPECT_THAT(html, HasSubstr("pixel"));
  EXPECT_EQ(Count(html, "<svg"), 1) << "the forest plot, still there";
  // A training study's site, in the per-round charts' legends (SVG inlined as it is).
  const std::string charts = StudyReportHtml(TrainingStudy(script));
  ExpectSelfContained(charts);
  EXPECT_EQ(Count(charts, "<svg"), 2);
  EXPECT_EQ(Count(charts, "\">&lt;script&gt;alert(1)&lt;/script&gt;</text>"), 1)
      << "global.val_auc's legend";
}

TEST(ReportHtmlTest, OnlyTheReportsOwnFiguresAreInlined) {
  HtmlPage page;
  page.title = "t";
  page.markdown =
      "## A\n\n![mine](a.svg) ![not mine](b.svg) [anchor](#sec-1)\n\n| x | y |\n|---|---|\n"
      "| 1.5 (0.2-3) | |\n| -2 | n/a |\n";
  page.figures = {{"a.svg", "<svg width=\"10\" height=\"20\"><text>A</text></svg>\n"}};
  const std::string html = RenderHtmlPage(page);
  EXPECT_THAT(html, HasSubstr("<svg viewBox=\"0 0 10 20\" width=\"10\" height=\"20\">"));
  EXPECT_EQ(Count(html, "<svg"), 1);
  EXPECT_THAT(html, HasSubstr("<span class=\"cap\">mine</span>"));
  EXPECT_THAT(html, HasSubstr("not mine"));
  EXPECT_THAT(html, HasSubstr("<a href=\"#sec-1\">anchor</a>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">1.5 (0.2-3)</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"na\">—</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">-2</td>"));
  EXPECT_THAT(html, HasSubstr("<td>n/a</td>"));
}

TEST(ReportHtmlTest, WriteStudyReportWritesTheSamePage) {
  const v1::StudyStatus st = TrainingStudy("kb");
  const std::string dir = ::testing::TempDir() + "html_report";
  ASSERT_TRUE(WriteStudyReport(st, dir).ok());
  absl::StatusOr<std::string> html = ReadFileToString(dir + "/report.html");
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_EQ(*html, StudyReportHtml(st));
}

nlohmann::json Answer(double auc, const std::string& split) {
  return {{"status", "ok"},
          {"split", split},
          {"n", 60},
          {"events", 20},
          {"auc", {{"auc", auc}, {"ci_lower", auc - 0.08}, {"ci_upper", auc + 0.05}}},
          {"high_risk", {{"tp", 10}, {"fp", 10}, {"tn", 30}, {"fn", 10}}}};
}

// An evaluation study: "at kb" (held out at kb, 0.9; 0.5 at igr) and a hostile-named model that
// igr refused.
v1::StudyStatus EvaluationStudy() {
  nlohmann::json models = nlohmann::json::array();
  models.push_back({{"name", "at kb"},
                    {"sites", {{"kb", Answer(0.9, "holdout")}, {"igr", Answer(0.5, "all")}}}});
  models.push_back({{"name", "<b>x</b>"},
                    {"sites",
                     {{"kb", Answer(0.75, "all")},
                      {"igr", {{"status", "refused"}, {"reason", "fewer than 10 events"}}}}}});
  const nlohmann::json result = {{"analysis", "model_evaluation"},
                                 {"outcome", "severe"},
                                 {"sites", {"kb", "igr"}},
                                 {"models", models},
                                 {"comparisons", {{"kb", nlohmann::json::array()}}}};
  v1::StudyStatus st;
  st.set_study_id("val-severe-eval-0");
  st.set_state(v1::STUDY_STATE_DONE);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  st.mutable_spec()->set_study_kind("model_evaluation");
  v1::RoundStatus* r = st.add_rounds();
  r->set_state("closed");
  r->set_result_json(result.dump());
  return st;
}

TEST(ValidationHeatMapTest, OneCellPerModelAndSiteColouredByAuc) {
  ValidationPlan plan;
  plan.name = "val";
  plan.sites = {"kb", "igr", "hegp"};
  plan.outcomes = {"severe", "death"};
  const std::vector<v1::StudyStatus> evaluations = {EvaluationStudy()};
  const std::string svg = ValidationHeatMapSvg(plan, evaluations, "severe");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(ValidationHeatMapSvg(plan, evaluations, "death"), "") << "no result for death";
  // 2 models x 3 sites cells plus 6 scale swatches; 0.9 is dark green, 0.5 white.
  EXPECT_EQ(Count(svg, "<rect x="), 12);
  EXPECT_THAT(svg, HasSubstr(">0.90*</text>"));
  EXPECT_THAT(svg, HasSubstr(">0.82-0.95</text>"));
  EXPECT_THAT(svg, HasSubstr("fill=\"#ffffff\" stroke"));
  EXPECT_THAT(svg, HasSubstr(">refused</text>"));
  EXPECT_THAT(svg, HasSubstr(">—</text>")) << "not evaluated at hegp";
  EXPECT_THAT(svg, HasSubstr("&lt;b&gt;x&lt;/b&gt;"));
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
  const std::vector<ReportFile> files = ValidationHeatMaps(plan, evaluations);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "auc_heatmap_severe.svg");
  const std::string html = ValidationReportHtml(plan, evaluations);
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<svg"), 1) << "the heat map inline";
  EXPECT_THAT(html, HasSubstr("AUC heat map, outcome severe"));
}

TEST(ReportHtmlTest, EvaluationPageHasItsAucsAndNoTableWithoutRows) {
  const std::string html = StudyReportHtml(EvaluationStudy());
  ExpectSelfContained(html);
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.900 (0.820-0.950)</td>"));
  EXPECT_THAT(html, HasSubstr("refused: fewer than 10 events"));
  // No site compared two models: no "Paired comparisons" header over an empty table.
  EXPECT_THAT(html, Not(HasSubstr("Paired comparisons")));
}

}  // namespace
}  // namespace scancov::aggregator
