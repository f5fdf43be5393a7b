// The logistic_regression answers under secure aggregation (logistic_regression.h): an ok
// answer's sums as one vector at the site, and the pooled answer from their sum at the
// aggregator.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::wire {
namespace {

// The counts after the Newton summary's matrices, and after a terciles round's counts.
constexpr size_t kNewtonTail = 7;   // log_likelihood .. n_incomplete
constexpr size_t kTercileTail = 3;  // n_rows, n_complete, n_incomplete

absl::Status BadSum(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("secure sum: ", why));
}

absl::StatusOr<int64_t> Count(double v, const char* name) { return CountFromSum(v, name); }

}  // namespace

size_t LogisticSumLength(const LogisticCheckpoint& asked, size_t num_coefficients) {
  if (asked.IsTercileRound()) return asked.tercile_candidates.size() + kTercileTail;
  return num_coefficients + num_coefficients * num_coefficients + kNewtonTail;
}

absl::StatusOr<std::vector<double>> LogisticSumVector(const LogisticSiteAnswer& a,
                                                      const LogisticCheckpoint& asked,
                                                      size_t num_coefficients) {
  if (a.refused || a.secure_sum) {
    return absl::InvalidArgumentError("secure sum: only an ok answer with its numbers is summed");
  }
  SCV_RETURN_IF_ERROR(CheckLogisticAnswer(a, asked, num_coefficients));
  std::vector<double> v;
  v.reserve(LogisticSumLength(asked, num_coefficients));
  if (asked.IsTercileRound()) {
    for (int64_t c : a.tercile_counts) v.push_back(static_cast<double>(c));
    v.push_back(static_cast<double>(a.n_rows));
  } else {
    const stats::LogisticSiteSummary& s = a.summary;
    v.insert(v.end(), s.gradient.begin(), s.gradient.end());
    v.insert(v.end(), s.information.begin(), s.information.end());
    for (double x :
         {s.log_likelihood, s.weight_sum, static_cast<double>(s.num_observations),
          static_cast<double>(s.num_events), static_cast<double>(s.num_perfectly_fitted)}) {
      v.push_back(x);
    }
  }
  v.push_back(static_cast<double>(a.n_complete));
  v.push_back(static_cast<double>(a.n_incomplete));
  return v;
}

LogisticSiteAnswer ClearPart(const LogisticSiteAnswer& a) {
  LogisticSiteAnswer clear;
  clear.secure_sum = true;
  clear.split = a.split;
  clear.terciles = a.terciles;
  return clear;
}

absl::StatusOr<LogisticSiteAnswer> LogisticAnswerFromSum(const std::vector<double>& sum,
                                                         const LogisticCheckpoint& asked,
                                                         size_t p) {
  if (sum.size() != LogisticSumLength(asked, p)) {
    return BadSum(absl::StrCat(sum.size(), " values, the round's answers have ",
                               LogisticSumLength(asked, p)));
  }
  LogisticSiteAnswer a;
  size_t at = 0;
  if (asked.IsTercileRound()) {
    a.terciles = true;
    for (size_t i = 0; i < asked.tercile_candidates.size(); ++i) {
      SCV_ASSIGN_OR_RETURN(const int64_t c, Count(sum[at++], "a tercile count"));
      if (!a.tercile_counts.empty() && c < a.tercile_counts.back()) {
        return BadSum("tercile counts that decrease");
      }
      a.tercile_counts.push_back(c);
    }
    SCV_ASSIGN_OR_RETURN(a.n_rows, Count(sum[at++], "n_rows"));
    if (!a.tercile_counts.empty() && a.tercile_counts.back() > a.n_rows) {
      return BadSum("a tercile count above n_rows");
    }
  } else {
    stats::LogisticSiteSummary& s = a.summary;
    s.beta = asked.beta.empty() ? std::vector<double>(p, 0.0) : asked.beta;
    s.gradient.assign(sum.begin(), sum.begin() + static_cast<std::ptrdiff_t>(p));
    at = p;
    s.information.assign(sum.begin() + static_cast<std::ptrdiff_t>(at),
                         sum.begin() + static_cast<std::ptrdiff_t>(at + p * p));
    at += p * p;
    s.log_likelihood = sum[at++];
    s.weight_sum = sum[at++];
    SCV_ASSIGN_OR_RETURN(s.num_observations, Count(sum[at++], "num_observations"));
    SCV_ASSIGN_OR_RETURN(s.num_events, Count(sum[at++], "num_events"));
    SCV_ASSIGN_OR_RETURN(s.num_perfectly_fitted, Count(sum[at++], "num_perfectly_fitted"));
    for (double x : s.gradient) {
      if (!std::isfinite(x)) return BadSum("a gradient that is not finite");
    }
    for (double x : s.information) {
      if (!std::isfinite(x)) return BadSum("an information that is not finite");
    }
    if (!(s.log_likelihood <= 0) || !(s.weight_sum >= 0) || s.num_events > s.num_observations ||
        s.num_perfectly_fitted > s.num_observations) {
      return BadSum("a summary out of range (log_likelihood > 0, or counts that disagree)");
    }
  }
  SCV_ASSIGN_OR_RETURN(a.n_complete, Count(sum[at++], "n_complete"));
  SCV_ASSIGN_OR_RETURN(a.n_incomplete, Count(sum[at++], "n_incomplete"));
  SCV_RETURN_IF_ERROR(CheckLogisticAnswer(a, asked, p));
  return a;
}

}  // namespace scancov::wire
