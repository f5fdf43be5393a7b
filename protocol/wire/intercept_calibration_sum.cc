// The intercept_calibration answers under secure aggregation (intercept_calibration.h): an ok
// answer's sums as one vector at the site, and the pooled answer from their sum at the
// aggregator.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::wire {
namespace {

absl::Status BadSum(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("secure sum: ", why));
}

}  // namespace

absl::StatusOr<std::vector<double>> InterceptSumVector(const InterceptSiteAnswer& a, double asked) {
  if (a.refused || a.secure_sum) {
    return absl::InvalidArgumentError("secure sum: only an ok answer with its numbers is summed");
  }
  if (a.summary.intercept != asked) {
    return absl::InvalidArgumentError(
        "secure sum: the summary is evaluated at another intercept than the round's");
  }
  const scores::InterceptSiteSummary& s = a.summary;
  return std::vector<double>{s.score, s.information, s.log_likelihood,
                             static_cast<double>(s.num_observations),
                             static_cast<double>(s.num_events)};
}

InterceptSiteAnswer ClearPart(const InterceptSiteAnswer& a) {
  InterceptSiteAnswer clear;
  clear.secure_sum = true;
  return clear;
}

absl::StatusOr<InterceptSiteAnswer> InterceptAnswerFromSum(const std::vector<double>& sum,
                                                           double asked) {
  if (sum.size() != kInterceptSumLength) {
    return BadSum(
        absl::StrCat(sum.size(), " values, the round's answers have ", kInterceptSumLength));
  }
  InterceptSiteAnswer a;
  scores::InterceptSiteSummary& s = a.summary;
  s.intercept = asked;
  s.score = sum[0];
  s.information = sum[1];
  s.log_likelihood = sum[2];
  for (double x : {s.score, s.information, s.log_likelihood}) {
    if (!std::isfinite(x)) return BadSum("a score, information or log-likelihood not finite");
  }
  SCV_ASSIGN_OR_RETURN(s.num_observations, CountFromSum(sum[3], "n"));
  SCV_ASSIGN_OR_RETURN(s.num_events, CountFromSum(sum[4], "events"));
  // Every site's information is >= 0 and log-likelihood <= 0, and rounding each to the fixed
  // point keeps its sign: a sum outside these came from no sites of the round.
  if (s.information < 0 || s.log_likelihood > 0 || s.num_events > s.num_observations) {
    return BadSum(
        "a summary out of range (information < 0, log_likelihood > 0, or more events than n)");
  }
  return a;
}

}  // namespace scancov::wire
