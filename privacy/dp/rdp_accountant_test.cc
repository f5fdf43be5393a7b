#include "privacy/dp/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::dp {
namespace {

std::vector<double> Range(double from, double to, double step) {
  std::vector<double> out;
  for (int64_t i = 0;; ++i) {
    const double x = from + step * static_cast<double>(i);
    if (x > to + 1e-9) break;
    out.push_back(x);
  }
  return out;
}

PrivacySpent Epsilon(const std::vector<double>& orders, const std::vector<DpEvent>& events,
                     double delta, Conversion conversion) {
  absl::StatusOr<RdpAccountant> accountant = RdpAccountant::WithOrders(orders);
  EXPECT_TRUE(accountant.ok()) << accountant.status();
  EXPECT_TRUE(accountant->ComposeAll(events).ok());
  absl::StatusOr<PrivacySpent> spent = accountant->GetEpsilon(delta, conversion);
  EXPECT_TRUE(spent.ok()) << spent.status();
  return *spent;
}

double Rdp(double q, double sigma, double alpha) {
  absl::StatusOr<double> rdp = SampledGaussianRdp(q, sigma, alpha);
  EXPECT_TRUE(rdp.ok()) << rdp.status();
  return rdp.value_or(-1.0);
}

// The plain Gaussian mechanism composed T times has RDP T alpha / (2 s^2); with the classic
// conversion, eps(alpha) = T alpha / (2 s^2) + L / (alpha - 1), L = ln(1/delta), is smallest at
// alpha* = 1 + s sqrt(2 L / T), where eps = T / (2 s^2) + sqrt(2 T L) / s. On a grid of step
// 0.001 the accountant can only be above that, by at most eps''(alpha*) / 2 * 0.0005^2 =
// L / (alpha* - 1)^3 * 2.5e-7 (< 3e-5 for these cases): tolerance 1e-4.
TEST(RdpAccountantTest, ComposedGaussianMatchesTheClosedFormOverContinuousOrders) {
  const std::vector<double> orders = Range(1.001, 20.0, 0.001);
  struct Case {
    double sigma;
    int64_t steps;
    double delta;
  };
  for (const Case& c : {Case{1.0, 100, 1e-5}, Case{5.0, 1000, 1e-6}, Case{0.8, 10, 1e-5}}) {
    SCOPED_TRACE(testing::Message() << "sigma=" << c.sigma << " T=" << c.steps);
    const double t = static_cast<double>(c.steps);
    const double l = std::log(1.0 / c.delta);
    const double closed = t / (2 * c.sigma * c.sigma) + std::sqrt(2 * t * l) / c.sigma;
    const PrivacySpent got =
        Epsilon(orders, {{1.0, c.sigma, c.steps}}, c.delta, Conversion::kClassic);
    EXPECT_GE(got.epsilon, closed - 1e-9);
    EXPECT_LE(got.epsilon, closed + 1e-4);
    EXPECT_NEAR(got.order, 1.0 + c.sigma * std::sqrt(2 * l / t), 0.01);
  }
}

// Reference values from the definition, A = E_{z~N(0,s^2)}[((1-q) + q e^{(2z-1)/(2s^2)})^alpha],
// rdp = log(A)/(alpha-1), by numerical integration (not the series). Run with Debian 12's
// python3-scipy 1.10.1 (/usr/bin/python3), this script:
//
//   # Renyi DP of the Poisson-subsampled Gaussian mechanism straight from the definition:
//   #   A = E_{z~N(0,s^2)} [((1-q) + q exp((2z-1)/(2 s^2)))^alpha],  rdp = log(A) / (alpha - 1)
//   # integrated numerically (scipy.integrate.quad), in log space: the integrand is scaled by its
//   # maximum so that large exponents do not overflow.
//   import math
//   import numpy as np
//   from scipy import integrate, special
//
//   def log_integrand(z, q, s, a):
//       log_phi = -0.5 * (z / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
//       u = (2 * z - 1) / (2 * s * s)
//       # log((1-q) + q e^u), stably
//       if q == 1.0:
//           log_mix = u
//       else:
//           log_mix = np.logaddexp(math.log1p(-q), math.log(q) + u)
//       return log_phi + a * log_mix
//
//   def rdp_quad(q, s, a):
//       grid = np.linspace(-60 * s - 5, 60 * s + a + 5, 200001)
//       vals = np.array([log_integrand(z, q, s, a) for z in grid])
//       m = vals.max()
//       lo, hi = grid[0], grid[-1]
//       # Breakpoints where the integrand is not negligible help quad.
//       keep = grid[vals > m - 80]
//       pts = list(np.linspace(keep[0], keep[-1], 50))
//       f = lambda z: math.exp(log_integrand(z, q, s, a) - m)
//       val, err = integrate.quad(f, lo, hi, points=pts, limit=2000, epsabs=0, epsrel=1e-13)
//       return (m + math.log(val)) / (a - 1), err / val
//
//   def rdp_int_exact(q, s, a):
//       # integer alpha only: the binomial expansion (used here only to check the quadrature)
//       terms = [special.gammaln(a + 1) - special.gammaln(k + 1) - special.gammaln(a - k + 1)
//                + (a - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2 * s * s)
//                for k in range(a + 1)]
//       return special.logsumexp(terms) / (a - 1)
//
//   cases = [(0.01, 1.0, 1.5), (0.01, 1.0, 2.5), (0.05, 0.5, 3.7), (0.1, 2.0, 10.5),
//            (0.3, 0.8, 1.25), (0.5, 0.3, 2.25), (0.9, 1.0, 4.5), (0.999, 1.5, 3.3),
//            (256 / 60000, 1.1, 20.5), (0.2, 0.3, 7.75), (0.01, 4.0, 32.0),
//            (0.1, 1.0, 8.0), (0.5, 0.6, 16.0)]
//   for q, s, a in cases:
//       r, rel = rdp_quad(q, s, a)
//       line = f"q={q!r} sigma={s} alpha={a}: rdp={r:.12e} (quad rel err {rel:.1e})"
//       if float(a).is_integer():
//           line += f" exact-sum={rdp_int_exact(q, s, int(a)):.12e}"
//       print(line)
//
// printed (each with quad's relative error estimate 1.1e-14; at the integer orders 32, 8 and 16
// the quadrature equals the exact binomial sum to all 13 printed digits):
//   q=0.01 sigma=1.0 alpha=1.5: rdp=1.272537433277e-04
//   q=0.01 sigma=1.0 alpha=2.5: rdp=2.175753322822e-04
//   q=0.05 sigma=0.5 alpha=3.7: rdp=3.295330782639e+00
//   q=0.1 sigma=2.0 alpha=10.5: rdp=2.000685442587e-02
//   q=0.3 sigma=0.8 alpha=1.25: rdp=1.291254907628e-01
//   q=0.5 sigma=0.3 alpha=2.25: rdp=1.125233689106e+01
//   q=0.9 sigma=1.0 alpha=4.5: rdp=2.118887407832e+00
//   q=0.999 sigma=1.5 alpha=3.3: rdp=7.324146031930e-01
//   q=0.004266666666666667 sigma=1.1 alpha=20.5: rdp=2.734334409256e+00
//   q=0.2 sigma=0.3 alpha=7.75: rdp=4.120768239683e+01
//   q=0.01 sigma=4.0 alpha=32.0: rdp=1.052636065908e-04 ... exact-sum=1.052636065908e-04
//   q=0.1 sigma=1.0 alpha=8.0: rdp=1.378361411348e+00 ... exact-sum=1.378361411348e+00
//   q=0.5 sigma=0.6 alpha=16.0: rdp=2.148286522962e+01 ... exact-sum=2.148286522962e+01
// Tolerance: 1e-9 relative (quad: 1.1e-14 relative in A, i.e. < 2e-10 relative in the smallest
// rdp here, whose log A is 6.4e-5; the series: 1e-15).
TEST(RdpAccountantTest, SampledGaussianRdpMatchesNumericalIntegration) {
  struct Case {
    double q, sigma, alpha, rdp;
  };
  const Case cases[] = {
      {0.01, 1.0, 1.5, 1.272537433277e-04},
      {0.01, 1.0, 2.5, 2.175753322822e-04},
      {0.05, 0.5, 3.7, 3.295330782639e+00},
      {0.1, 2.0, 10.5, 2.000685442587e-02},
      {0.3, 0.8, 1.25, 1.291254907628e-01},
      {0.5, 0.3, 2.25, 1.125233689106e+01},
      {0.9, 1.0, 4.5, 2.118887407832e+00},
      {0.999, 1.5, 3.3, 7.324146031930e-01},
      {256.0 / 60000, 1.1, 20.5, 2.734334409256e+00},
      {0.2, 0.3, 7.75, 4.120768239683e+01},
      {0.01, 4.0, 32.0, 1.052636065908e-04},
      {0.1, 1.0, 8.0, 1.378361411348e+00},
      {0.5, 0.6, 16.0, 2.148286522962e+01},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "q=" << c.q << " sigma=" << c.sigma << " alpha=" << c.alpha);
    EXPECT_NEAR(Rdp(c.q, c.sigma, c.alpha), c.rdp, 1e-9 * c.rdp);
  }
}

