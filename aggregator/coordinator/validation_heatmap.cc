#include "aggregator/coordinator/validation_heatmap.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report_html.h"
#include "core/xml_escape.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {
namespace {

struct Cell {
  bool has_auc = false;
  double auc = 0, lo = 0, hi = 0;
  bool holdout = false;
  std::string status;  // without an AUC: what the site answered
};

struct Matrix {
  std::vector<std::string> models;                           // in the order the studies list them
  std::map<std::string, std::map<std::string, Cell>> cells;  // model -> site -> cell
};

Matrix Collect(const std::vector<v1::StudyStatus>& evaluations, const std::string& outcome) {
  Matrix m;
  for (const v1::StudyStatus& st : evaluations) {
    if (st.rounds().empty()) continue;
    absl::StatusOr<wire::EvaluationResult> r =
        wire::ParseEvaluationResult(st.rounds().rbegin()->result_json());
    if (!r.ok() || r->outcome != outcome) continue;
    for (const wire::EvaluationModelResult& model : r->models) {
      if (!m.cells.count(model.name)) m.models.push_back(model.name);
      for (const auto& [site, s] : model.sites) {
        Cell& c = m.cells[model.name][site];
        c.has_auc = s.status == "ok" && std::isfinite(s.auc.auc);
        c.auc = s.auc.auc, c.lo = s.auc.ci_lower, c.hi = s.auc.ci_upper;
        c.holdout = s.split == "holdout";
        c.status = s.status == "ok" ? "no AUC" : s.status;
      }
    }
  }
  return m;
}

// White at 0.5 (chance) to dark green at 1; white to red below 0.5.
std::string Colour(double auc) {
  const double t = std::clamp(std::abs(auc - 0.5) * 2, 0.0, 1.0);
  const int r0 = 255, g0 = 255, b0 = 255;
  const int r1 = auc >= 0.5 ? 0x1b : 0xc0, g1 = auc >= 0.5 ? 0x78 : 0x39,
            b1 = auc >= 0.5 ? 0x3c : 0x2b;
  auto mix = [&](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return absl::StrFormat("#%02x%02x%02x", mix(r0, r1), mix(g0, g1), mix(b0, b1));
}

std::string Ci(const Cell& c) {
  if (!std::isfinite(c.lo) || !std::isfinite(c.hi)) return "CI n/a";
  return absl::StrFormat("%.2f-%.2f", c.lo, c.hi);
}

}  // namespace

std::string HeatMapFile(const std::string& outcome) {
  std::string safe = outcome;
  for (char& ch : safe) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  }
  return absl::StrCat("auc_heatmap_", safe, ".svg");
}

std::string ValidationHeatMapSvg(const ValidationPlan& plan,
                                 const std::vector<v1::StudyStatus>& evaluations,
                                 const std::string& outcome) {
  const Matrix m = Collect(evaluations, outcome);
  if (m.models.empty()) return "";
  size_t longest = 10;
  for (const std::string& name : m.models) longest = std::max(longest, name.size());
  const double kCellW = 130, kCellH = 38, kTop = 60, kLeft = 20 + 7.0 * longest;
  const double width = kLeft + kCellW * plan.sites.size() + 120;
  const double height = kTop + kCellH * m.models.size() + 40;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">AUC (95%% DeLong CI) of each "
      "model at each site, outcome %s</text>\n",
      width, height, XmlEscape(outcome));
  for (size_t j = 0; j < plan.sites.size(); ++j) {
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" "
                          "font-weight=\"bold\">%s</text>\n",
                          kLeft + kCellW * (j + 0.5), kTop - 8, XmlEscape(plan.sites[j]));
  }
  for (size_t i = 0; i < m.models.size(); ++i) {
    const double y = kTop + kCellH * i;
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                          kLeft - 8, y + kCellH / 2 + 4, XmlEscape(m.models[i]));
    const std::map<std::string, Cell>& row = m.cells.at(m.models[i]);
    for (size_t j = 0; j < plan.sites.size(); ++j) {
      const double x = kLeft + kCellW * j;
      auto it = row.find(plan.sites[j]);
      const bool has = it != row.end() && it->second.has_auc;
      const std::string fill = has ? Colour(it->second.auc) : "#eeeeee";
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                            "fill=\"%s\" stroke=\"white\" stroke-width=\"2\"/>\n",
                            x, y, kCellW, kCellH, fill);
      const bool dark = has && std::abs(it->second.auc - 0.5) > 0.3;
      const char* ink = dark ? "white" : "#222";
      if (has) {
        const Cell& c = it->second;
        absl::StrAppendFormat(&svg,
                              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\" "
                              "font-weight=\"bold\">%s%s</text>\n<text x=\"%.1f\" y=\"%.1f\" "
                              "text-anchor=\"middle\" fill=\"%s\" font-size=\"10\">%s</text>\n",
                              x + kCellW / 2, y + 16, ink, absl::StrFormat("%.2f", c.auc),
                              c.holdout ? "*" : "", x + kCellW / 2, y + 30, ink, Ci(c));
      } else {
        absl::StrAppendFormat(&svg,
                              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                              "fill=\"#666\">%s</text>\n",
                              x + kCellW / 2, y + kCellH / 2 + 4,
                              it == row.end() ? "—" : XmlEscape(it->second.status));
      }
    }
  }
  // The colour scale: 0.5 to 1 in steps of 0.1.
  const double lx = kLeft + kCellW * plan.sites.size() + 20;
  for (int k = 0; k <= 5; ++k) {
    const double auc = 1.0 - 0.1 * k;
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.0f\" y=\"%.0f\" width=\"18\" height=\"16\" fill=\"%s\"/>"
                          "<text x=\"%.0f\" y=\"%.0f\">%.1f</text>\n",
                          lx, kTop + 16.0 * k, Colour(auc), lx + 24, kTop + 16.0 * k + 12, auc);
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"10\" y=\"%.0f\" font-size=\"11\">* held-out part of a "
                        "site the model was trained on</text>\n",
                        height - 12);
  return svg + "</svg>\n";
}

std::vector<ReportFile> ValidationHeatMaps(const ValidationPlan& plan,
                                           const std::vector<v1::StudyStatus>& evaluations) {
  std::vector<ReportFile> files;
  for (const std::string& outcome : plan.outcomes) {
    std::string svg = ValidationHeatMapSvg(plan, evaluations, outcome);
    if (!svg.empty()) files.push_back({HeatMapFile(outcome), std::move(svg)});
  }
  return files;
}

std::string ValidationReportHtml(const ValidationPlan& plan,
                                 const std::vector<v1::StudyStatus>& evaluations) {
  HtmlPage page;
  page.title = absl::StrCat("External validation ", plan.name);
  page.facts = {{"plan", plan.name},
                {"sites", absl::StrJoin(plan.sites, ", ")},
                {"outcomes", absl::StrJoin(plan.outcomes, ", ")},
                {"evaluation studies", absl::StrCat(evaluations.size())}};
  page.markdown = ValidationMatrixMarkdown(plan, evaluations);
  page.figures = ValidationHeatMaps(plan, evaluations);
  return RenderHtmlPage(page);
}

}  // namespace scancov::aggregator
