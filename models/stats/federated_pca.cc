#include "models/stats/federated_pca.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace scancov::stats {

int64_t MinRowsForSecondMoments(int64_t d, int min_cell_count) {
  return d * std::max(min_cell_count, 1);
}

absl::Status CheckSecondMomentsReleasable(int64_t n, int64_t d, int min_cell_count,
                                          absl::string_view where) {
  if (d < 1 || min_cell_count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the dimension must be >= 1 and the minimum count >= 0"));
  }
  const int64_t needed = MinRowsForSecondMoments(d, min_cell_count);
  if (n < needed) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": a ", d, " x ", d,
                                                      " second-moment matrix needs at least ",
                                                      needed, " patients, has ", n));
  }
  return absl::OkStatus();
}

PcaSums SumRows(const std::vector<std::vector<float>>& rows) {
  const Eigen::Index d = rows.empty() ? 0 : static_cast<Eigen::Index>(rows[0].size());
  PcaSums s;
  s.n = static_cast<double>(rows.size());
  s.sum = Eigen::VectorXd::Zero(d);
  s.cross = Eigen::MatrixXd::Zero(d, d);
  for (const std::vector<float>& e : rows) {
    for (Eigen::Index a = 0; a < d; ++a) {
      s.sum(a) += e[a];
      for (Eigen::Index b = 0; b < d; ++b) s.cross(a, b) += double(e[a]) * e[b];
    }
  }
  return s;
}

absl::Status AddPcaSums(const PcaSums& part, PcaSums* total) {
  const Eigen::Index d = part.sum.size();
  if (total->sum.size() == 0 && total->n == 0) {
    total->sum = Eigen::VectorXd::Zero(d);
    total->cross = Eigen::MatrixXd::Zero(d, d);
  }
  if (total->sum.size() != d || part.cross.rows() != d || part.cross.cols() != d) {
    return absl::InvalidArgumentError(
        absl::StrCat("PCA sums: dimension ", d, " differs from ", total->sum.size()));
  }
  total->n += part.n;
  total->sum += part.sum;
  total->cross += part.cross;
  return absl::OkStatus();
}

absl::StatusOr<PcaProjection> PcaFromSums(const PcaSums& sums, int k) {
  const double n = sums.n;
  if (n < 2) return absl::FailedPreconditionError("PCA: fewer than two rows");
  const Eigen::Index d = sums.sum.size();
  if (k < 1 || sums.cross.rows() != d || sums.cross.cols() != d) {
    return absl::InvalidArgumentError("PCA: k must be >= 1 and the sums d and d x d");
  }
  const Eigen::VectorXd mean = sums.sum / n;
  const Eigen::MatrixXd cov = (sums.cross - n * mean * mean.transpose()) / (n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(cov);
  const Eigen::Index kept_k = std::min<Eigen::Index>(k, d);
  PcaProjection p;
  p.mean = mean;
  p.components.resize(kept_k, d);
  p.scale.resize(kept_k);
  double kept = 0;
  for (Eigen::Index i = 0; i < kept_k; ++i) {  // eigenvalues ascend: take from the end
    const Eigen::Index col = d - 1 - i;
    p.components.row(i) = eigen.eigenvectors().col(col).transpose();
    p.scale(i) = std::sqrt(std::max(eigen.eigenvalues()[col], 1e-12));
    kept += eigen.eigenvalues()[col];
  }
  const double total = eigen.eigenvalues().sum();
  p.explained_variance = total > 0 ? kept / total : 0;
  return p;
}

absl::StatusOr<Eigen::MatrixXd> ProjectStandardized(const PcaProjection& pca,
                                                    const std::vector<std::vector<float>>& rows) {
  const Eigen::Index d = pca.mean.size(), k = pca.scale.size();
  if (pca.components.rows() != k || pca.components.cols() != d) {
    return absl::InvalidArgumentError("PCA: components are not k x d");
  }
  Eigen::MatrixXd z(static_cast<Eigen::Index>(rows.size()), k);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<Eigen::Index>(rows[i].size()) != d) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCA: a row has ", rows[i].size(), " values, not ", d));
    }
    for (Eigen::Index c = 0; c < k; ++c) {
      double v = 0;
      for (Eigen::Index j = 0; j < d; ++j) v += (rows[i][j] - pca.mean(j)) * pca.components(c, j);
      z(static_cast<Eigen::Index>(i), c) = v / pca.scale(c);
    }
  }
  return z;
}

absl::StatusOr<std::vector<double>> LogisticProbabilities(const Eigen::MatrixXd& z,
                                                          const std::vector<double>& beta) {
  if (static_cast<Eigen::Index>(beta.size()) != z.cols() + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic: ", beta.size(), " coefficients for ", z.cols(), " columns + 1"));
  }
  std::vector<double> prob;
  prob.reserve(static_cast<size_t>(z.rows()));
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    double lp = beta[0];
    for (Eigen::Index c = 0; c < z.cols(); ++c) lp += beta[c + 1] * z(i, c);
    prob.push_back(1 / (1 + std::exp(-lp)));
  }
  return prob;
}

}  // namespace scancov::stats
