// Rendering of model-evaluation (external validation) studies: the seed's Figure 3 / Supp
// Table 3 shape (AUC with 95% CI per model and site), the high-risk group's sensitivity,
// specificity, PPV and NPV, ROC curves (aggregator/coordinator/roc_plot.h), and Kaplan-Meier
// curves by risk group with the log-rank test. The result is read through
// protocol/wire/model_evaluation.h.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "aggregator/coordinator/roc_plot.h"
#include "core/xml_escape.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {
namespace {

std::string Pct(int64_t a, int64_t b) {
  return b > 0 ? absl::StrFormat("%.0f%%", 100.0 * a / b) : "n/a (none)";
}

// "0.812 (0.771-0.853)"; a value that is not a number reads "n/a".
std::string Auc(const wire::AucEstimate& a) {
  if (!std::isfinite(a.auc)) return "n/a";
  if (!std::isfinite(a.ci_lower) || !std::isfinite(a.ci_upper)) {
    return absl::StrFormat("%.3f (CI n/a)", a.auc);
  }
  return absl::StrFormat("%.3f (%.3f-%.3f)", a.auc, a.ci_lower, a.ci_upper);
}

// `h` null: the site withheld its confusion counts (`reason`, a code).
std::string Row(const std::string& model, const std::string& where, const std::string& counts,
                const wire::AucEstimate& a, const wire::ConfusionCounts* h,
                const std::string& reason = "") {
  const std::string rates =
      h == nullptr
          ? absl::StrCat("withheld (", reason, ") | | |")
          : absl::StrCat(Pct(h->tp, h->tp + h->fn), " | ", Pct(h->tn, h->tn + h->fp), " | ",
                         Pct(h->tp, h->tp + h->fp), " | ", Pct(h->tn, h->tn + h->fn));
  return absl::StrCat("| ", model, " | ", where, " | ", counts, " | ", Auc(a), " | ", rates,
                      " |\n");
}

std::string SiteRow(const std::string& model, const std::string& site, const wire::ModelAnswer& m) {
  const std::string where = absl::StrCat(site, " (", m.split, ")");
  if (m.status != "ok") {
    return absl::StrCat("| ", model, " | ", where, " | ", m.status, ": ", m.reason,
                        " | | | | | |\n");
  }
  const auto withheld = m.withheld.find("high_risk");
  return Row(model, where, absl::StrCat(m.n, " / ", m.events), m.auc,
             withheld == m.withheld.end() ? &m.high_risk : nullptr,
             withheld == m.withheld.end() ? "" : withheld->second);
}

std::string FileSafe(std::string name) {
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  }
  return name;
}

std::string ComparisonsMarkdown(const wire::EvaluationResult& r) {
  std::string md =
      "\n### Paired comparisons (DeLong, same patients)\n\n"
      "| site | model A | model B | n | AUC A | AUC B | difference | p |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [site, list] : r.comparisons) {
    for (const wire::AucComparisonAnswer& c : list) {
      if (c.status != "ok") {
        const std::string n = c.withheld.count("n") ? "withheld" : absl::StrCat(c.n);
        absl::StrAppend(&md, "| ", site, " | ", c.a, " | ", c.b, " | ", n, " | ", c.status,
                        " | | | |\n");
        continue;
      }
      absl::StrAppend(
          &md, absl::StrFormat("| %s | %s | %s | %d | %.3f | %.3f | %+.3f | %.2g |\n", site, c.a,
                               c.b, c.n, c.auc_a, c.auc_b, c.difference, c.p));
    }
  }
  return md;
}

std::string SurvivalMarkdown(const wire::EvaluationResult& r) {
  std::string md = "\n### Survival by risk group\n\n";
  if (std::any_of(r.models.begin(), r.models.end(),
                  [](const wire::EvaluationModelResult& m) { return m.pooled.has_survival; })) {
    absl::StrAppend(&md,
                    "Each site sends its Kaplan-Meier counts in the finest time bins (1, 2, 3, "
                    "7, 14 or 28 days, or one bin) in which every count is 0 or at least its "
                    "minimum; the sites' tables are pooled on their common grid (the least "
                    "common multiple of their bins), times rounded up to the end of their "
                    "bin.\n\n");
  }
  for (const wire::EvaluationModelResult& m : r.models) {
    const wire::PooledEvaluation& p = m.pooled;
    if (!p.survival_error.empty()) {
      absl::StrAppend(&md, "- ", m.name, ": not pooled (", p.survival_error, ")\n");
    }
    if (!p.has_survival) continue;
    absl::StrAppend(&md, absl::StrFormat("- %s: times in bins of %.0f days; log-rank (stratified "
                                         "by site, %d sites) chi2 = %.2f on %.0f df, p = %.2g; ",
                                         m.name, p.survival_bin_width, p.log_rank_sites,
                                         p.chi_square, p.df, p.log_rank_p));
    for (size_t g = 0; g < wire::kRiskGroups.size(); ++g) {
      const wire::KaplanMeierGroup& curve = p.kaplan_meier[g];
      if (curve.n == 0) {
        absl::StrAppend(&md, wire::kRiskGroups[g], " not released by any site; ");
        continue;
      }
      const double last = curve.points.empty() ? 1.0 : curve.points.back().second;
      absl::StrAppend(
          &md, absl::StrFormat("%s n=%d, final S=%.2f; ", wire::kRiskGroups[g], curve.n, last));
    }
    absl::StrAppend(&md, "![KM](km_", FileSafe(m.name.empty() ? "model" : m.name), ".svg)\n");
  }
  return md;
}

}  // namespace

