// Rendering of the association table: CSV, Markdown (the seed's Table 1 shape), forest plot.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "core/xml_escape.h"
#include "protocol/wire/univariate_association.h"

namespace scancov::aggregator {
namespace {

std::string FormatP(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 1e-4) return absl::StrFormat("%.1e", p);
  return absl::StrFormat("%.4f", p);
}

// "1.80 (1.40-2.31)"; a bound that is not finite (a separated variable) reads "n/a".
std::string OddsRatio(double odds_ratio, double lo, double hi) {
  auto f = [](double v) { return std::isfinite(v) ? absl::StrFormat("%.2f", v) : "n/a"; };
  return absl::StrCat(f(odds_ratio), " (", f(lo), "-", f(hi), ")");
}

std::string SiteCell(const wire::AssociationTerm& s) {
  if (s.status != "ok") return s.status;
  return absl::StrCat(OddsRatio(s.odds_ratio, s.ci_lower, s.ci_upper), ", p=", FormatP(s.p));
}

std::string CorrectionName(const std::string& c) {
  if (c == "holm") return "Holm";
  if (c == "bh") return "Benjamini-Hochberg";
  return "Bonferroni";
}

}  // namespace

std::string AssociationTableCsv(const wire::AssociationTable& t) {
  std::string csv = "term,variable,type";
  for (const std::string& s : t.sites) {
    absl::StrAppend(&csv, ",", s, "_status,", s, "_n,", s, "_events,", s, "_or,", s, "_ci_lower,",
                    s, "_ci_upper,", s, "_p");
  }
  absl::StrAppend(&csv, ",sites_used,", t.options.combiner, "_p,p_adjusted,significant,",
                  "fixed_effect_or,fixed_effect_ci_lower,fixed_effect_ci_upper,i_squared\n");
  for (const wire::AssociationRow& r : t.rows) {
    absl::StrAppend(&csv, r.term, ",", r.variable, ",", r.type);
    for (const std::string& site : t.sites) {
      const wire::AssociationTerm& s = r.sites.at(site);
      if (s.status == "ok") {
        absl::StrAppend(&csv, ",ok,", s.n, ",", s.events, ",", s.odds_ratio, ",", s.ci_lower, ",",
                        s.ci_upper, ",", s.p);
      } else {
        absl::StrAppend(&csv, ",", s.status, ",,,,,,");
      }
    }
    if (r.combined) {
      absl::StrAppend(&csv, ",", r.sites_used, ",", r.p_combined, ",", r.p_adjusted, ",",
                      r.significant ? 1 : 0, ",", r.fe_or, ",", r.fe_ci_lower, ",", r.fe_ci_upper,
                      ",", r.i_squared, "\n");
    } else {
      absl::StrAppend(&csv, ",0,,,,,,,\n");
    }
  }
  return csv;
}

std::string AssociationTableMarkdown(const wire::AssociationTable& t) {
  std::string md = absl::StrCat(
      "## Univariate association with `", t.options.outcome, "`\n\n",
      "Per site: odds ratio per one standard deviation (continuous and ordinal variables) or per ",
      "level (binary; categorical levels against level 0) from a univariate logistic regression, ",
      "95% Wald CI and two-sided p. Combined: ",
      t.options.combiner == "fisher" ? "Fisher's method" : "Stouffer's method (signed z, weights ",
      t.options.combiner == "fisher" ? "" : absl::StrCat(t.options.weighting, ")"), "; ",
      CorrectionName(t.options.correction), " over ", t.tests, " terms, significant at ",
      t.options.alpha, ". `refused`: the site's release policy kept the term at the site.\n\n");
  absl::StrAppend(&md, "| site | patients | events |\n|---|---|---|\n");
  for (const std::string& s : t.sites) {
    absl::StrAppend(&md, "| ", s, " | ", t.site_counts.at(s).first, " | ",
                    t.site_counts.at(s).second, " |\n");
  }
  absl::StrAppend(&md, "\n| term |");
  for (const std::string& s : t.sites) absl::StrAppend(&md, " ", s, " OR (95% CI), p |");
  absl::StrAppend(&md, " pooled OR (FE) | ", t.options.combiner,
                  " p | adjusted p | significant |\n|---|");
  for (size_t i = 0; i < t.sites.size() + 4; ++i) md += "---|";
  md += "\n";
  for (const wire::AssociationRow& r : t.rows) {
    absl::StrAppend(&md, "| ", r.significant ? absl::StrCat("**", r.term, "**") : r.term, " |");
    for (const std::string& s : t.sites) absl::StrAppend(&md, " ", SiteCell(r.sites.at(s)), " |");
    if (r.combined) {
      absl::StrAppend(&md, " ", OddsRatio(r.fe_or, r.fe_ci_lower, r.fe_ci_upper), " | ",
                      FormatP(r.p_combined), " | ", FormatP(r.p_adjusted), " | ",
                      r.significant ? "yes" : "no", " |\n");
    } else {
      absl::StrAppend(&md, " | | | not combined |\n");
    }
  }
  return md;
}

