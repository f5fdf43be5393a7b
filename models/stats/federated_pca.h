// Exact federated PCA and the logistic model on its standardized components (the AI-severity
// study's head, aggregator/studies/ai_severity_rounds.h, node/tasks/severity_runner.h).
//
// Each site sums its rows x (n, sum of x, sum of x x^T); the sums of all sites give the pooled
// covariance exactly, (cross - n mean mean^T) / (n - 1), whose top-k eigenvectors are the
// components. A row's standardized component c is (x - mean) . v_c / sqrt(lambda_c): what
// scikit-learn's PCA(whiten=True).transform gives, up to each component's sign (an
// eigenvector's sign is arbitrary; the regression on the components absorbs it).
//
// Thread safety: value types and pure functions.
#ifndef SCANCOV_MODELS_STATS_FEDERATED_PCA_H_
#define SCANCOV_MODELS_STATS_FEDERATED_PCA_H_

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::stats {

// One site's (or the pooled) sums of d-dimensional rows.
struct PcaSums {
  double n = 0;
  Eigen::VectorXd sum;    // d
  Eigen::MatrixXd cross;  // d x d, sum of x x^T
};

// Disclosure control for a released d x d second-moment matrix (a sum of outer products, a
// logistic information matrix): with few rows it comes close to describing each of them (with
// n <= d rows and their sum, the rows' span is laid bare), so a site releases one only from at
// least d x min_cell_count rows (issue 12). FailedPrecondition "<where>: a d x d second-moment
// matrix needs at least N patients, has M" otherwise (numbers only). InvalidArgument for d < 1
// or min_cell_count < 0.
int64_t MinRowsForSecondMoments(int64_t d, int min_cell_count);
absl::Status CheckSecondMomentsReleasable(int64_t n, int64_t d, int min_cell_count,
                                          absl::string_view where);

// The sums of `rows` (each of the same length d; none: d = 0).
PcaSums SumRows(const std::vector<std::vector<float>>& rows);

// Adds `part` to `total` (an empty total takes part's dimension). InvalidArgument when the
// dimensions differ.
absl::Status AddPcaSums(const PcaSums& part, PcaSums* total);

struct PcaProjection {
  Eigen::VectorXd mean;           // d
  Eigen::MatrixXd components;     // k x d, row c: the c-th eigenvector, largest eigenvalue first
  Eigen::VectorXd scale;          // k: sqrt of each eigenvalue (at least 1e-6)
  double explained_variance = 0;  // the share of the total variance the k components keep
};

// The top min(k, d) components of the pooled covariance. FailedPrecondition with fewer than two
// rows; InvalidArgument for k < 1 or inconsistent sums.
absl::StatusOr<PcaProjection> PcaFromSums(const PcaSums& sums, int k);

// Each row's standardized components (rows x k). InvalidArgument when a row's length is not d
// or the projection's sizes disagree.
absl::StatusOr<Eigen::MatrixXd> ProjectStandardized(const PcaProjection& pca,
                                                    const std::vector<std::vector<float>>& rows);

// 1 / (1 + exp(-(beta[0] + z_i . beta[1..]))) for each row of z. InvalidArgument unless beta
// has z.cols() + 1 entries.
absl::StatusOr<std::vector<double>> LogisticProbabilities(const Eigen::MatrixXd& z,
                                                          const std::vector<double>& beta);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_FEDERATED_PCA_H_
