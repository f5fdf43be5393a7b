// Rendering of model-evaluation (external validation) studies: the seed's Figure 3 / Supp
// Table 3 shape (AUC with 95% CI per model and site), the high-risk group's sensitivity,
// specificity, PPV and NPV, ROC curves (aggregator/roc_plot.h), and Kaplan-Meier curves by risk
// group with the log-rank test.
#include <cctype>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "aggregator/coordinator/roc_plot.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

std::string Pct(const json& v) {
  return v.is_number() ? absl::StrFormat("%.0f%%", 100 * v.get<double>()) : "-";
}

std::string AucCell(const json& a) {
  return absl::StrFormat("%.3f (%.3f-%.3f)", a.value("auc", 0.0), a.value("ci_lower", 0.0),
                         a.value("ci_upper", 0.0));
}

std::string Row(const std::string& model, const std::string& where, const json& m) {
  if (m.value("status", std::string("ok")) != "ok") {
    return absl::StrCat("| ", model, " | ", where, " | ", m.value("status", std::string()), ": ",
                        m.value("reason", std::string()), " | | | | | |\n");
  }
  const json& h = m.at("high_risk");
  return absl::StrCat(
      "| ", model, " | ", where, " | ",
      m.contains("n") ? absl::StrCat(m.value("n", 0), " / ", m.value("events", 0)) : "", " | ",
      AucCell(m.at("auc")), " | ", Pct(h.at("sensitivity")), " | ", Pct(h.at("specificity")), " | ",
      Pct(h.at("ppv")), " | ", Pct(h.at("npv")), " |\n");
}

}  // namespace

std::string ModelEvaluationMarkdown(const v1::StudyStatus& status) {
  std::string md = "## External validation\n\n";
  if (status.rounds().empty() || status.rounds().rbegin()->result_json().empty()) {
    return md + "No result yet.\n";
  }
  const json r = json::parse(status.rounds().rbegin()->result_json(), nullptr, false);
  if (r.is_discarded()) return md + "The result could not be read.\n";
  absl::StrAppend(&md, "Outcome `", r.value("outcome", std::string()),
                  "`. AUC with DeLong 95% CI per site; pooled: fixed-effect inverse-variance ",
                  "AUC over sites and the sites' confusion counts summed. High risk: score at ",
                  "or above the model's upper threshold.\n\n",
                  "| model | site (split) | n / events | AUC (95% CI) | sensitivity | ",
                  "specificity | PPV | NPV |\n|---|---|---|---|---|---|---|---|\n");
  for (const json& m : r.at("models")) {
    const std::string name = m.value("name", std::string());
    for (const auto& [site, s] : m.at("sites").items()) {
      absl::StrAppend(&md,
                      Row(name, absl::StrCat(site, " (", s.value("split", std::string()), ")"), s));
    }
    const json& pooled = m.at("pooled");
    if (pooled.contains("auc")) {
      json p = {{"auc", pooled.at("auc")}, {"high_risk", pooled.at("high_risk")}};
      absl::StrAppend(&md, Row(name, "**pooled**", p));
    }
  }
  if (r.contains("comparisons") && !r.at("comparisons").empty()) {
    absl::StrAppend(&md,
                    "\n### Paired comparisons (DeLong, same patients)\n\n"
                    "| site | model A | model B | n | AUC A | AUC B | difference | p |\n"
                    "|---|---|---|---|---|---|---|---|\n");
    for (const auto& [site, list] : r.at("comparisons").items()) {
      for (const json& c : list) {
        if (c.value("status", std::string()) != "ok") {
          absl::StrAppend(&md, "| ", site, " | ", c.value("a", std::string()), " | ",
                          c.value("b", std::string()), " | ", c.value("n", 0), " | ",
                          c.value("status", std::string()), " | | | |\n");
          continue;
        }
        absl::StrAppend(
            &md, absl::StrFormat("| %s | %s | %s | %d | %.3f | %.3f | %+.3f | %.2g |\n", site,
                                 c.value("a", std::string()), c.value("b", std::string()),
                                 c.value("n", 0), c.value("auc_a", 0.0), c.value("auc_b", 0.0),
                                 c.value("difference", 0.0), c.value("p", 1.0)));
      }
    }
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
  absl::StrAppend(&md, "\n### Survival by risk group\n\n");
  for (const json& m : r.at("models")) {
    const json& pooled = m.at("pooled");
    if (!pooled.contains("log_rank")) continue;
    const json& lr = pooled.at("log_rank");
    absl::StrAppend(
        &md, absl::StrFormat("- %s: log-rank (stratified by site, %d sites) "
                             "chi2 = %.2f on %.0f df, p = %.2g; ",
                             m.value("name", std::string()), lr.value("sites", 0),
                             lr.value("chi_square", 0.0), lr.value("df", 0.0), lr.value("p", 1.0)));
    for (const char* g : {"low", "medium", "high"}) {
      const json& curve = pooled.at("kaplan_meier").at(g);
      const json& pts = curve.at("points");
      const double last = pts.empty() ? 1.0 : pts.back()[1].get<double>();
      absl::StrAppend(&md,
                      absl::StrFormat("%s n=%d, final S=%.2f; ", g, curve.value("n", 0), last));
    }
    std::string file = m.value("name", std::string("model"));
    for (char& ch : file) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
    }
    absl::StrAppend(&md, "![KM](km_", file, ".svg)\n");
  }
  return md;
}

