// ReleasePolicy: the site's rule for which per-variable statistics may leave it. The node
// applies it before anything is sent; the aggregator cannot loosen it: a study may ask for a
// stricter minimum, never a laxer one (EffectiveMinCellCount).
//
// A variable's statistics are released only if
//   - the steward allows the variable (an empty allow-list allows every variable), and
//   - among the patients with the variable present, both the number with the outcome (events)
//     and without it (non-events) are at least min_cell_count, and
//   - for a binary or categorical term, each of its levels is held by at least min_cell_count
//     patients (a rare level would otherwise describe a handful of identifiable people).
// Refusals carry a reason that names the rule, never a count below the threshold.
#ifndef SCANCOV_PRIVACY_RELEASE_POLICY_H_
#define SCANCOV_PRIVACY_RELEASE_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace scancov::privacy {

struct ReleasePolicy {
  int min_cell_count = 10;
  std::vector<std::string> allowed_variables;  // empty: all
};

struct ReleaseDecision {
  bool allowed = true;
  std::string reason;  // why not, when refused
};

// Whether the steward allows statistics on `variable` to leave (an empty allow-list allows all).
// Every analysis checks it for each variable it would use: the univariate terms here, and the
// features of a logistic fit, a model evaluation, a model selection (node/).
bool IsVariableAllowed(const ReleasePolicy& policy, absl::string_view variable);

// Why a count was not released, as it leaves the site: the failure report
// "below_minimum_count min=<k>" of protocol/failure_code.h's vocabulary (a code and the
// policy's number, never a sentence that could carry a value).
std::string BelowMinimumReason(int64_t min_cell_count);

// The minimum that applies: the larger of the site's and the study's request.
int EffectiveMinCellCount(const ReleasePolicy& policy, int requested_by_study);

// `level_counts`: patients per level for binary/categorical terms (empty for continuous).
ReleaseDecision DecideRelease(const ReleasePolicy& policy, int min_cell_count,
                              absl::string_view variable, int64_t events, int64_t non_events,
                              const std::vector<int64_t>& level_counts);

}  // namespace scancov::privacy

#endif  // SCANCOV_PRIVACY_RELEASE_POLICY_H_
