// One training federation of bench_dp_utility (issue 14): three synthetic hospitals (the cohort
// generator's kb and igr and a generic third site, imported through the node's clinical CSV
// import into in-memory node stores) train the severity MLP by FedAvg rounds in an in-process
// federation (aggregator Federation with AllStudyLogics, in-process clients, node agents, the
// real TaskGate with its DP filter, the torch task plug-ins), then the study's final round
// evaluates the last global model at every site.
//
// With a noise multiplier, the study asks for site-mode DP-FedAvg (privacy_json "dp"): each
// gate clips its site's update to the clip norm and adds N(0, (sigma C)^2) per element, noise
// drawn from a seeded source so that a run is reproducible. In distributed mode
// (privacy/dp/distributed_dp.h) the study also asks for secure aggregation: each gate adds
// N(0, (sigma C)^2 / t) and the nodes (certificates from a CA made for the run, agents in one
// thread each, as secure aggregation needs the sites at once) mask their updates with weight 1;
// the aggregator averages the sum. With dp_sgd each site trains with DP-SGD instead (the
// gate's DP-SGD board, node/tasks/dp_sgd_terms.h) and the update leaves as trained. Every update
// the plug-in trains is also measured before the gate touches it (its L2 norm against the global
// model it started from), to choose the clip norm and to see how many updates clipping shrinks.
//
// Thread safety: not thread-safe; a run drives its nodes in turn on the calling thread.
#ifndef SCANCOV_BENCH_DP_UTILITY_FEDERATION_RUN_H_
#define SCANCOV_BENCH_DP_UTILITY_FEDERATION_RUN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/clinical_source.h"
#include "node/store/node_store.h"

namespace scancov::bench::dp_utility {

// A synthetic hospital's admission rows in its own in-memory node store.
struct SyntheticHospital {
  std::string id;
  int patients = 0;
  uint64_t split_key = 0;  // as scancov-node derives it from the site secret
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<node::ClinicalDatasetSource> source;
};

// kb (the profile's ~800 patients), igr (~140) and "hegp" (a generic site of `third_patients`
// with a case-mix shift of 0.3), generated with `cohort_seed`.
absl::StatusOr<std::vector<SyntheticHospital>> MakeHospitals(uint64_t cohort_seed,
                                                             int third_patients);

struct RunConfig {
  int rounds = 10;
  int local_epochs = 2;
  double learning_rate = 0.01;
  uint64_t seed = 1;              // the plan's seed (initialisation, shuffling) and the noise's
  double noise_multiplier = 0.0;  // 0: no DP
  double clip_norm = 1.0;         // used only with a noise multiplier
  double delta = 1e-5;
  // BatchNorm1d after the hidden layer (the model's default). Its running statistics are
  // floating tensors of the update, so site-mode DP clips and noises them too; a noised
  // running variance can turn negative, and the model's outputs NaN.
  bool batch_norm = false;
  // Distributed DP over secure aggregation at `threshold` instead of site mode.
  bool distributed = false;
  int threshold = 2;
  // Sample-level DP-SGD at each site instead (per-example clipping to clip_norm, Poisson
  // batches at sample_rate, noise at every step; models/nn/local_training.h): the gate posts the
  // terms and the tabular_training plug-in trains with them, noise from the same seeded source.
  bool dp_sgd = false;
  double sample_rate = 0.05;
};

struct RunResult {
  double val_auc = 0.0;   // the evaluation round's "global.val_auc" (sites' AUCs, n_val-weighted)
  double val_loss = 0.0;  // its "global.val_loss"
  double seconds = 0.0;   // wall time of the federation, from study creation to done
  std::vector<double> update_norms;  // every trained update's L2 norm, before the gate
};

// The study's spec_json: age, SpO2, CRP and LDH, severe as the outcome, a quarter of each
// site's patients for validation, one hidden layer of 16, with or without BatchNorm.
std::string SeveritySpecJson(bool batch_norm);

// The study's privacy_json for `config` ("" without a noise multiplier).
std::string PrivacyJson(const RunConfig& config);

// Runs one study to its end. An error if the study fails or reports no validation AUC.
absl::StatusOr<RunResult> RunFederation(std::vector<SyntheticHospital>& hospitals,
                                        const RunConfig& config);

}  // namespace scancov::bench::dp_utility

#endif  // SCANCOV_BENCH_DP_UTILITY_FEDERATION_RUN_H_