std::string ForestPlotSvg(const wire::AssociationTable& t) {
  constexpr double kLeft = 190, kPlot = 420, kRow = 14, kTop = 40;
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};
  std::vector<const wire::AssociationRow*> rows;
  for (const wire::AssociationRow& r : t.rows) {
    if (r.combined) rows.push_back(&r);
  }
  const double lines_per_row = static_cast<double>(t.sites.size()) + 1.5;
  const double height = kTop + rows.size() * lines_per_row * kRow + 40;
  const double lo = std::log(0.1), hi = std::log(10.0);
  auto px = [&](double orv) {
    const double l = std::clamp(std::log(std::max(orv, 1e-9)), lo, hi);
    return kLeft + (l - lo) / (hi - lo) * kPlot;
  };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"10\" y=\"18\" font-size=\"13\">Odds ratios for %s per site "
      "and pooled (fixed effect), log scale; bold: significant after correction</text>\n",
      kLeft + kPlot + 170, height, XmlEscape(t.options.outcome));
  for (double tick : {0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0}) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\"/>\n"
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
                          px(tick), kTop - 8, px(tick), height - 30, tick == 1.0 ? "#444" : "#ddd",
                          px(tick), height - 16, tick);
  }
  for (size_t i = 0; i < t.sites.size(); ++i) {
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n",
                          kLeft + kPlot + 20, kTop + 14.0 * i, kColors[i % 5],
                          XmlEscape(t.sites[i]));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\">pooled</text>\n", kLeft + kPlot + 20,
                        kTop + 14.0 * t.sites.size());
  double y = kTop;
  for (const wire::AssociationRow* r : rows) {
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\"%s>%s</text>\n",
                          kLeft - 8, y + kRow * (t.sites.size() + 1) / 2.0,
                          r->significant ? " font-weight=\"bold\"" : "", XmlEscape(r->term));
    for (size_t i = 0; i < t.sites.size(); ++i, y += kRow) {
      const wire::AssociationTerm& s = r->sites.at(t.sites[i]);
      if (s.status != "ok" || !std::isfinite(s.odds_ratio) || !std::isfinite(s.ci_lower) ||
          std::isnan(s.ci_upper)) {
        continue;
      }
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            px(s.ci_lower), y + 7, px(s.ci_upper), y + 7, kColors[i % 5],
                            px(s.odds_ratio), y + 7, kColors[i % 5]);
    }
    const double cy = y + 7;
    y += kRow * 1.5;
    if (!std::isfinite(r->fe_or) || std::isnan(r->fe_ci_lower) || std::isnan(r->fe_ci_upper)) {
      continue;
    }
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>"
                          "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>\n",
                          px(r->fe_ci_lower), cy, px(r->fe_ci_upper), cy, px(r->fe_or) - 5, cy,
                          px(r->fe_or), cy - 5, px(r->fe_or) + 5, cy, px(r->fe_or), cy + 5);
  }
  svg += "</svg>\n";
  return svg;
}

namespace {

class UnivariateAssociationReport : public ReportSection {
 public:
  std::string Markdown(const v1::StudyStatus& status) const override {
    if (status.rounds().empty() || status.rounds().rbegin()->result_json().empty()) return "";
    absl::StatusOr<wire::AssociationTable> table =
        wire::ParseAssociationTable(status.rounds().rbegin()->result_json());
    if (!table.ok()) {
      return absl::StrCat("\nThe combined result could not be read: ", table.status().message(),
                          "\n");
    }
    return absl::StrCat("\n", AssociationTableMarkdown(*table),
                        "\n![forest plot](forest.svg)\n\nAlso `table1.csv` and `table1.json`.\n");
  }
  absl::StatusOr<std::vector<ReportFile>> Files(const v1::StudyStatus& status) const override {
    if (status.rounds().empty() || status.rounds().rbegin()->result_json().empty()) {
      return std::vector<ReportFile>{};
    }
    absl::StatusOr<wire::AssociationTable> table =
        wire::ParseAssociationTable(status.rounds().rbegin()->result_json());
    if (!table.ok()) return table.status();
    return std::vector<ReportFile>{{"table1.csv", AssociationTableCsv(*table)},
                                   {"table1.json", wire::ToJson(*table)},
                                   {"forest.svg", ForestPlotSvg(*table)}};
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(univariate_association, UnivariateAssociationReport);

}  // namespace scancov::aggregator
