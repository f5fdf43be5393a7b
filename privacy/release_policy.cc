#include "privacy/release_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace scancov::privacy {

int EffectiveMinCellCount(const ReleasePolicy& policy, int requested_by_study) {
  return std::max(policy.min_cell_count, requested_by_study);
}

bool IsVariableAllowed(const ReleasePolicy& policy, absl::string_view variable) {
  return policy.allowed_variables.empty() ||
         std::find(policy.allowed_variables.begin(), policy.allowed_variables.end(), variable) !=
             policy.allowed_variables.end();
}

std::string BelowMinimumReason(int64_t min_cell_count) {
  return absl::StrCat("below_minimum_count min=", min_cell_count);
}

ReleaseDecision DecideRelease(const ReleasePolicy& policy, int min_cell_count,
                              absl::string_view variable, int64_t events, int64_t non_events,
                              const std::vector<int64_t>& level_counts) {
  if (!IsVariableAllowed(policy, variable)) return {false, "not in the site's allowed variables"};
  if (events < min_cell_count || non_events < min_cell_count) {
    return {false, BelowMinimumReason(min_cell_count)};
  }
  for (int64_t count : level_counts) {
    if (count < min_cell_count) {
      return {false, BelowMinimumReason(min_cell_count)};
    }
  }
  return {true, ""};
}

}  // namespace scancov::privacy
