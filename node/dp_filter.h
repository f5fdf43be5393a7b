// DpFilter: the gate's differential-privacy layer (node/gate.h), the same for every kind that
// releases model weights. A study asks for DP in its privacy options (StudySpec.privacy_json,
// carried by every task: {"dp": {...}}, privacy/dp/dp_spec.h); the site's policy says how much
// it may spend in all (privacy.max_epsilon at privacy.dp_delta, site file).
//
//   admit    before a task runs: a site with a maximum epsilon releases weights only under DP
//            (dp_required); the release this task would make, added to what the site has
//            already spent (privacy/dp/dp_ledger.h), must stay within the maximum
//            (dp_budget_exceeded max_epsilon_milli=<policy x 1000>). Modes "site" and
//            "distributed" act at the release; "distributed" only in a study with secure
//            aggregation whose max_abs_value holds the noised update (privacy/dp/distributed_dp.h).
//            "dp_sgd" acts in training: only for a task whose plug-in declares it can
//            (TaskDeclaration::dp_sgd_unavailable empty: tabular_training without BatchNorm),
//            otherwise invalid_spec with the plug-in's reason.
//   train    (dp_sgd) BeginTraining posts the admitted terms (clip norm, noise multiplier, sample
//            rate, steps per epoch round(1/q), this filter's noise source) on the task host's
//            DpSgdBoard (node/tasks/dp_sgd_terms.h), where the plug-in takes them: the training
//            never reads the privacy options itself; EndTraining clears them.
//   apply    after it ran, before anything is recorded or sent: in modes site and distributed the
//            update (local - global) is clipped to clip_norm and Gaussian noise is added to every
//            element (privacy/dp/update_clipping.h): N(0, (sigma clip_norm)^2) in site mode,
//            N(0, (sigma clip_norm)^2 / t) in distributed mode, t the secure-aggregation
//            threshold (the node's SecAggPayloadOf then masks the update with weight 1);
//            BatchNorm running variances the noise made negative are raised to a small floor
//            (post-processing: the guarantee holds). In dp_sgd mode the weights are released as
//            trained (already private), and only if the plug-in took the terms. Either way the
//            release is written to the DP ledger first.
//
// The accountant sees a site or distributed release as one Gaussian step at noise multiplier
// sigma / 2 (one patient can move a clipped update anywhere in the ball of radius C: sensitivity
// 2C; privacy/dp/dp_budget.h, PlanForStudy): in distributed mode that is the noise of the
// smallest sum the aggregator can unmask, trusting that at least t of its sites add their share.
// A dp_sgd release is max(1, plan.local_epochs) x round(1/q) steps of the Poisson-subsampled
// Gaussian at rate q and noise multiplier sigma (per-example clipping: sensitivity C).
// INIT_MODEL tasks release weights that no patient touched and pass without DP.
//
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_DP_FILTER_H_
#define SCANCOV_NODE_DP_FILTER_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "node/tasks/dp_sgd_terms.h"
#include "node/tasks/task_plugin.h"
#include "privacy/dp/dp_budget.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/dp/dp_spec.h"
#include "privacy/dp/gaussian_source.h"
#include "privacy/dp/update_clipping.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::node {

struct DpSitePolicy {
  double max_epsilon = 0.0;  // 0: the site sets no maximum (DP studies are still accounted)
  double delta = 1e-5;
};

// The study's privacy options of a task (Task.privacy_json): its DP block, if any.
// InvalidArgument (invalid_spec) for JSON that is not an object, an unknown key or a bad block.
absl::StatusOr<std::optional<privacy::dp::DpSpec>> TaskDpSpec(const v1::Task& task);

// DP-SGD's optimizer steps per epoch: round(1 / sample_rate), at least 1.
int64_t DpSgdStepsPerEpoch(const privacy::dp::DpSpec& spec);

class DpFilter {
 public:
  // `ledger` must outlive the filter; null: releases are accounted in memory only (tests of
  // other parts). `noise` null: a CSPRNG source (production). `board` (the task host's; must
  // outlive the filter) null: dp_sgd studies are refused.
  DpFilter(DpSitePolicy policy, privacy::dp::DpLedger* ledger, Clock* clock,
           std::shared_ptr<privacy::dp::GaussianSource> noise = nullptr,
           DpSgdBoard* board = nullptr);

  // The DP the task's release must carry (nullopt: none), or why the task may not run here.
  absl::StatusOr<std::optional<privacy::dp::DpSpec>> Admit(const v1::Task& task,
                                                           const TaskDeclaration& declaration);
  // Clips and noises `weights` (the task's trained model) against `global` (the model it
  // started from) and records the release. FailedPrecondition without a global model.
  // In dp_sgd mode: records the release, FailedPrecondition if the plug-in did not take the
  // DP-SGD terms (the weights were not trained privately; nothing may leave).
  absl::Status Apply(const v1::Task& task, const privacy::dp::DpSpec& spec,
                     const protocol::TensorSet* global, protocol::TensorSet* weights);
  // Around the plug-in's run: posts the DP-SGD terms of an admitted dp_sgd task on the board
  // (none for any other task), and clears them.
  void BeginTraining(const std::optional<privacy::dp::DpSpec>& spec);
  void EndTraining();

 private:
  // The noise one release carries, and the number of sites whose noise a release's smallest sum
  // carries (1 in site mode, the threshold t in distributed mode).
  struct ReleaseNoise {
    privacy::dp::NoiseSpec noise;
    int sites_sharing = 1;
  };
  // InvalidArgument (invalid_spec) for a mode this node does not run or a distributed study
  // without secure aggregation, or whose fixed-point range cannot hold the noised update.
  static absl::StatusOr<ReleaseNoise> NoiseFor(const v1::Task& task,
                                               const privacy::dp::DpSpec& spec);
  static absl::StatusOr<privacy::dp::StudyDpPlan> PlanOf(const v1::Task& task,
                                                         const privacy::dp::DpSpec& spec,
                                                         const ReleaseNoise& noise);
  absl::Status RecordDpSgd(const v1::Task& task, const privacy::dp::DpSpend& spend);
  absl::StatusOr<std::vector<privacy::dp::DpEvent>> Spent() const;

  DpSitePolicy policy_;
  privacy::dp::DpLedger* ledger_;
  Clock* clock_;
  std::shared_ptr<privacy::dp::GaussianSource> noise_;
  DpSgdBoard* board_;
  std::vector<privacy::dp::DpEvent> in_memory_;  // without a ledger
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_DP_FILTER_H_
