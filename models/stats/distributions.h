// Distribution functions the statistics need: the standard normal, the chi-square and the
// Student t upper tails. Self-contained (no Boost, no R): a few well-known algorithms written
// for double precision. Accuracy is about 1e-13 relative in the body of each distribution and
// the tails stay accurate to the smallest normal doubles, which matters because combined
// p-values of 1e-20 are real results, not rounding noise.
//
// All functions are pure and thread-safe. Arguments outside the domain return NaN (these are
// mathematical primitives; the callers validate their inputs and return a Status).
#ifndef SCANCOV_MODELS_STATS_DISTRIBUTIONS_H_
#define SCANCOV_MODELS_STATS_DISTRIBUTIONS_H_

namespace scancov::stats {

// P(Z <= z) for a standard normal Z.
double NormalCdf(double z);

// P(Z > z) = NormalCdf(-z), computed without cancellation.
double NormalSf(double z);

// The z with NormalCdf(z) = p, for p in (0, 1); -inf at 0 and +inf at 1.
double NormalQuantile(double p);

// Two-sided p-value of a standard normal statistic: 2 * P(Z > |z|).
double TwoSidedNormalP(double z);

// The critical value z_{1 - (1 - level) / 2} of a two-sided interval at `level` (0.95 ->
// 1.959963984540054).
double TwoSidedCriticalValue(double level);

// P(X > x) for X ~ chi-square with `df` > 0 degrees of freedom (df need not be an integer).
double ChiSquareSf(double x, double df);

// P(|T| > |t|) for T ~ Student t with `df` > 0 degrees of freedom.
double StudentTTwoSidedP(double t, double df);

// Regularised lower incomplete gamma P(a, x) and its complement Q(a, x) = 1 - P(a, x).
double RegularizedGammaP(double a, double x);
double RegularizedGammaQ(double a, double x);

// Regularised incomplete beta I_x(a, b).
double RegularizedBeta(double x, double a, double b);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_DISTRIBUTIONS_H_
