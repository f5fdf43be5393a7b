// The univariate_association kind on the wire (the seed's Table 1, federated): the study's spec,
// a site's answer and the combined table, each defined and checked once here and read by the
// node (node/tasks/univariate_association_task.cc), the aggregator
// (aggregator/studies/univariate_association_study.cc) and the coordinator's report
// (aggregator/coordinator/univariate_association_report.cc).
//
// Spec (StudySpec.spec_json):
//   {"analysis": "univariate_association", "outcome": "severe",
//    "variables": ["age", "ldh", ...],   // empty or absent: every dictionary variable
//    "min_cell_count": 10,                // may tighten the site's policy, never loosen it
//    "combiner": "stouffer" | "fisher", "weighting": "sqrt_n" | "n" | "equal",
//    "correction": "bonferroni" | "holm" | "bh", "alpha": 0.05}
//
// A site's answer (UploadHeader.result_json):
//   {"analysis": "univariate_association", "outcome": ..., "n_patients": N, "n_events": E,
//    "min_cell_count": k,
//    "terms": [{"term": "ggo=2", "variable": "ggo", "type": "categorical", "status": "ok",
//               "n": .., "events": .., "or": .., "ci_lower": .., "ci_upper": .., "p": ..,
//               "z": .., "log_or": .., "se": ..},
//              {"term": "cancer", "variable": "cancer", "type": "binary",
//               "status": "refused" | "failed", "reason": "..."}]}
//
// The combined table (RoundStatus.result_json): see AssociationTable; JSON has no NaN, so
// undefined statistics (Q's p with one site) travel as null.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_UNIVARIATE_ASSOCIATION_H_
#define SCANCOV_PROTOCOL_WIRE_UNIVARIATE_ASSOCIATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::wire {

struct AssociationSpec {
  std::string outcome;
  std::vector<std::string> variables;  // empty: every dictionary variable (the node decides)
  int min_cell_count = 0;
  std::string combiner = "stouffer";      // stouffer | fisher
  std::string weighting = "sqrt_n";       // sqrt_n | n | equal (Stouffer)
  std::string correction = "bonferroni";  // bonferroni | holm | bh
  double alpha = 0.05;
};

// InvalidArgument naming the field: not an object, another analysis, no outcome, a
// variable that is not a string, an unknown combiner/weighting/correction, alpha outside
// (0, 1), min_cell_count outside 0..100000.
absl::StatusOr<AssociationSpec> ParseAssociationSpec(const std::string& spec_json);

// One term at one site. In a site's answer status is ok, refused or failed; in the combined
// table also "absent" (the site did not report the term).
struct AssociationTerm {
  std::string term, variable, type;
  std::string status;
  std::string reason;  // refused / failed / absent
  int64_t n = 0;
  int64_t events = 0;
  double odds_ratio = 0, ci_lower = 0, ci_upper = 0, p = 1, z = 0, log_or = 0, se = 0;
};

struct AssociationSiteResult {
  std::string outcome;
  int64_t n_patients = 0;
  int64_t n_events = 0;
  int min_cell_count = 0;
  std::vector<AssociationTerm> terms;
};

std::string ToJson(const AssociationSiteResult& result);
// InvalidArgument naming the term and the field: an unknown status, an ok term with a missing
// or non-finite statistic, p outside (0, 1], n <= 0, se <= 0, events outside 0..n, counts
// outside 0..n_patients.
absl::StatusOr<AssociationSiteResult> ParseAssociationSiteResult(const std::string& json);

struct AssociationRow {
  std::string term, variable, type;
  std::map<std::string, AssociationTerm> sites;  // by site id
  int sites_used = 0;
  bool combined = false;  // false when no site could report the term
  double p_combined = 1, z_combined = 0, p_adjusted = 1;
  bool significant = false;
  double fe_or = 0, fe_ci_lower = 0, fe_ci_upper = 0;
  double re_or = 0, re_ci_lower = 0, re_ci_upper = 0, i_squared = 0, q_p = 1;
};

struct AssociationTable {
  AssociationSpec options;  // outcome, combiner, weighting, correction, alpha
  std::vector<std::string> sites;
  std::map<std::string, std::pair<int64_t, int64_t>> site_counts;  // patients, events
  std::vector<AssociationRow> rows;
  int tests = 0;  // terms with a combined p (the correction's family size)
};

std::string ToJson(const AssociationTable& table);
absl::StatusOr<AssociationTable> ParseAssociationTable(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_UNIVARIATE_ASSOCIATION_H_