// Over the supported range the value is finite, non-decreasing in the order (a Rényi divergence
// is), and never above the unsampled Gaussian's (subsampling only helps), up to rounding: log A
// is computed from A ~ 1 + 1e-16 at q = 1e-6, sigma = 100, so an absolute 1e-15 is allowed.
TEST(RdpAccountantTest, SampledGaussianRdpIsStableAcrossTheSupportedRange) {
  std::vector<double> orders = DefaultOrders();
  for (double a : {1.01, 5.3, 31.7, 100.5, 255.9}) orders.push_back(a);
  std::sort(orders.begin(), orders.end());
  for (double q : {1e-6, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999999, 1.0}) {
    for (double sigma : {0.3, 0.5, 1.0, 3.0, 10.0, 100.0}) {
      double previous = 0.0;
      for (double alpha : orders) {
        SCOPED_TRACE(testing::Message() << "q=" << q << " sigma=" << sigma << " alpha=" << alpha);
        const double rdp = Rdp(q, sigma, alpha);
        ASSERT_TRUE(std::isfinite(rdp));
        EXPECT_GE(rdp, previous * (1 - 1e-9) - 1e-15);
        EXPECT_LE(rdp, GaussianRdp(sigma, alpha) * (1 + 1e-9) + 1e-15);
        previous = rdp;
      }
    }
  }
}