std::string KaplanMeierSvg(const nlohmann::json& model) {
  constexpr double kW = 560, kH = 320, kL = 50, kR = 110, kT = 30, kB = 40;
  const json& km = model.at("pooled").at("kaplan_meier");
  double tmax = 1;
  for (const char* g : {"low", "medium", "high"}) {
    for (const json& p : km.at(g).at("points")) tmax = std::max(tmax, p[0].get<double>());
  }
  auto px = [&](double t) { return kL + t / tmax * (kW - kL - kR); };
  auto py = [&](double s) { return kT + (1 - s) * (kH - kT - kB); };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\"><rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/><text x=\"%.0f\" y=\"18\">Kaplan-Meier by risk group: %s (all sites)"
      "</text>\n",
      kW, kH, kL, model.value("name", std::string()));
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>"
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>\n"
                        "<text x=\"%.0f\" y=\"%.0f\">days</text>\n",
                        kL, kH - kB, kW - kR, kH - kB, kL, kT, kL, kH - kB, (kW - kR) / 2, kH - 8);
  for (double s : {0.0, 0.5, 1.0}) {
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f</text>\n",
                          kL - 5, py(s) + 4, s);
  }
  const char* colors[] = {"#2ca02c", "#ff7f0e", "#d62728"};
  int i = 0;
  for (const char* g : {"low", "medium", "high"}) {
    std::string path = absl::StrFormat("M%.1f,%.1f", px(0), py(1));
    double s_prev = 1;
    for (const json& p : km.at(g).at("points")) {
      const double t = p[0], s = p[1];
      absl::StrAppendFormat(&path, " H%.1f V%.1f", px(t), py(s));
      s_prev = s;
    }
    absl::StrAppendFormat(&path, " H%.1f", px(tmax));
    (void)s_prev;
    absl::StrAppendFormat(&svg,
                          "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>"
                          "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s risk</text>\n",
                          path, colors[i], kW - kR + 8, kT + 16.0 * i, colors[i], g);
    ++i;
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
    const json r = json::parse(status.rounds().rbegin()->result_json(), nullptr, false);
    if (r.is_discarded() || !r.contains("models")) return files;
    for (const json& m : r.at("models")) {
      if (!m.at("pooled").contains("kaplan_meier")) continue;
      std::string name = m.value("name", std::string("model"));
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
      }
      files.push_back({"km_" + name + ".svg", KaplanMeierSvg(m)});
    }
    for (const RocFigure& f : RocFigures(r)) files.push_back({f.file, f.svg});
    return files;
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(model_evaluation, ModelEvaluationReport);

}  // namespace scancov::aggregator
