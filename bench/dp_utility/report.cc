#include "bench/dp_utility/report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <numeric>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace scancov::bench::dp_utility {
namespace {

double Mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

// Sample standard deviation (n - 1); 0 for a single value.
double Sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

std::string Row(const SigmaRuns& r, double baseline_auc, double clip_norm) {
  const bool dp = r.noise_multiplier > 0;
  if (r.aucs.empty()) {
    return absl::StrFormat("| %s | %.1f | %.2f | 0/%d | – | – | – | – | – | – |", r.mode,
                           r.noise_multiplier, r.epsilon, static_cast<int>(r.failures.size()));
  }
  const auto [lo, hi] = std::minmax_element(r.aucs.begin(), r.aucs.end());
  const double clipped = std::count_if(r.update_norms.begin(), r.update_norms.end(),
                                       [&](double n) { return n > clip_norm; }) /
                         std::max<double>(1.0, r.update_norms.size());
  return absl::StrFormat(
      "| %s | %s | %s | %d/%d | %.4f | %.4f | %.4f – %.4f | %+.4f | %s | %.1f |", dp ? r.mode : "–",
      dp ? absl::StrFormat("%.1f", r.noise_multiplier) : "none (no DP)",
      dp ? absl::StrFormat("%.2f", r.epsilon) : "∞", static_cast<int>(r.aucs.size()),
      static_cast<int>(r.aucs.size() + r.failures.size()), Mean(r.aucs), Sd(r.aucs), *lo, *hi,
      Mean(r.aucs) - baseline_auc,
      dp && !absl::StartsWith(r.mode, "dp_sgd") ? absl::StrFormat("%.0f%%", 100 * clipped) : "–",
      Mean(r.seconds));
}

}  // namespace

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string RenderReport(const ReportHeader& h, const std::vector<SigmaRuns>& runs) {
  const Machine& m = h.machine;
  std::string out = absl::StrFormat(
      "## bench_dp_utility: DP-FedAvg, %d rounds, %d seeds per noise multiplier\n\n"
      "- command: `%s`\n- machine: %u CPUs, %s; load average %s at start, %s at end\n"
      "- date: %s\n- sites: %s; the severity MLP (age, SpO2, CRP, LDH; hidden 16, %s) trained "
      "by FedAvg, evaluated after the last round on every site's validation quarter "
      "(global.val_auc: the sites' AUCs weighted by their validation rows; the split is fixed "
      "per site, a seed changes initialisation, shuffling and noise)\n"
      "- clip norm C = %.4g (%s); median L2 norm of the updates without DP: %.4g\n"
      "- epsilon: per site, at delta = %g, from the RDP accountant (%d releases, each a "
      "Gaussian step at noise multiplier sigma / 2: patient-level sensitivity 2C; improved "
      "conversion; the same in both modes, distributed trusting t sites of every sum)\n"
      "- modes: site: each site adds N(0, (sigma C)^2) to its update, FedAvg by samples; "
      "distributed t: each adds N(0, (sigma C)^2 / t), updates weighed 1 and summed under "
      "secure aggregation at threshold t, the mean of the sum\n\n",
      h.rounds, h.seeds, h.command, m.cpus, m.cpu_model, m.load_start, m.load_end, m.date_utc,
      h.sites, h.batch_norm ? "BatchNorm" : "no BatchNorm", h.clip_norm,
      h.clip_norm_from_median ? "the median below" : "--clip-norm", h.median_update_norm, h.delta,
      h.rounds);
  if (h.dp_sgd_steps > 0) {
    absl::StrAppendFormat(
        &out,
        "- dp_sgd: each site trains with DP-SGD (Poisson batches at q = %g, per-example "
        "gradients clipped to C = %.4g, N(0, (sigma C)^2) on every step's sum, divided by q N); "
        "its epsilon: %d x %d steps of the subsampled Gaussian at q and sigma (sensitivity C), "
        "not the line above; the update leaves as trained\n\n",
        h.sample_rate, h.clip_norm, h.rounds, h.dp_sgd_steps);
  }
  absl::StrAppend(&out,
                  "| mode | sigma | epsilon per site | runs done | val AUC mean | sd | range | "
                  "vs no DP | updates clipped | wall s / run |\n"
                  "|---|---|---|---|---|---|---|---|---|---|\n");
  const double baseline = runs.empty() ? NAN : Mean(runs.front().aucs);
  for (const SigmaRuns& r : runs) {
    absl::StrAppend(&out, Row(r, baseline, h.clip_norm), "\n");
  }
  for (const SigmaRuns& r : runs) {
    if (r.failures.empty()) continue;
    absl::StrAppendFormat(&out, "\n- %s sigma %.1f: %d of %d runs did not finish; first: %s",
                          r.mode, r.noise_multiplier, r.failures.size(),
                          r.failures.size() + r.aucs.size(), r.failures.front());
  }
  return out;
}

}  // namespace scancov::bench::dp_utility
