// Test-only statistics: univariate logistic regression by Newton-Raphson, enough to check that
// a generated cohort shows the ground truth's associations. Header-only, for tests only.
#ifndef SCANCOV_SITES_COHORT_TESTING_STATS_H_
#define SCANCOV_SITES_COHORT_TESTING_STATS_H_

#include <cmath>
#include <vector>

namespace scancov::sites::testing_stats {

struct UnivariateFit {
  double beta = 0.0;  // log odds ratio per unit of x
  double se = 0.0;    // Wald standard error
  double sd = 0.0;    // SD of x (for OR per SD)
  int n = 0;
  double OrPerSd() const { return std::exp(beta * sd); }
  double Z() const { return se > 0 ? beta / se : 0.0; }
};

// Fits logit P(y) = a + b x on the pairs where x is finite.
inline UnivariateFit FitUnivariateLogit(const std::vector<double>& x,
                                        const std::vector<double>& y) {
  std::vector<double> xs, ys;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) {
      xs.push_back(x[i]);
      ys.push_back(y[i]);
    }
  }
  UnivariateFit fit;
  fit.n = static_cast<int>(xs.size());
  if (fit.n < 3) return fit;
  double mean = 0, var = 0;
  for (double v : xs) mean += v / fit.n;
  for (double v : xs) var += (v - mean) * (v - mean) / (fit.n - 1);
  fit.sd = std::sqrt(var);
  double a = 0, b = 0;  // on centred x for stability
  double h00 = 0, h01 = 0, h11 = 0;
  for (int iter = 0; iter < 50; ++iter) {
    double g0 = 0, g1 = 0;
    h00 = h01 = h11 = 0;
    for (int i = 0; i < fit.n; ++i) {
      const double xc = xs[i] - mean;
      const double p = 1.0 / (1.0 + std::exp(-(a + b * xc)));
      const double w = p * (1 - p);
      g0 += ys[i] - p;
      g1 += (ys[i] - p) * xc;
      h00 += w;
      h01 += w * xc;
      h11 += w * xc * xc;
    }
    const double det = h00 * h11 - h01 * h01;
    if (det <= 0) break;
    const double da = (h11 * g0 - h01 * g1) / det;
    const double db = (h00 * g1 - h01 * g0) / det;
    a += da;
    b += db;
    if (std::abs(da) + std::abs(db) < 1e-10) break;
  }
  fit.beta = b;
  const double det = h00 * h11 - h01 * h01;
  fit.se = det > 0 ? std::sqrt(h00 / det) : 0.0;
  return fit;
}

}  // namespace scancov::sites::testing_stats

#endif  // SCANCOV_SITES_COHORT_TESTING_STATS_H_