std::string ModelEvaluationMarkdown(const v1::StudyStatus& status) {
  std::string md = "## External validation\n\n";
  if (status.rounds().empty() || status.rounds().rbegin()->result_json().empty()) {
    return md + "No result yet.\n";
  }
  absl::StatusOr<wire::EvaluationResult> result =
      wire::ParseEvaluationResult(status.rounds().rbegin()->result_json());
  if (!result.ok()) return md + "The result could not be read.\n";
  const wire::EvaluationResult& r = *result;
  absl::StrAppend(&md, "Outcome `", r.outcome,
                  "`. AUC with DeLong 95% CI per site; pooled: fixed-effect inverse-variance ",
                  "AUC over sites and the confusion counts summed over the sites that released ",
                  "them (a site withholds them when a cell is below its minimum count). High ",
                  "risk: score at or above the model's upper threshold.\n\n",
                  "| model | site (split) | n / events | AUC (95% CI) | sensitivity | ",
                  "specificity | PPV | NPV |\n|---|---|---|---|---|---|---|---|\n");
  for (const wire::EvaluationModelResult& m : r.models) {
    for (const auto& [site, s] : m.sites) absl::StrAppend(&md, SiteRow(m.name, site, s));
    if (m.pooled.has_auc) {
      absl::StrAppend(&md, Row(m.name, "**pooled**", "", m.pooled.auc, &m.pooled.high_risk));
    }
  }
  // A table only where some site has a comparison (a study without "compare" has none).
  if (std::any_of(r.comparisons.begin(), r.comparisons.end(),
                  [](const auto& site) { return !site.second.empty(); })) {
    absl::StrAppend(&md, ComparisonsMarkdown(r));
  }
  const std::vector<RocFigure> roc = RocFigures(r);
  if (!roc.empty()) {
    absl::StrAppend(&md,
                    "\n### ROC curves\n\nCounts at each model's fixed threshold grid "
                    "(probabilities 0.00, 0.01, ..., 1.00; points scores at each point), at the "
                    "grid points each site released (no bin with fewer than its minimum count of "
                    "events or non-events); pooled: the sites' counts summed at the points every "
                    "site released, AUC the area under that curve (trapezoid); per site: the "
                    "site's DeLong AUC.\n\n");
    for (const RocFigure& f : roc) absl::StrAppend(&md, "![ROC, ", f.title, "](", f.file, ")\n");
  }
  return md + SurvivalMarkdown(r);
}

std::string KaplanMeierSvg(const wire::EvaluationModelResult& model) {
  constexpr double kW = 560, kH = 320, kL = 50, kR = 110, kT = 30, kB = 40;
  const std::array<wire::KaplanMeierGroup, 3>& km = model.pooled.kaplan_meier;
  double tmax = 1;
  for (const wire::KaplanMeierGroup& g : km) {
    for (const auto& [t, s] : g.points) tmax = std::max(tmax, t);
  }
  auto px = [&](double t) { return kL + t / tmax * (kW - kL - kR); };
  auto py = [&](double s) { return kT + (1 - s) * (kH - kT - kB); };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\"><rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/><text x=\"%.0f\" y=\"18\">Kaplan-Meier by risk group: %s (all sites)"
      "</text>\n",
      kW, kH, kL, XmlEscape(model.name));
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>"
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>\n"
                        "<text x=\"%.0f\" y=\"%.0f\">days</text>\n",
                        kL, kH - kB, kW - kR, kH - kB, kL, kT, kL, kH - kB, (kW - kR) / 2, kH - 8);
  for (double s : {0.0, 0.5, 1.0}) {
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f</text>\n",
                          kL - 5, py(s) + 4, s);
  }
  for (int k = 0; k <= 4; ++k) {  // days at 0, 1/4, ..., the last time
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n",
                          px(tmax * k / 4), kH - kB + 14, tmax * k / 4);
  }
  const char* colors[] = {"#2ca02c", "#ff7f0e", "#d62728"};
  for (size_t i = 0; i < km.size(); ++i) {
    if (km[i].n == 0) continue;  // no site released the group
    std::string path = absl::StrFormat("M%.1f,%.1f", px(0), py(1));
    for (const auto& [t, s] : km[i].points) {
      absl::StrAppendFormat(&path, " H%.1f V%.1f", px(t), py(s));
    }
    absl::StrAppendFormat(&path, " H%.1f", px(tmax));
    absl::StrAppendFormat(&svg,
                          "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>"
                          "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s risk</text>\n",
                          path, colors[i], kW - kR + 8, kT + 16.0 * i, colors[i],
                          wire::kRiskGroups[i]);
  }
  return svg + "</svg>\n";
}

namespace {

class ModelEvaluationReport : public ReportSection {
 public:
  std::string Markdown(const v1::StudyStatus& status) const override {
    return absl::StrCat("\n", ModelEvaluationMarkdown(status));
  }
  // Kaplan-Meier curves of each model with a pooled table, and the ROC figures.
  absl::StatusOr<std::vector<ReportFile>> Files(const v1::StudyStatus& status) const override {
    std::vector<ReportFile> files;
    if (status.rounds().empty()) return files;
    absl::StatusOr<wire::EvaluationResult> r =
        wire::ParseEvaluationResult(status.rounds().rbegin()->result_json());
    if (!r.ok()) return files;
    for (const wire::EvaluationModelResult& m : r->models) {
      if (!m.pooled.has_survival) continue;
      files.push_back(
          {"km_" + FileSafe(m.name.empty() ? "model" : m.name) + ".svg", KaplanMeierSvg(m)});
    }
    for (const RocFigure& f : RocFigures(*r)) files.push_back({f.file, f.svg});
    return files;
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(model_evaluation, ModelEvaluationReport);

}  // namespace scancov::aggregator
