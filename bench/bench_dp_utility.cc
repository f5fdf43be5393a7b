// bench_dp_utility: the utility cost of differential privacy (issue 14). Three synthetic
// hospitals train the severity MLP by FedAvg in an in-process federation, first without DP,
// then under site-mode DP-FedAvg at each noise multiplier and, with --distributed, under
// distributed DP over secure aggregation at the same noise multipliers (the same epsilon); the
// final global model's validation AUC (the study's evaluation round, global.val_auc) is
// reported against the epsilon each site spends, over several seeds. With --dp-sgd, sample-level
// DP-SGD at each site (node/dp_filter.h) at the same noise multipliers instead of site mode:
// per-example gradients clipped to --dp-sgd-clip, Poisson batches at --sample-rate, epsilon
// from rounds x epochs x round(1 / q) subsampled Gaussian steps at sigma.
//
//   bench_dp_utility                                   (10 rounds, 3 seeds, sigma 0.3 .. 4)
//   bench_dp_utility --rounds 5 --seeds 5 --sigmas 0.5,1 --clip-norm 0.5
//   bench_dp_utility --distributed --threshold 2
//   bench_dp_utility --dp-sgd --sample-rate 0.05 --dp-sgd-clip 1 --sigmas 0.7,1,2
//
// The clip norm, unless given, is the median L2 norm of the updates the runs without DP
// trained (so that about half of them would be clipped); the report states it. Epsilon comes
// from the accountant exactly as the node's budget computes it (privacy/dp/dp_budget.h,
// PlanForStudy): `rounds` releases, each one Gaussian step at sigma / 2.
// Runs, federation and report: bench/dp_utility/.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/dp_utility/federation_run.h"
#include "bench/dp_utility/report.h"
#include "privacy/dp/dp_budget.h"
#include "privacy/dp/rdp_accountant.h"