// tensorflow/privacy, privacy/analysis/rdp_accountant_test.py at commit
// 01ab549902200724d9b2288817325b70a1b1e09f (github.com/tensorflow/privacy): its
// test_compute_rdp_scalar asserts compute_rdp(q=0.1, sigma=2, steps=10, order=5) = 0.07737
// (5 places) and test_compute_rdp_sequence compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]) =
// [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307] (within 1e-5). The same figures, to
// rtol 1e-4, are in google/differential-privacy python/dp_accounting/rdp/
// rdp_privacy_accountant_test.py (test_compute_rdp_poisson_sampled_gaussian).
TEST(RdpAccountantTest, SampledGaussianRdpMatchesTensorFlowPrivacyTests) {
  EXPECT_NEAR(10 * Rdp(0.1, 2.0, 5.0), 0.07737, 5e-6);
  const double orders[] = {1.5, 2.5, 5, 50, 100};
  const double expected[] = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(50 * Rdp(0.01, 2.5, orders[i]), expected[i], 1e-5) << "order " << orders[i];
  }
}

// Same file and commit, with the classic conversion of that version (rdp_accountant.py's
// _compute_eps: eps = rdp - log(delta) / (orders - 1)):
//   test_get_privacy_spent_check_target_delta: orders 2..32, compute_rdp(0.01, 4, 10000),
//     delta 1e-5 -> eps 1.258575 (5 places) at order 20;
//   test_check_composition: orders (1.25, ..., 256), q=1e-4 sigma=0.4 40000 steps, then
//     q=0.1 sigma=2 100 steps, delta 1e-5 -> eps 8.509656 (5 places) at order 2.5.
TEST(RdpAccountantTest, ClassicEpsilonMatchesTensorFlowPrivacyTests) {
  const PrivacySpent one =
      Epsilon(Range(2, 32, 1), {{0.01, 4.0, 10000}}, 1e-5, Conversion::kClassic);
  EXPECT_NEAR(one.epsilon, 1.258575, 5e-6);
  EXPECT_EQ(one.order, 20);

  const std::vector<double> orders = {1.25, 1.5, 1.75, 2.,  2.5, 3.,  4.,  5.,  6.,  7.,  8.,
                                      10.,  12., 14.,  16., 20., 24., 28., 32., 64., 256.};
  const PrivacySpent two =
      Epsilon(orders, {{1e-4, 0.4, 40000}, {0.1, 2.0, 100}}, 1e-5, Conversion::kClassic);
  EXPECT_NEAR(two.epsilon, 8.509656, 5e-6);
  EXPECT_EQ(two.order, 2.5);
}

