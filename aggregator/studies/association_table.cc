#include "aggregator/studies/association_table.h"

#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/meta_analysis.h"
#include "models/stats/multiple_testing.h"
#include "models/stats/pvalue_combination.h"

namespace scancov::aggregator {
namespace {

absl::Status CombineRow(const wire::AssociationSpec& options, wire::AssociationRow& row) {
  std::vector<stats::SiteTest> tests;
  std::vector<double> log_ors, ses;
  for (const auto& [site, r] : row.sites) {
    if (r.status != "ok") continue;
    tests.push_back({r.p, r.log_or, static_cast<double>(r.n)});
    log_ors.push_back(r.log_or);
    ses.push_back(r.se);
  }
  row.sites_used = static_cast<int>(tests.size());
  if (tests.empty()) return absl::OkStatus();
  std::unique_ptr<stats::PValueCombiner> combiner;
  if (options.combiner == "fisher") {
    combiner = std::make_unique<stats::FisherCombiner>();
  } else {
    const stats::StoufferWeighting w =
        options.weighting == "n"       ? stats::StoufferWeighting::kSampleSize
        : options.weighting == "equal" ? stats::StoufferWeighting::kEqual
                                       : stats::StoufferWeighting::kSqrtSampleSize;
    combiner = std::make_unique<stats::StoufferCombiner>(w);
  }
  SCV_ASSIGN_OR_RETURN(stats::CombinedTest combined, combiner->Combine(tests));
  row.combined = true;
  row.p_combined = combined.p_value;
  row.z_combined = combined.statistic;
  SCV_ASSIGN_OR_RETURN(stats::MetaAnalysis meta, stats::MetaAnalyze(log_ors, ses));
  row.fe_or = std::exp(meta.fixed_effect.estimate);
  row.fe_ci_lower = std::exp(meta.fixed_effect.ci_lower);
  row.fe_ci_upper = std::exp(meta.fixed_effect.ci_upper);
  row.re_or = std::exp(meta.random_effects.estimate);
  row.re_ci_lower = std::exp(meta.random_effects.ci_lower);
  row.re_ci_upper = std::exp(meta.random_effects.ci_upper);
  row.i_squared = meta.i_squared;
  row.q_p = meta.q_p_value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<wire::AssociationTable> CombineAssociations(
    const std::vector<std::pair<std::string, wire::AssociationSiteResult>>& site_results,
    const wire::AssociationSpec& options) {
  wire::AssociationTable table;
  table.options = options;
  std::map<std::string, size_t> index;
  for (const auto& [site, result] : site_results) {
    table.sites.push_back(site);
    table.site_counts[site] = {result.n_patients, result.n_events};
    for (const wire::AssociationTerm& t : result.terms) {
      auto [it, added] = index.emplace(t.term, table.rows.size());
      if (added) table.rows.push_back({t.term, t.variable, t.type});
      table.rows[it->second].sites[site] = t;
    }
  }
  std::vector<double> ps;
  for (wire::AssociationRow& row : table.rows) {
    for (const std::string& site : table.sites) {
      if (row.sites.count(site)) continue;
      wire::AssociationTerm absent;
      absent.term = row.term;
      absent.variable = row.variable;
      absent.type = row.type;
      absent.status = "absent";
      absent.reason = "not reported by the site";
      row.sites[site] = absent;
    }
    SCV_RETURN_IF_ERROR(Annotate(CombineRow(options, row), absl::StrCat("term '", row.term, "'")));
    if (row.combined) ps.push_back(row.p_combined);
  }
  table.tests = static_cast<int>(ps.size());
  if (ps.empty()) return table;
  const stats::Adjustment method = options.correction == "holm" ? stats::Adjustment::kHolm
                                   : options.correction == "bh"
                                       ? stats::Adjustment::kBenjaminiHochberg
                                       : stats::Adjustment::kBonferroni;
  SCV_ASSIGN_OR_RETURN(std::vector<double> adjusted, stats::AdjustPValues(ps, method));
  size_t k = 0;
  for (wire::AssociationRow& row : table.rows) {
    if (!row.combined) continue;
    row.p_adjusted = adjusted[k++];
    row.significant = row.p_adjusted < options.alpha;
  }
  return table;
}

}  // namespace scancov::aggregator
