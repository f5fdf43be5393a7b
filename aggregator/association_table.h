// The federated association study's result: the seed's Table 1 shape, one row per variable
// term, with each site's OR (95% CI) and p, the Stouffer- (or Fisher-) combined p, the p
// adjusted for multiple testing and whether it is significant, plus fixed-effect and
// DerSimonian-Laird pooled ORs with heterogeneity (Q p-value, I^2).
//
// Combination (documented choices):
//  - only sites whose term has status "ok" take part; refused/failed terms are shown as such;
//  - Stouffer: each site's two-sided p becomes a signed z (sign of its log OR), weighted by
//    sqrt(n_i) by default (n_i = patients used for the term at site i), two-sided combined p;
//  - Fisher: -2 sum log p_i on 2k degrees of freedom (direction ignored);
//  - the correction (Bonferroni by default; Holm, Benjamini-Hochberg) runs over every term
//    with a combined p; significant = adjusted p < alpha;
//  - pooled ORs meta-analyse the sites' log ORs; for continuous terms each site's OR is per its
//    own SD, so the pooled "per SD" OR assumes similar SDs across sites.
#ifndef SCANCOV_AGGREGATOR_ASSOCIATION_TABLE_H_
#define SCANCOV_AGGREGATOR_ASSOCIATION_TABLE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::aggregator {

struct AnalysisOptions {
  std::string outcome;
  std::string combiner = "stouffer";      // stouffer | fisher
  std::string weighting = "sqrt_n";       // sqrt_n | n | equal (Stouffer)
  std::string correction = "bonferroni";  // bonferroni | holm | bh
  double alpha = 0.05;
};

absl::StatusOr<AnalysisOptions> ParseAnalysisOptions(const std::string& spec_json);

struct SiteTermResult {
  std::string status;  // ok | refused | failed | absent
  std::string reason;
  int64_t n = 0;
  int64_t events = 0;
  double odds_ratio = 0, ci_lower = 0, ci_upper = 0, p = 1, z = 0, log_or = 0, se = 0;
};

struct AssociationRow {
  std::string term, variable, type;
  std::map<std::string, SiteTermResult> sites;
  int sites_used = 0;
  bool combined = false;  // false when no site could report the term
  double p_combined = 1, z_combined = 0, p_adjusted = 1;
  bool significant = false;
  double fe_or = 0, fe_ci_lower = 0, fe_ci_upper = 0;
  double re_or = 0, re_ci_lower = 0, re_ci_upper = 0, i_squared = 0, q_p = 1;
};

struct AssociationTable {
  AnalysisOptions options;
  std::vector<std::string> sites;
  std::map<std::string, std::pair<int64_t, int64_t>> site_counts;  // patients, events
  std::vector<AssociationRow> rows;
  int tests = 0;  // terms with a combined p (the correction's family size)
};

// `site_results`: (site id, the site's result JSON) in site order.
absl::StatusOr<AssociationTable> CombineAssociations(
    const std::vector<std::pair<std::string, std::string>>& site_results,
    const AnalysisOptions& options);

std::string AssociationTableToJson(const AssociationTable& table);
absl::StatusOr<AssociationTable> AssociationTableFromJson(const std::string& json);
std::string AssociationTableCsv(const AssociationTable& table);
std::string AssociationTableMarkdown(const AssociationTable& table);
// Per term: each site's OR with its CI and the fixed-effect pooled OR, on a log axis.
std::string ForestPlotSvg(const AssociationTable& table);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_ASSOCIATION_TABLE_H_
