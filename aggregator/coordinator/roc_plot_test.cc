#include "aggregator/coordinator/roc_plot.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/validation_plan.h"
#include "core/file_util.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

// A small XML well-formedness check: every tag closed in order, attribute values quoted, text
// free of '<' and of '&' that does not start an entity, a single <svg> root.
::testing::AssertionResult WellFormed(const std::string& xml) {
  std::vector<std::string> open;
  int roots = 0;
  size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      const size_t semi = xml.find(';', i);
      const std::string entity = xml.substr(i, semi == std::string::npos ? 1 : semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;") {
        return ::testing::AssertionFailure() << "bare & at " << i;
      }
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return ::testing::AssertionFailure() << "unclosed < at " << i;
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) {
      return ::testing::AssertionFailure() << "< inside a tag at " << i;
    }
    size_t quotes = 0;
    for (char c : tag) quotes += c == '"';
    if (quotes % 2 != 0) return ::testing::AssertionFailure() << "unbalanced quotes: " << tag;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) {
        return ::testing::AssertionFailure() << "</" << tag.substr(1) << "> closes nothing open";
      }
      open.pop_back();
    } else {
      const bool self_closing = tag.back() == '/';
      const std::string name = tag.substr(0, tag.find_first_of(" /"));
      if (open.empty()) ++roots;
      if (open.empty() && name != "svg") return ::testing::AssertionFailure() << "root " << name;
      if (!self_closing) open.push_back(name);
    }
    i = end + 1;
  }
  if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> not closed";
  if (roots != 1) return ::testing::AssertionFailure() << roots << " roots";
  return ::testing::AssertionSuccess();
}

TEST(WellFormedTest, CatchesBrokenDocuments) {  // the checker itself can fail
  EXPECT_TRUE(WellFormed("<svg><text x=\"1\">a &amp; b</text><line/></svg>"));
  EXPECT_FALSE(WellFormed("<svg><text>a & b</text></svg>"));
  EXPECT_FALSE(WellFormed("<svg><text>a</svg></text>"));
  EXPECT_FALSE(WellFormed("<svg><text x=\"1>a</text></svg>"));
  EXPECT_FALSE(WellFormed("<svg></svg><svg></svg>"));
  EXPECT_FALSE(WellFormed("<svg><polyline></svg>"));
}