// google/differential-privacy, python/dp_accounting/rdp/rdp_privacy_accountant_test.py at commit
// 025111e75114a96b8d54ba88e483a2b0f99a2954, with dp-accounting's (improved) conversion:
//   test_compute_epsilon_delta_pure_dp: RDP 1.1 at every order 2..32, delta 1e-5 ->
//     epsilon 1.32783806176 ("computed by hand") at order 32;
//   test_compute_epsilon_delta_gaussian: the Gaussian mechanism (q = 1) with noise multiplier
//     4.530877117, "chosen to obtain exactly (1, 1e-6)-DP", orders 1.000 .. 99.999 by 0.001 ->
//     epsilon 1 (7 places). (Order 1 itself is left out here: the conversion needs alpha > 1.)
TEST(RdpAccountantTest, ImprovedEpsilonMatchesDpAccountingTests) {
  const std::vector<double> orders = Range(2, 32, 1);
  absl::StatusOr<PrivacySpent> pure =
      EpsilonFromRdp(orders, std::vector<double>(orders.size(), 1.1), 1e-5);
  ASSERT_TRUE(pure.ok()) << pure.status();
  EXPECT_NEAR(pure->epsilon, 1.32783806176, 1e-10);
  EXPECT_EQ(pure->order, 32);

  const PrivacySpent gaussian =
      Epsilon(Range(1.001, 99.999, 0.001), {{1.0, 4.530877117, 1}}, 1e-6, Conversion::kImproved);
  EXPECT_NEAR(gaussian.epsilon, 1.0, 5e-8);
}

// The MNIST DP-SGD tutorial of TensorFlow Privacy (github.com/tensorflow/privacy, tutorials/
// README.md at commit 047e1eef0e446daf41a9adbb712c546ebbd38c12, "Select Parameters"): noise
// multiplier 1.12, batch 256 of 60000 (Poisson rate 256/60000), 60 epochs: "Privacy eps 2.92"
// at delta = 1e-5; the expected output prints "the current epsilon is: 1.00" after 1 epoch and
// "1.04" after 2. tutorials/mnist_dpsgd_tutorial.py (commit 01ab5499...) computes it with steps
// = epoch * (60000 // 256) = epoch * 234, orders [1.1, 1.2, ..., 10.9] + [12, ..., 63] and
// get_privacy_spent, whose conversion was then the classic one (rdp_accountant.py at commit
// 1595ed3cd1122cd19e395a2df6323e9cb98b59ba). Printed with two decimals: tolerance 0.005.
TEST(RdpAccountantTest, MatchesThePublishedMnistTutorialFigures) {
  std::vector<double> orders = Range(1.1, 10.9, 0.1);
  for (double a : Range(12, 63, 1)) orders.push_back(a);
  const double q = 256.0 / 60000;
  EXPECT_NEAR(Epsilon(orders, {{q, 1.12, 60 * 234}}, 1e-5, Conversion::kClassic).epsilon, 2.92,
              0.005);
  EXPECT_NEAR(Epsilon(orders, {{q, 1.12, 234}}, 1e-5, Conversion::kClassic).epsilon, 1.00, 0.005);
  EXPECT_NEAR(Epsilon(orders, {{q, 1.12, 2 * 234}}, 1e-5, Conversion::kClassic).epsilon, 1.04,
              0.005);
}

TEST(RdpAccountantTest, ImprovedConversionIsNeverWorseThanClassic) {
  for (double sigma : {0.5, 1.0, 3.0}) {
    for (double q : {0.001, 0.05, 1.0}) {
      const std::vector<DpEvent> events = {{q, sigma, 500}};
      const RdpAccountant defaults;
      const double classic = Epsilon(defaults.orders(), events, 1e-6, Conversion::kClassic).epsilon;
      const double improved =
          Epsilon(defaults.orders(), events, 1e-6, Conversion::kImproved).epsilon;
      EXPECT_LT(improved, classic) << "q=" << q << " sigma=" << sigma;
      EXPECT_GT(improved, 0.0);
    }
  }
}

TEST(RdpAccountantTest, ComposesStepsAndReleasesByAddition) {
  RdpAccountant once, twice, split;
  ASSERT_TRUE(once.Compose({0.02, 1.3, 100}).ok());
  ASSERT_TRUE(twice.ComposeAll({{0.02, 1.3, 100}, {0.02, 1.3, 100}}).ok());
  ASSERT_TRUE(split.ComposeAll({{0.02, 1.3, 60}, {0.02, 1.3, 40}, {1.0, 5.0, 0}}).ok());
  for (size_t i = 0; i < once.orders().size(); ++i) {
    EXPECT_NEAR(twice.rdp()[i], 2 * once.rdp()[i], 1e-12 * once.rdp()[i]);
    EXPECT_NEAR(split.rdp()[i], once.rdp()[i], 1e-12 * once.rdp()[i]);
  }
  // A second study adds to the first: epsilon grows.
  RdpAccountant both = once;
  ASSERT_TRUE(both.Compose({1.0, 10.0, 5}).ok());
  EXPECT_GT(both.GetEpsilon(1e-5)->epsilon, once.GetEpsilon(1e-5)->epsilon);
}

