// Privacy accounting with Rényi differential privacy (RDP, Mironov 2017), for the Gaussian
// mechanism and the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
// "Rényi Differential Privacy of the Sampled Gaussian Mechanism").
//
// A release is described by a DpEvent: `steps` applications of a Gaussian mechanism with noise
// standard deviation noise_multiplier x sensitivity, each on a Poisson sample of the records
// taken with probability sample_rate (1 = every record, the plain Gaussian mechanism). The
// neighbouring relation is add-or-remove one record (the one under which Poisson subsampling is
// analysed). RDP composes by addition at every order, over the steps of one event and over the
// events of several releases; the accountant converts the total to (epsilon, delta) at the best
// order of its list.
//
//   RdpAccountant accountant;                              // default orders 1.25 .. 256
//   SCV_RETURN_IF_ERROR(accountant.Compose({256.0 / 60000, 1.1, 14062}));
//   SCV_ASSIGN_OR_RETURN(PrivacySpent spent, accountant.GetEpsilon(1e-5));
//
// Accuracy: the sampled-Gaussian RDP is an exact finite sum at integer orders and a series
// (summed to a relative 1e-15, in log space) at fractional orders; it is tested against
// numerical integration for q in (0, 1], sigma >= 0.3, orders 1.25 .. 256.
//
// Thread safety: the free functions are pure; an RdpAccountant is a value type, not
// synchronised.
#ifndef SCANCOV_PRIVACY_DP_RDP_ACCOUNTANT_H_
#define SCANCOV_PRIVACY_DP_RDP_ACCOUNTANT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace scancov::privacy::dp {

// `steps` Poisson-subsampled Gaussian steps. sample_rate in [0, 1] (0 releases nothing),
// noise_multiplier > 0 (noise sd / L2 sensitivity), steps >= 0.
struct DpEvent {
  double sample_rate = 1.0;
  double noise_multiplier = 1.0;
  int64_t steps = 1;
};

// How RDP becomes (epsilon, delta):
//   kClassic:  eps = rdp + log(1/delta) / (alpha - 1)                       (Mironov 2017, Prop. 3)
//   kImproved: eps = rdp + log((alpha - 1) / alpha) - (log delta + log alpha) / (alpha - 1)
//              (Balle et al. 2020, Prop. 12; Canonne, Kamath, Steinke 2020), never worse than
//              kClassic; what Opacus and Google's dp-accounting report. With it an order whose
//              RDP r satisfies delta >= sqrt(1 - exp(-r)) gives epsilon 0 (the total variation
//              bound of the KL divergence), and epsilon is never negative.
enum class Conversion { kClassic, kImproved };

struct PrivacySpent {
  double epsilon = 0.0;
  double order = 0.0;  // the RDP order at which epsilon is smallest
};

// The orders used when none are given: 1.25 .. 3 by 0.25, 3.5 .. 10 by 0.5, 11 .. 64, then
// 80, 96, 112, 128, 160, 192, 224, 256.
std::vector<double> DefaultOrders();

// RDP at order `alpha` > 1 of one Gaussian mechanism with this noise multiplier:
// alpha / (2 sigma^2).
double GaussianRdp(double noise_multiplier, double alpha);

// RDP at order `alpha` > 1 of one step of the Poisson-subsampled Gaussian mechanism.
// InvalidArgument for sample_rate outside [0, 1], noise_multiplier not > 0, alpha not > 1, or a
// value that is not finite.
absl::StatusOr<double> SampledGaussianRdp(double sample_rate, double noise_multiplier,
                                          double alpha);

// The best (epsilon, order) for `delta` in (0, 1) from total RDP values at `orders` (same length,
// each order > 1, each RDP >= 0 or +inf).
absl::StatusOr<PrivacySpent> EpsilonFromRdp(const std::vector<double>& orders,
                                            const std::vector<double>& rdp, double delta,
                                            Conversion conversion = Conversion::kImproved);

// Sums the RDP of the events added to it, at a fixed list of orders.
class RdpAccountant {
 public:
  RdpAccountant();  // DefaultOrders()
  // Orders must be finite and > 1; InvalidArgument otherwise or if the list is empty.
  static absl::StatusOr<RdpAccountant> WithOrders(std::vector<double> orders);

  // Adds an event (validated as SampledGaussianRdp does; steps >= 0). On error nothing is added.
  absl::Status Compose(const DpEvent& event);
  absl::Status ComposeAll(const std::vector<DpEvent>& events);

  absl::StatusOr<PrivacySpent> GetEpsilon(double delta,
                                          Conversion conversion = Conversion::kImproved) const;

  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  explicit RdpAccountant(std::vector<double> orders);
  std::vector<double> orders_;
  std::vector<double> rdp_;  // total RDP at each order, same length as orders_
};

// Planning: the smallest noise multiplier with which `steps` steps at `sample_rate`, composed
// after the events already `spent`, stay within `target_epsilon` at `delta`. Found by bisection
// on [min_noise_multiplier, max_noise_multiplier] (epsilon decreases as the noise grows); the
// answer is the upper end of the final bracket, so its epsilon is <= target_epsilon, and it is
// within `relative_tolerance` of the exact smallest multiplier (on the accountant's orders).
// If even min_noise_multiplier meets the target, that is returned. OutOfRange if
// max_noise_multiplier does not (the target is too small, or `spent` already exceeds it).
struct NoiseSearch {
  std::vector<double> orders = DefaultOrders();
  Conversion conversion = Conversion::kImproved;
  std::vector<DpEvent> spent;
  double min_noise_multiplier = 0.3;
  double max_noise_multiplier = 1e4;
  double relative_tolerance = 1e-4;
};
absl::StatusOr<double> SmallestNoiseMultiplier(double sample_rate, int64_t steps,
                                               double target_epsilon, double delta,
                                               const NoiseSearch& search = {});

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_RDP_ACCOUNTANT_H_