namespace {

namespace du = scancov::bench::dp_utility;
namespace dp = scancov::privacy::dp;

// Epsilon per site of `rounds` releases at `sigma`, at `delta`, as the node charges them: site
// mode, or distributed over sums of at least `sites_sharing` sites (the threshold), trusting
// them for the sum's noise (node/dp_filter.h).
// `local_steps` > 0: DP-SGD's steps per round at `sample_rate` (epochs x round(1 / q)).
absl::StatusOr<double> EpsilonPerSite(double sigma, int rounds, double delta, int sites_sharing,
                                      int64_t local_steps = 0, double sample_rate = 1.0) {
  dp::DpSpec spec;
  spec.mode = sites_sharing > 1 ? dp::DpMode::kDistributed : dp::DpMode::kSite;
  if (local_steps > 0) spec.mode = dp::DpMode::kDpSgd;
  spec.noise_multiplier = sigma;
  spec.delta = delta;
  spec.sample_rate = sample_rate;
  absl::StatusOr<dp::StudyDpPlan> plan =
      dp::PlanForStudy(spec, rounds, std::max<int64_t>(1, local_steps), sites_sharing,
                       /*trust_other_sites_noise=*/true);
  if (!plan.ok()) return plan.status();
  absl::StatusOr<std::vector<dp::DpEvent>> events = dp::EventsOf(*plan);
  if (!events.ok()) return events.status();
  dp::RdpAccountant accountant;
  if (absl::Status s = accountant.ComposeAll(*events); !s.ok()) return s;
  absl::StatusOr<dp::PrivacySpent> spent = accountant.GetEpsilon(delta);
  if (!spent.ok()) return spent.status();
  return spent->epsilon;
}

// The runs of one noise multiplier, seeds 1..`seeds`, one line of progress each on stderr.
du::SigmaRuns RunSigma(std::vector<du::SyntheticHospital>& hospitals, du::RunConfig config,
                       int seeds) {
  du::SigmaRuns runs;
  runs.mode = config.dp_sgd        ? absl::StrCat("dp_sgd q=", config.sample_rate)
              : config.distributed ? absl::StrCat("distributed t=", config.threshold)
                                   : "site";
  runs.noise_multiplier = config.noise_multiplier;
  for (int seed = 1; seed <= seeds; ++seed) {
    config.seed = static_cast<uint64_t>(seed);
    absl::StatusOr<du::RunResult> r = du::RunFederation(hospitals, config);
    if (!r.ok()) {
      runs.failures.push_back(absl::StrCat("seed ", seed, ": ", r.status().ToString()));
      std::cerr << runs.mode << " sigma " << config.noise_multiplier << " seed " << seed << ": "
                << r.status() << std::endl;
      continue;
    }
    std::cerr << runs.mode << " sigma " << config.noise_multiplier << " seed " << seed << ": auc "
              << r->val_auc << " in " << r->seconds << " s" << std::endl;
    runs.aucs.push_back(r->val_auc);
    runs.seconds.push_back(r->seconds);
    runs.update_norms.insert(runs.update_norms.end(), r->update_norms.begin(),
                             r->update_norms.end());
  }
  return runs;
}

std::string SitesLine(const std::vector<du::SyntheticHospital>& hospitals) {
  std::vector<std::string> parts;
  for (const auto& h : hospitals) parts.push_back(absl::StrCat(h.id, " (", h.patients, ")"));
  return absl::StrJoin(parts, ", ");
}

// The command line.
struct Options {
  du::RunConfig config;
  int seeds = 3;
  int third_patients = 500;
  uint64_t cohort_seed = 42;
  double clip_norm = 0;
  std::vector<double> sigmas = {0.3, 0.5, 1, 2, 4};
  bool distributed = false;  // distributed mode too, at the same sigmas
  bool dp_sgd = false;       // DP-SGD instead of site mode, at the same sigmas
  double dp_sgd_clip = 1.0;  // DP-SGD's per-example clip norm
};

void AddOptions(CLI::App& app, Options* o) {
  app.add_option("--rounds", o->config.rounds, "training rounds")->capture_default_str();
  app.add_option("--seeds", o->seeds, "runs per noise multiplier (plan and noise seeds 1..n)")
      ->capture_default_str();
  app.add_option("--sigmas", o->sigmas, "noise multipliers (>= 0.3), besides no DP")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--clip-norm", o->clip_norm, "clip norm C; 0: the median update norm without DP")
      ->capture_default_str();
  app.add_option("--epochs", o->config.local_epochs, "local epochs per round")
      ->capture_default_str();
  app.add_option("--lr", o->config.learning_rate)->capture_default_str();
  app.add_option("--cohort-seed", o->cohort_seed, "the synthetic cohorts' seed")
      ->capture_default_str();
  app.add_option("--third-patients", o->third_patients, "patients at the third site (hegp)")
      ->capture_default_str();
  app.add_flag("--distributed", o->distributed,
               "distributed DP over secure aggregation too, at the same sigmas");
  app.add_option("--threshold", o->config.threshold,
                 "secure-aggregation threshold t of distributed mode (2 or 3 here)")
      ->capture_default_str();
  app.add_flag("--dp-sgd", o->dp_sgd,
               "sample-level DP-SGD at each site instead of site mode, at the same sigmas");
  app.add_option("--sample-rate", o->config.sample_rate, "DP-SGD's Poisson sample rate q")
      ->capture_default_str();
  app.add_option("--dp-sgd-clip", o->dp_sgd_clip, "DP-SGD's per-example clip norm")
      ->capture_default_str();
  app.add_flag("--batch-norm", o->config.batch_norm,
               "BatchNorm after the hidden layer (its running statistics are noised too)");
}

// No DP first (its update norms give the clip norm), then each noise multiplier.
std::vector<du::SigmaRuns> RunAll(std::vector<du::SyntheticHospital>& hospitals, Options o,
                                  du::ReportHeader* header) {
  std::vector<du::SigmaRuns> runs;
  du::RunConfig config = o.config;
  config.noise_multiplier = 0;
  runs.push_back(RunSigma(hospitals, config, o.seeds));
  header->median_update_norm = du::Median(runs.front().update_norms);
  header->clip_norm_from_median = o.clip_norm <= 0;
  config.clip_norm = o.clip_norm > 0 ? o.clip_norm : header->median_update_norm;
  header->clip_norm = config.clip_norm;
  std::vector<bool> modes = {false};
  if (o.distributed) modes.push_back(true);
  if (o.dp_sgd) {
    modes = {false};  // DP-SGD's rows only (with its own clip norm), not site mode's
    config.dp_sgd = true;
    config.clip_norm = o.dp_sgd_clip;
    header->clip_norm = o.dp_sgd_clip;
    header->clip_norm_from_median = false;
  }
  const int64_t dp_sgd_steps =
      config.dp_sgd ? std::max(1, config.local_epochs) *
                          std::max<int64_t>(1, std::llround(1.0 / config.sample_rate))
                    : 0;
  header->dp_sgd_steps = dp_sgd_steps;
  header->sample_rate = config.sample_rate;
  for (bool distributed : modes) {
    config.distributed = distributed;
    for (double sigma : o.sigmas) {
      config.noise_multiplier = sigma;
      du::SigmaRuns r = RunSigma(hospitals, config, o.seeds);
      absl::StatusOr<double> eps =
          EpsilonPerSite(sigma, config.rounds, config.delta, distributed ? config.threshold : 1,
                         dp_sgd_steps, config.sample_rate);
      r.epsilon = eps.ok() ? *eps : NAN;
      if (!eps.ok()) r.failures.push_back(absl::StrCat("accountant: ", eps.status().ToString()));
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Global-model AUC against epsilon, site and distributed DP-FedAvg (issue 14)"};
  Options options;
  AddOptions(app, &options);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::off);  // a refused task is counted in the report instead

  du::ReportHeader header;
  header.command = absl::StrJoin(std::vector<std::string>(argv, argv + argc), " ");
  header.machine = du::ReadMachine();
  header.rounds = options.config.rounds;
  header.seeds = options.seeds;
  header.delta = options.config.delta;
  header.batch_norm = options.config.batch_norm;
  auto hospitals = du::MakeHospitals(options.cohort_seed, options.third_patients);
  if (!hospitals.ok()) {
    std::cerr << hospitals.status() << "\n";
    return 1;
  }
  header.sites = SitesLine(*hospitals);
  const std::vector<du::SigmaRuns> runs = RunAll(*hospitals, options, &header);
  header.machine.load_end = du::LoadAverage();
  std::cout << du::RenderReport(header, runs) << std::endl;
  return 0;
}
