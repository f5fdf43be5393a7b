// Combining the sites' answers of a univariate_association study into the seed's Table 1 shape, one
// row per variable term, with each site's OR (95% CI) and p, the Stouffer- (or Fisher-) combined p,
// the p adjusted for multiple testing and whether it is significant, plus fixed-effect and
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
#ifndef SCANCOV_AGGREGATOR_STUDIES_ASSOCIATION_TABLE_H_
#define SCANCOV_AGGREGATOR_STUDIES_ASSOCIATION_TABLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/wire/univariate_association.h"

namespace scancov::aggregator {

// `site_results`: (site id, the site's parsed answer) in site order. `spec` gives the combiner,
// weighting, correction and alpha.
absl::StatusOr<wire::AssociationTable> CombineAssociations(
    const std::vector<std::pair<std::string, wire::AssociationSiteResult>>& site_results,
    const wire::AssociationSpec& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDIES_ASSOCIATION_TABLE_H_
