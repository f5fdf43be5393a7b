// Small fixed datasets shared by the statistics tests (test-only; not part of scancov_stats).
// The same literals appear in the R / Python snippets quoted by each test, which is where the
// reference values come from.
//
// kX1, kX2, kX3, kY, kW: 40 rows drawn once with numpy (default_rng(7); y from a logistic
// model) and frozen here. The reference scripts define the same vectors verbatim, in R as
//   x1 <- c(50.0, 53.6, 46.7, ...); x2 <- c(1, 1, 0, ...); x3 <- ...; y <- ...; w <- ...
// and in Python as numpy arrays of the same literals.
#ifndef SCANCOV_MODELS_STATS_TEST_DATA_H_
#define SCANCOV_MODELS_STATS_TEST_DATA_H_

#include <vector>

#include "Eigen/Dense"

namespace scancov::stats::test_data {

inline const std::vector<double> kX1 = {50.0, 53.6, 46.7, 39.3, 44.5, 38.1, 50.7, 66.1, 44.1, 42.6,
                                        55.9, 54.3, 51.3, 38.8, 49.6, 58.3, 33.9, 44.5, 27.2, 34.5,
                                        27.9, 47.2, 34.8, 53.3, 51.9, 47.8, 19.8, 43.5, 49.4, 51.4,
                                        31.6, 44.3, 38.3, 40.3, 62.7, 40.3, 49.6, 60.6, 43.0, 48.7};
inline const std::vector<double> kX2 = {1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0,
                                        1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1};
inline const std::vector<double> kX3 = {
    0.2,  -0.46, 0.13,  -1.19, -0.58, -0.2, 0.9,   1.15, -1.32, -0.79, 0.65,  -1.99, -0.46, -0.1,
    1.26, 0.69,  -0.33, -0.37, -0.25, 1.52, -0.43, -0.3, 0.35,  -0.12, -0.2,  -1.11, -0.01, -0.44,
    1.17, 0.65,  -0.02, 0.67,  -0.34, 1.05, -0.01, 0.58, -1.29, 0.35,  -1.69, -2.04};
inline const std::vector<double> kY = {0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1,
                                       0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1};
inline const std::vector<double> kW = {2, 2, 3, 2, 3, 3, 2, 2, 3, 3, 1, 1, 1, 2, 1, 2, 2, 3, 3, 1,
                                       3, 3, 3, 3, 1, 3, 1, 2, 3, 3, 1, 1, 2, 2, 3, 1, 1, 1, 2, 1};

// The 40 x 3 design [x1 x2 x3] (no intercept column).
inline Eigen::MatrixXd LogisticDesign() {
  Eigen::MatrixXd x(kY.size(), 3);
  for (size_t i = 0; i < kY.size(); ++i) x.row(i) << kX1[i], kX2[i], kX3[i];
  return x;
}

inline Eigen::VectorXd ToEigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), v.size());
}

}  // namespace scancov::stats::test_data

#endif  // SCANCOV_MODELS_STATS_TEST_DATA_H_