TEST(RdpAccountantTest, NothingSampledCostsNothing) {
  RdpAccountant accountant;
  ASSERT_TRUE(accountant.Compose({0.0, 1.0, 1000}).ok());
  EXPECT_EQ(accountant.GetEpsilon(1e-5)->epsilon, 0.0);
}

TEST(RdpAccountantTest, RefusesInvalidEventsOrdersAndDeltas) {
  RdpAccountant accountant;
  EXPECT_EQ(accountant.Compose({1.5, 1.0, 1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accountant.Compose({0.1, 0.0, 1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accountant.Compose({0.1, NAN, 1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accountant.Compose({0.1, 1.0, -1}).code(), absl::StatusCode::kInvalidArgument);
  for (double r : accountant.rdp()) EXPECT_EQ(r, 0.0);  // nothing was added
  EXPECT_FALSE(RdpAccountant::WithOrders({}).ok());
  EXPECT_FALSE(RdpAccountant::WithOrders({2.0, 1.0}).ok());
  EXPECT_FALSE(SampledGaussianRdp(0.1, 1.0, 0.5).ok());
  EXPECT_FALSE(accountant.GetEpsilon(0.0).ok());
  EXPECT_FALSE(accountant.GetEpsilon(1.0).ok());
  EXPECT_FALSE(EpsilonFromRdp({2.0, 3.0}, {0.1}, 1e-5).ok());
}

// The inverse of the MNIST figure above: the smallest noise multiplier for epsilon 2.92 over 60
// epochs is the tutorial's 1.12 (to the two decimals the figure was printed with).
TEST(SmallestNoiseMultiplierTest, RecoversTheTutorialsNoise) {
  NoiseSearch search;
  search.orders = Range(1.1, 10.9, 0.1);
  for (double a : Range(12, 63, 1)) search.orders.push_back(a);
  search.conversion = Conversion::kClassic;
  absl::StatusOr<double> sigma =
      SmallestNoiseMultiplier(256.0 / 60000, 60 * 234, 2.92, 1e-5, search);
  ASSERT_TRUE(sigma.ok()) << sigma.status();
  EXPECT_NEAR(*sigma, 1.12, 0.005);
}

TEST(SmallestNoiseMultiplierTest, IsTheSmallestThatMeetsTheTarget) {
  NoiseSearch search;
  search.spent = {{0.01, 1.0, 2000}};  // an earlier study
  const double q = 0.02, target = 4.0, delta = 1e-6;
  const int64_t steps = 3000;
  absl::StatusOr<double> sigma = SmallestNoiseMultiplier(q, steps, target, delta, search);
  ASSERT_TRUE(sigma.ok()) << sigma.status();
  auto epsilon_with = [&](double s) {
    std::vector<DpEvent> events = search.spent;
    events.push_back({q, s, steps});
    return Epsilon(search.orders, events, delta, Conversion::kImproved).epsilon;
  };
  EXPECT_LE(epsilon_with(*sigma), target);
  EXPECT_GT(epsilon_with(*sigma * (1 - 2 * search.relative_tolerance)), target);
}

TEST(SmallestNoiseMultiplierTest, ReportsATargetThatCannotBeMet) {
  EXPECT_EQ(SmallestNoiseMultiplier(1.0, 1'000'000, 1e-6, 1e-5).status().code(),
            absl::StatusCode::kOutOfRange);
  NoiseSearch overspent;
  overspent.spent = {{1.0, 0.5, 100}};  // epsilon already far above 1
  EXPECT_EQ(SmallestNoiseMultiplier(0.01, 10, 1.0, 1e-5, overspent).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(SmallestNoiseMultiplier(0.01, 10, 0.0, 1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A generous target is met by the smallest multiplier searched.
  EXPECT_EQ(*SmallestNoiseMultiplier(0.001, 1, 50.0, 1e-5), 0.3);
}

}  // namespace
}  // namespace scancov::privacy::dp
