#include "aggregator/coordinator/roc_plot.h"

#include <cctype>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/xml_escape.h"
#include "models/stats/roc_counts.h"

namespace scancov::aggregator {
namespace {

// `name` with every character but letters, digits and '-' made '_'; when that changed
// anything, a short hash of the original is appended, so "a.b" and "a_b" get distinct files.
std::string FileSafe(const std::string& name) {
  std::string safe = name;
  for (char& ch : safe) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  }
  if (safe == name) return safe;
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds and platforms
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  return absl::StrFormat("%s_%08x", safe, h);
}

// (FPR, TPR) from (1, 1) through the released grid points to (0, 0); empty without a curve or
// without events or non-events.
std::vector<std::pair<double, double>> CurvePoints(const stats::GridRoc& counts) {
  std::vector<std::pair<double, double>> points;
  if (counts.positives <= 0 || counts.negatives <= 0) return points;
  const double p = static_cast<double>(counts.positives);
  const double n = static_cast<double>(counts.negatives);
  points.push_back({1, 1});
  for (const stats::GridRocPoint& pt : counts.points) {
    points.push_back({pt.false_positives / n, pt.true_positives / p});
  }
  points.push_back({0, 0});
  return points;
}

}  // namespace

std::string RocCurveSvg(const std::string& title, const std::vector<RocSeries>& series) {
  constexpr double kW = 600, kH = 400, kL = 60, kT = 40, kSide = 300;  // square plot area
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  auto px = [&](double x) { return kL + x * kSide; };
  auto py = [&](double y) { return kT + (1 - y) * kSide; };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"%.0f\" y=\"22\" font-size=\"14\">ROC: %s</text>\n",
      kW, kH, kL, XmlEscape(title));
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                        "stroke=\"#444\"/>\n<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
                        "stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n",
                        kL, kT, kSide, kSide, px(0), py(0), px(1), py(1));
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.1f</text>"
                          "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                          px(v), py(0) + 16, v, kL - 6, py(v) + 4, v);
  }
  absl::StrAppendFormat(
      &svg,
      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">1 - specificity</text>\n"
      "<text x=\"16\" y=\"%.0f\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 16 %.0f)\">sensitivity</text>\n",
      px(0.5), py(0) + 34, py(0.5), py(0.5));
  for (size_t i = 0; i < series.size(); ++i) {
    const RocSeries& s = series[i];
    const char* color = kColors[(s.color >= 0 ? static_cast<size_t>(s.color) : i) % 8];
    std::vector<std::string> coords;
    for (const auto& [x, y] : s.points) {
      coords.push_back(absl::StrFormat("%.1f,%.1f", px(x), py(y)));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                          "points=\"%s\"/>\n",
                          color, absl::StrJoin(coords, " "));
    const std::string legend =
        std::isfinite(s.auc) ? absl::StrFormat("%s (AUC %.3f)", s.label, s.auc) : s.label;
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", px(1) + 16,
                          kT + 10 + 18.0 * i, color, XmlEscape(legend));
  }
  return svg + "</svg>\n";
}

std::vector<RocFigure> RocFigures(const wire::EvaluationResult& result) {
  const std::vector<std::string>& sites = result.sites;
  std::vector<RocSeries> pooled;
  std::vector<std::vector<RocSeries>> per_site(sites.size());
  int index = 0;
  for (const wire::EvaluationModelResult& m : result.models) {
    const int color = index++;
    const wire::PooledEvaluation& p = m.pooled;
    if (p.has_roc && p.roc_error.empty()) {
      std::vector<std::pair<double, double>> points = CurvePoints(p.roc);
      if (!points.empty())
        pooled.push_back({m.name, p.roc_auc_trapezoid, std::move(points), color});
    }
    for (size_t k = 0; k < sites.size(); ++k) {
      auto it = m.sites.find(sites[k]);
      if (it == m.sites.end()) continue;
      const wire::ModelAnswer& s = it->second;
      // Refused or failed, or a curve that is not valid ROC counts: no curve.
      if (s.status != "ok" || !s.roc.has_value()) continue;
      std::vector<std::pair<double, double>> points = CurvePoints(*s.roc);
      if (points.empty()) continue;
      per_site[k].push_back({m.name, s.auc.auc, std::move(points), color});
    }
  }
  std::vector<RocFigure> figures;
  if (!pooled.empty()) {
    figures.push_back({"roc_pooled.svg", "all sites",
                       RocCurveSvg("all sites (counts summed over sites)", pooled)});
  }
  for (size_t k = 0; k < sites.size(); ++k) {
    if (per_site[k].empty()) continue;
    figures.push_back({absl::StrCat("roc_site_", FileSafe(sites[k]), ".svg"), sites[k],
                       RocCurveSvg(absl::StrCat("site ", sites[k]), per_site[k])});
  }
  return figures;
}

}  // namespace scancov::aggregator
