#include "privacy/dp/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Orders above this are never useful and would make the integer sum long.
constexpr double kMaxOrder = 1e5;
// The fractional-order series stops when a term is this far (in log) below the sum: the series
// alternates with terms of decreasing size past i = alpha + 1, so the rest is smaller still.
constexpr double kSeriesLogTolerance = 36.0;
constexpr int64_t kMaxSeriesTerms = 10'000'000;

// log(exp(a) + exp(b)).
double LogAdd(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

// log(erfc(x)). std::erfc underflows near x = 26.5; beyond 25 the asymptotic expansion
// erfc(x) = exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + 105/(16x^8) - ...)
// is accurate to ~1e-13 relative.
double LogErfc(double x) {
  if (x < 25.0) return std::log(std::erfc(x));
  const double u = 1.0 / (x * x);
  const double series = 1.0 + u * (-0.5 + u * (0.75 + u * (-1.875 + u * 6.5625)));
  return -x * x - std::log(x) - 0.5 * std::log(M_PI) + std::log(series);
}

bool IsInteger(double x) { return std::floor(x) == x; }

// log A_alpha for integer alpha and 0 < q < 1 (MTZ19, Sec. 3.3): the exact binomial sum
//   A = sum_k C(alpha, k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 sigma^2)).
double LogAIntegerOrder(double q, double sigma, int64_t alpha) {
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double two_s2 = 2.0 * sigma * sigma;
  double log_coef = 0.0;  // log C(alpha, k), updated in place (no lgamma: it is not reentrant)
  double log_a = -kInf;
  for (int64_t k = 0; k <= alpha; ++k) {
    if (k > 0)
      log_coef += std::log(static_cast<double>(alpha - k + 1)) - std::log(static_cast<double>(k));
    const double dk = static_cast<double>(k);
    log_a = LogAdd(log_a, log_coef + dk * log_q + (alpha - dk) * log_1mq + (dk * dk - dk) / two_s2);
  }
  return log_a;
}

// A sum of signed terms given as log magnitudes, kept as the log of its positive and negative
// parts.
struct SignedLogSum {
  double pos = -kInf;
  double neg = -kInf;
  void Add(double log_magnitude, bool negative) {
    double& part = negative ? neg : pos;
    part = LogAdd(part, log_magnitude);
  }
};

// log A_alpha for fractional alpha and 0 < q < 1 (MTZ19, Sec. 3.3). The integral is split at
// z0, where (1-q) = q exp((2z-1)/(2 sigma^2)); on each side ((1-q) + q e^u)^alpha is expanded in
// the smaller term with generalised binomial coefficients C(alpha, i), and each term integrates
// in closed form against N(0, sigma^2) with an erfc factor.
absl::StatusOr<double> LogAFractionalOrder(double q, double sigma, double alpha) {
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double two_s2 = 2.0 * sigma * sigma;
  const double z0 = sigma * sigma * (log_1mq - log_q) + 0.5;
  const double root2_sigma = std::sqrt(2.0) * sigma;
  const double log_half = std::log(0.5);
  double log_coef = 0.0;  // log |C(alpha, i)|
  bool negative = false;  // sign of C(alpha, i)
  SignedLogSum sum;
  for (int64_t i = 0; i < kMaxSeriesTerms; ++i) {
    const double di = static_cast<double>(i);
    if (i > 0) {
      const double factor = alpha - (di - 1.0);
      log_coef += std::log(std::fabs(factor)) - std::log(di);
      if (factor < 0) negative = !negative;
    }
    const double dj = alpha - di;
    const double below = log_coef + di * log_q + dj * log_1mq + (di * di - di) / two_s2 + log_half +
                         LogErfc((di - z0) / root2_sigma);
    const double above = log_coef + dj * log_q + di * log_1mq + (dj * dj - dj) / two_s2 + log_half +
                         LogErfc((z0 - dj) / root2_sigma);
    sum.Add(below, negative);
    sum.Add(above, negative);
    if (di > alpha + 1 && std::max(below, above) < sum.pos - kSeriesLogTolerance) {
      if (!(sum.neg < sum.pos)) {
        return absl::InternalError(absl::StrCat("SampledGaussianRdp: the series for q=", q,
                                                " sigma=", sigma, " alpha=", alpha,
                                                " cancelled to a non-positive sum"));
      }
      return sum.pos + std::log1p(-std::exp(sum.neg - sum.pos));
    }
  }
  return absl::InternalError(absl::StrCat("SampledGaussianRdp: the series for q=", q,
                                          " sigma=", sigma, " alpha=", alpha, " did not converge"));
}

absl::Status CheckEvent(double sample_rate, double noise_multiplier) {
  if (!(sample_rate >= 0.0 && sample_rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp event: sample_rate must be in [0, 1], not ", sample_rate));
  }
  if (!(noise_multiplier > 0.0 && std::isfinite(noise_multiplier))) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp event: noise_multiplier must be finite and > 0, not ", noise_multiplier));
  }
  return absl::OkStatus();
}

absl::Status CheckOrder(double alpha) {
  if (!(alpha > 1.0 && alpha <= kMaxOrder)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rdp: an order must be in (1, ", kMaxOrder, "], not ", alpha));
  }
  return absl::OkStatus();
}

double EpsilonAtOrder(double alpha, double rdp, double delta, Conversion conversion) {
  if (rdp == kInf) return kInf;
  const double log_delta = std::log(delta);
  if (conversion == Conversion::kClassic) return rdp - log_delta / (alpha - 1.0);
  // Total variation <= sqrt(1 - exp(-KL)) <= sqrt(1 - exp(-rdp)): (0, delta)-DP already.
  if (delta * delta + std::expm1(-rdp) >= 0.0) return 0.0;
  const double eps = rdp + std::log1p(-1.0 / alpha) - (log_delta + std::log(alpha)) / (alpha - 1.0);
  return std::max(eps, 0.0);
}

absl::Status CheckNoiseSearch(double target_epsilon, const NoiseSearch& search) {
  if (!(target_epsilon > 0.0 && std::isfinite(target_epsilon))) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise search: target epsilon must be finite and > 0, not ", target_epsilon));
  }
  if (!(search.min_noise_multiplier > 0.0 &&
        search.min_noise_multiplier < search.max_noise_multiplier &&
        std::isfinite(search.max_noise_multiplier) && search.relative_tolerance > 0.0)) {
    return absl::InvalidArgumentError(
        "noise search: needs 0 < min < max noise multiplier (finite) and a tolerance > 0");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<double> DefaultOrders() {
  std::vector<double> orders;
  for (double a = 1.25; a <= 3.0; a += 0.25) orders.push_back(a);
  for (double a = 3.5; a <= 10.0; a += 0.5) orders.push_back(a);
  for (int a = 11; a <= 64; ++a) orders.push_back(a);
  for (double a : {80, 96, 112, 128, 160, 192, 224, 256}) orders.push_back(a);
  return orders;
}

double GaussianRdp(double noise_multiplier, double alpha) {
  return alpha / (2.0 * noise_multiplier * noise_multiplier);
}

absl::StatusOr<double> SampledGaussianRdp(double sample_rate, double noise_multiplier,
                                          double alpha) {
  SCV_RETURN_IF_ERROR(CheckEvent(sample_rate, noise_multiplier));
  SCV_RETURN_IF_ERROR(CheckOrder(alpha));
  if (sample_rate == 0.0) return 0.0;
  if (sample_rate == 1.0) return GaussianRdp(noise_multiplier, alpha);
  if (IsInteger(alpha)) {
    return LogAIntegerOrder(sample_rate, noise_multiplier, static_cast<int64_t>(alpha)) /
           (alpha - 1.0);
  }
  SCV_ASSIGN_OR_RETURN(double log_a, LogAFractionalOrder(sample_rate, noise_multiplier, alpha));
  // A >= 1 in exact arithmetic (a Rényi divergence is >= 0); rounding may give a hair below.
  return std::max(log_a, 0.0) / (alpha - 1.0);
}

absl::StatusOr<PrivacySpent> EpsilonFromRdp(const std::vector<double>& orders,
                                            const std::vector<double>& rdp, double delta,
                                            Conversion conversion) {
  if (!(delta > 0.0 && delta < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("epsilon: delta must be in (0, 1), not ", delta));
  }
  if (orders.empty() || orders.size() != rdp.size()) {
    return absl::InvalidArgumentError(
        "epsilon: orders and RDP values must be non-empty lists of one length");
  }
  PrivacySpent best{kInf, orders[0]};
  for (size_t i = 0; i < orders.size(); ++i) {
    SCV_RETURN_IF_ERROR(CheckOrder(orders[i]));
    if (!(rdp[i] >= 0.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("epsilon: RDP at order ", orders[i], " must be >= 0, not ", rdp[i]));
    }
    const double eps = EpsilonAtOrder(orders[i], rdp[i], delta, conversion);
    if (eps < best.epsilon) best = {eps, orders[i]};
  }
  return best;
}

RdpAccountant::RdpAccountant() : RdpAccountant(DefaultOrders()) {}

RdpAccountant::RdpAccountant(std::vector<double> orders)
    : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {}

absl::StatusOr<RdpAccountant> RdpAccountant::WithOrders(std::vector<double> orders) {
  if (orders.empty()) return absl::InvalidArgumentError("rdp accountant: no orders");
  for (double alpha : orders) SCV_RETURN_IF_ERROR(CheckOrder(alpha));
  return RdpAccountant(std::move(orders));
}

absl::Status RdpAccountant::Compose(const DpEvent& event) {
  SCV_RETURN_IF_ERROR(CheckEvent(event.sample_rate, event.noise_multiplier));
  if (event.steps < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp event: steps must be >= 0, not ", event.steps));
  }
  std::vector<double> added(orders_.size());
  for (size_t i = 0; i < orders_.size(); ++i) {
    SCV_ASSIGN_OR_RETURN(double per_step,
                         SampledGaussianRdp(event.sample_rate, event.noise_multiplier, orders_[i]));
    added[i] = per_step * static_cast<double>(event.steps);
  }
  for (size_t i = 0; i < orders_.size(); ++i) rdp_[i] += added[i];
  return absl::OkStatus();
}

absl::Status RdpAccountant::ComposeAll(const std::vector<DpEvent>& events) {
  for (const DpEvent& event : events) SCV_RETURN_IF_ERROR(Compose(event));
  return absl::OkStatus();
}

absl::StatusOr<PrivacySpent> RdpAccountant::GetEpsilon(double delta, Conversion conversion) const {
  return EpsilonFromRdp(orders_, rdp_, delta, conversion);
}

absl::StatusOr<double> SmallestNoiseMultiplier(double sample_rate, int64_t steps,
                                               double target_epsilon, double delta,
                                               const NoiseSearch& search) {
  SCV_RETURN_IF_ERROR(CheckNoiseSearch(target_epsilon, search));
  SCV_ASSIGN_OR_RETURN(RdpAccountant spent, RdpAccountant::WithOrders(search.orders));
  SCV_RETURN_IF_ERROR(spent.ComposeAll(search.spent));
  auto epsilon_with = [&](double sigma) -> absl::StatusOr<double> {
    RdpAccountant total = spent;
    SCV_RETURN_IF_ERROR(total.Compose({sample_rate, sigma, steps}));
    SCV_ASSIGN_OR_RETURN(PrivacySpent at, total.GetEpsilon(delta, search.conversion));
    return at.epsilon;
  };
  double hi = search.max_noise_multiplier;
  SCV_ASSIGN_OR_RETURN(double eps_hi, epsilon_with(hi));
  if (eps_hi > target_epsilon) {
    return absl::OutOfRangeError(absl::StrCat("noise search: even noise multiplier ", hi,
                                              " gives epsilon ", eps_hi, " > ", target_epsilon));
  }
  double lo = search.min_noise_multiplier;
  SCV_ASSIGN_OR_RETURN(double eps_lo, epsilon_with(lo));
  if (eps_lo <= target_epsilon) return lo;
  // Invariant: epsilon(lo) > target >= epsilon(hi). Bisect geometrically (the range spans
  // decades).
  while (hi - lo > search.relative_tolerance * hi) {
    const double mid = std::sqrt(lo * hi);
    SCV_ASSIGN_OR_RETURN(double eps_mid, epsilon_with(mid));
    (eps_mid <= target_epsilon ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace scancov::privacy::dp