// The figures of a result as the report draws them: read through the wire module, none when it
// is not a model_evaluation result.
std::vector<RocFigure> Figures(const json& result) {
  absl::StatusOr<wire::EvaluationResult> parsed = wire::ParseEvaluationResult(result.dump());
  return parsed.ok() ? RocFigures(*parsed) : std::vector<RocFigure>{};
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// P positives, N negatives, counts (tp, fp) at grid 0, 0.5, 1.
json Roc(int p, int n, std::vector<std::pair<int, int>> counts) {
  json points = json::array();
  const double grid[] = {0, 0.5, 1};
  for (size_t k = 0; k < counts.size(); ++k) {
    points.push_back({{"threshold", grid[k]}, {"tp", counts[k].first}, {"fp", counts[k].second}});
  }
  return {{"positives", p}, {"negatives", n}, {"points", points}};
}

json Site(double auc, const json& roc) {
  return {{"status", "ok"},
          {"split", "all"},
          {"n", 30},
          {"events", 10},
          {"auc", {{"auc", auc}, {"ci_lower", auc - 0.1}, {"ci_upper", auc + 0.1}}},
          {"high_risk", {{"sensitivity", 0.5}, {"specificity", 0.5}, {"ppv", 0.5}, {"npv", 0.5}}},
          {"roc", roc}};
}

// Three models at sites kb and igr; "ScanCov" refused at igr; names that need escaping.
json Result() {
  json models = json::array();
  const char* names[] = {"ScanCov", "A&B <x>", "CURB-65"};
  for (int i = 0; i < 3; ++i) {
    json pooled_roc = Roc(20, 40, {{20, 40}, {15 - i, 10}, {0, 0}});
    pooled_roc.update({{"status", "ok"}, {"sites", 2}, {"auc_trapezoid", 0.75 - 0.05 * i}});
    json sites = {{"kb", Site(0.8, Roc(10, 20, {{10, 20}, {8, 5}, {0, 0}}))}};
    sites["igr"] = i == 0 ? json{{"status", "refused"}, {"reason", "fewer than 10 events"}}
                          : Site(0.7, Roc(10, 20, {{10, 20}, {7 - i, 5}, {0, 0}}));
    models.push_back(
        {{"name", names[i]},
         {"sites", sites},
         {"pooled",
          {{"auc", {{"auc", 0.75}, {"ci_lower", 0.7}, {"ci_upper", 0.8}}},
           {"high_risk", {{"sensitivity", 0.5}, {"specificity", 0.5}, {"ppv", 0.5}, {"npv", 0.5}}},
           {"roc", pooled_roc}}}});
  }
  return {{"analysis", "model_evaluation"},
          {"outcome", "severe"},
          {"sites", {"kb", "igr"}},
          {"models", models}};
}

TEST(RocPlotTest, OnePolylinePerModelPerFigure) {
  const std::vector<RocFigure> figures = Figures(Result());
  ASSERT_EQ(figures.size(), 3u);
  EXPECT_EQ(figures[0].file, "roc_pooled.svg");
  EXPECT_EQ(figures[1].file, "roc_site_kb.svg");
  EXPECT_EQ(figures[2].file, "roc_site_igr.svg");
  const int polylines[] = {3, 3, 2};  // ScanCov refused at igr
  for (size_t k = 0; k < figures.size(); ++k) {
    const std::string& svg = figures[k].svg;
    EXPECT_TRUE(WellFormed(svg)) << figures[k].file << "\n" << svg;
    EXPECT_EQ(Count(svg, "<polyline"), polylines[k]) << figures[k].file;
    EXPECT_TRUE(absl::StrContains(svg, "stroke-dasharray")) << "the diagonal";
    EXPECT_TRUE(absl::StrContains(svg, "1 - specificity"));
    EXPECT_TRUE(absl::StrContains(svg, ">sensitivity<"));
    EXPECT_TRUE(absl::StrContains(svg, "A&amp;B &lt;x&gt;"));
  }
  // Legends: the pooled curve's area in the pooled figure, the site's AUC in a site's.
  EXPECT_TRUE(absl::StrContains(figures[0].svg, "ScanCov (AUC 0.750)"));
  EXPECT_TRUE(absl::StrContains(figures[0].svg, "CURB-65 (AUC 0.650)"));
  EXPECT_TRUE(absl::StrContains(figures[1].svg, "ScanCov (AUC 0.800)"));
  // A model keeps its colour where another is missing: "A&B <x>" is orange in every figure.
  for (const RocFigure& f : figures) {
    EXPECT_TRUE(absl::StrContains(f.svg, "fill=\"#ff7f0e\">A&amp;B")) << f.file;
  }
  // Each curve runs from (1, 1) (top right of the 300 px square at x 60..360, y 40..340)
  // through the grid points to (0, 0): ScanCov pooled at 0.5 is (10/40, 15/20).
  EXPECT_TRUE(absl::StrContains(
      figures[0].svg, "points=\"360.0,40.0 360.0,40.0 135.0,115.0 60.0,340.0 60.0,340.0\""))
      << figures[0].svg;
}

TEST(RocPlotTest, NothingToDrawWithoutCurves) {
  json r = Result();
  for (json& m : r["models"]) {
    m["pooled"].erase("roc");
    for (auto& [site, s] : m["sites"].items()) s.erase("roc");
  }
  EXPECT_TRUE(Figures(r).empty());
  EXPECT_TRUE(Figures(json::array()).empty());
}

TEST(RocPlotTest, MalformedSiteEntriesDrawNothingAndNeverThrow) {
  json r = Result();
  json& kb = r["models"][1]["sites"]["kb"];
  kb["roc"]["points"] = 3;                                  // used to throw while iterating
  r["models"][2]["sites"]["kb"]["roc"]["positives"] = "x";  // used to throw in json::value
  // Refused or failed entries are stored as the site sent them: never drawn.
  r["models"][2]["sites"]["igr"] = {{"status", "failed"}, {"roc", {{"points", 3}}}};
  std::vector<RocFigure> figures;
  EXPECT_NO_THROW(figures = Figures(r));
  ASSERT_EQ(figures.size(), 3u);
  EXPECT_EQ(Count(figures[1].svg, "<polyline"), 1) << "kb: only ScanCov's curve is valid";
  EXPECT_EQ(Count(figures[2].svg, "<polyline"), 1) << "igr: only A&B's curve is left";
  for (const json& weird : {json{{"models", 5}}, json{{"models", {5, "x", nullptr}}},
                            json{{"sites", {"kb"}}, {"models", {{{"name", 3}, {"pooled", 4}}}}},
                            json{{"sites", {"kb"}}, {"models", {{{"sites", {{"kb", 7}}}}}}}}) {
    EXPECT_NO_THROW(EXPECT_TRUE(Figures(weird).empty())) << weird.dump();
  }
}

TEST(RocPlotTest, SiteFileNamesStayDistinct) {
  json r = Result();
  r["sites"] = {"a.b", "a_b", "kb"};
  for (json& m : r["models"]) {
    m["sites"]["a.b"] = m["sites"]["kb"];
    m["sites"]["a_b"] = m["sites"]["kb"];
  }
  const std::vector<RocFigure> figures = Figures(r);
  ASSERT_EQ(figures.size(), 4u);
  EXPECT_EQ(figures[2].file, "roc_site_a_b.svg");  // already safe: unchanged
  EXPECT_EQ(figures[3].file, "roc_site_kb.svg");
  EXPECT_NE(figures[1].file, figures[2].file);
  EXPECT_TRUE(absl::StartsWith(figures[1].file, "roc_site_a_b_")) << figures[1].file;
  EXPECT_TRUE(absl::EndsWith(figures[1].file, ".svg"));
}

v1::StudyStatus Study() {
  v1::StudyStatus status;
  status.set_study_id("val-severe-eval-0");
  status.set_state(v1::STUDY_STATE_DONE);
  status.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  status.mutable_spec()->add_sites("kb");
  status.mutable_spec()->add_sites("igr");
  status.mutable_spec()->set_spec_json(R"({"analysis": "model_evaluation", "outcome": "severe"})");
  v1::RoundStatus* round = status.add_rounds();
  round->set_state("closed");
  round->set_result_json(Result().dump());
  return status;
}

TEST(RocPlotTest, ReportWritesAndLinksTheFigures) {
  const std::string dir = ::testing::TempDir() + "roc_report";
  ASSERT_TRUE(WriteStudyReport(Study(), dir).ok());
  absl::StatusOr<std::string> md = ReadFileToString(dir + "/report.md");
  ASSERT_TRUE(md.ok());
  for (const char* file : {"roc_pooled.svg", "roc_site_kb.svg", "roc_site_igr.svg"}) {
    absl::StatusOr<std::string> svg = ReadFileToString(dir + "/" + file);
    ASSERT_TRUE(svg.ok()) << file;
    EXPECT_TRUE(WellFormed(*svg)) << file;
    EXPECT_TRUE(absl::StrContains(*md, absl::StrCat("](", file, ")"))) << *md;
  }
  ValidationPlan plan;
  plan.name = "val";
  plan.sites = {"kb", "igr"};
  plan.outcomes = {"severe"};
  const std::string matrix = ValidationMatrixMarkdown(plan, {Study()});
  EXPECT_TRUE(absl::StrContains(matrix, "(val-severe-eval-0/roc_pooled.svg)")) << matrix;
  EXPECT_TRUE(absl::StrContains(matrix, "(val-severe-eval-0/roc_site_igr.svg)")) << matrix;
}

}  // namespace
}  // namespace scancov::aggregator
