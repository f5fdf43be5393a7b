// Calibration of a published score's intercept on the federation's data, without any row
// leaving a site: the logistic model
//
//   P(y = 1) = sigmoid(b + lp_i),   lp_i = the score's linear predictor without intercept,
//
// has one free parameter b (lp enters as an offset, R's glm(y ~ 1, offset = lp)). Its
// log-likelihood l(b) = sum_i [y_i (b + lp_i) - log(1 + exp(b + lp_i))] is concave, with
//   score       U(b) = sum_i (y_i - p_i),      information  I(b) = sum_i p_i (1 - p_i),
// both sums over patients, so a site sends U, I and l at the coordinator's candidate b (plus
// counts), the coordinator adds them over sites and takes the Newton step b <- b + U / I. The
// sums over sites are exactly the pooled sums: the federated estimate equals the pooled one.
// A step that lowers the total log-likelihood is halved (one extra round each) until it does
// not. Converged when |U / I| <= tolerance. The estimate exists only when the pooled data have
// both outcomes (otherwise b runs to +-infinity: FailedPrecondition).
//
// Use it for the ScanCov paper's Supp Table 6 coefficients (no published intercept):
//   lp_i = TermsSum(ScanCovPaperModel(), patient_i) at each site, then CalibrateIntercept...
//   ScanCovScore::FromPaperCoefficients(result.intercept).
//
// Thread safety: InterceptCalibrator is single-threaded; the functions are pure.
#ifndef SCANCOV_MODELS_SCORES_INTERCEPT_CALIBRATION_H_
#define SCANCOV_MODELS_SCORES_INTERCEPT_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::scores {

// What one site sends for one candidate intercept: aggregates only.
struct InterceptSiteSummary {
  double intercept = 0.0;       // the candidate b these sums were evaluated at
  double score = 0.0;           // sum_i (y_i - p_i)
  double information = 0.0;     // sum_i p_i (1 - p_i)
  double log_likelihood = 0.0;  // sum_i log P(y_i)
  int64_t num_observations = 0;
  int64_t num_events = 0;
};

// A site's summary at `intercept`. `linear_predictors` (without intercept) and `outcomes` (0/1)
// have the same non-zero length, all finite. InvalidArgument otherwise (positions, not values,
// in the message).
absl::StatusOr<InterceptSiteSummary> SummarizeInterceptSite(
    absl::Span<const double> linear_predictors, absl::Span<const double> outcomes,
    double intercept);

struct InterceptCalibrationOptions {
  double initial_intercept = 0.0;
  double tolerance = 1e-10;  // on the Newton step |U / I|
  int max_iterations = 100;  // Newton steps (halvings not counted)
};

struct InterceptCalibration {
  double intercept = 0.0;
  double standard_error = 0.0;  // 1 / sqrt(I) at the estimate
  double log_likelihood = 0.0;
  int iterations = 0;
  int64_t num_observations = 0;
  int64_t num_events = 0;
};

// The coordinator: each round, every site evaluates SummarizeInterceptSite at
// next_intercept(); Update combines them.
class InterceptCalibrator {
 public:
  static absl::StatusOr<InterceptCalibrator> Create(const InterceptCalibrationOptions& options);

  double next_intercept() const { return next_; }
  bool converged() const { return converged_; }

  // Errors: InvalidArgument (no sites, a summary at another intercept, a malformed summary),
  // FailedPrecondition (only one outcome class in the pooled data), ResourceExhausted (no
  // convergence), Internal (no ascent after 50 halvings).
  absl::Status Update(absl::Span<const InterceptSiteSummary> sites);

  // FailedPrecondition until converged().
  absl::StatusOr<InterceptCalibration> Result() const;

 private:
  explicit InterceptCalibrator(const InterceptCalibrationOptions& options)
      : options_(options), next_(options.initial_intercept) {}

  InterceptCalibrationOptions options_;
  double next_;
  bool has_accepted_ = false;
  double accepted_ = 0.0;
  InterceptSiteSummary accepted_total_;
  int iterations_ = 0;
  int halvings_ = 0;
  bool converged_ = false;
};

// Called once per round with the candidate intercept; returns every site's summary.
using InterceptSiteEvaluator =
    std::function<absl::StatusOr<std::vector<InterceptSiteSummary>>(double intercept)>;

absl::StatusOr<InterceptCalibration> CalibrateInterceptFederated(
    const InterceptSiteEvaluator& evaluate_sites, const InterceptCalibrationOptions& options = {});

// Pooled rows: the federated fit with one site.
absl::StatusOr<InterceptCalibration> CalibrateIntercept(
    absl::Span<const double> linear_predictors, absl::Span<const double> outcomes,
    const InterceptCalibrationOptions& options = {});

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_INTERCEPT_CALIBRATION_H_
