// The Markdown report of bench_dp_utility: the command, the machine (CPUs, CPU model, load
// average at start and end), the date, the clip norm and how it was chosen, then one table row
// per noise multiplier and DP mode (no DP first): epsilon per site, the final model's validation
// AUC over the seeds (mean, standard deviation, range), its difference from no DP, the share of
// updates clipping shrank, and the wall time per run.
#ifndef SCANCOV_BENCH_DP_UTILITY_REPORT_H_
#define SCANCOV_BENCH_DP_UTILITY_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/machine.h"

namespace scancov::bench::dp_utility {

using bench::LoadAverage;
using bench::Machine;
using bench::ReadMachine;

// The runs of one noise multiplier (0: no DP) in one mode, one entry per seed.
struct SigmaRuns {
  std::string mode = "site";  // "site", "distributed t=<t>"; unused without DP
  double noise_multiplier = 0.0;
  double epsilon = 0.0;               // per site at the report's delta; unused without DP
  std::vector<double> aucs;           // the evaluation round's global.val_auc
  std::vector<double> seconds;        // wall time of each run
  std::vector<double> update_norms;   // every trained update's norm, before the gate
  std::vector<std::string> failures;  // runs that did not finish, with why
};

struct ReportHeader {
  std::string command;
  Machine machine;
  int rounds = 0;
  int seeds = 0;
  double delta = 1e-5;
  double clip_norm = 0.0;
  bool clip_norm_from_median = true;
  double median_update_norm = 0.0;  // of the runs without DP
  std::string sites;                // "kb (800), igr (140), ..."
  bool batch_norm = false;
  // --dp-sgd: DP-SGD's steps per round at each site (epochs x round(1 / q)) and q; 0: site and
  // distributed modes. C is then the per-example clip norm, and "updates clipped" does not apply.
  int64_t dp_sgd_steps = 0;
  double sample_rate = 1.0;
};

double Median(std::vector<double> v);

// The whole report; `runs` starts with the runs without DP.
std::string RenderReport(const ReportHeader& header, const std::vector<SigmaRuns>& runs);

}  // namespace scancov::bench::dp_utility

#endif  // SCANCOV_BENCH_DP_UTILITY_REPORT_H_
