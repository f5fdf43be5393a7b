#include "node/dp_filter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "node/secagg_session.h"
#include "privacy/dp/distributed_dp.h"
#include "privacy/dp/update_clipping.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

using privacy::dp::DpMode;
using privacy::dp::DpSpec;
using protocol::FailureCode;
using protocol::WithFailureCode;

absl::Status InvalidSpec(const v1::Task& task, absl::string_view why) {
  return WithFailureCode(
      absl::InvalidArgumentError(absl::StrCat("task '", task.task_id(), "': privacy: ", why)),
      FailureCode::kInvalidSpec);
}

// BatchNorm's running variances are statistics of the site's data and are noised with the rest
// of the update; noise can make one negative, and the model then computes NaN everywhere. Raising
// them to a small positive floor is post-processing of the noised release: the guarantee holds.
absl::Status ClampRunningVariances(protocol::TensorSet* weights) {
  constexpr double kFloor = 1e-5;
  protocol::TensorSet out;
  for (const protocol::Tensor& t : weights->tensors()) {
    if (!absl::EndsWith(t.name, "running_var") || !protocol::IsFloating(t.dtype)) {
      SCV_RETURN_IF_ERROR(out.Add(t));
      continue;
    }
    std::vector<double> v = protocol::ToDoubles(t);
    for (double& x : v) x = std::max(x, kFloor);
    SCV_RETURN_IF_ERROR(out.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, v)));
  }
  *weights = std::move(out);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<DpSpec>> TaskDpSpec(const v1::Task& task) {
  if (task.privacy_json().empty()) return std::optional<DpSpec>();
  const nlohmann::json options = nlohmann::json::parse(task.privacy_json(), nullptr, false);
  if (!options.is_object()) return InvalidSpec(task, "privacy_json is not a JSON object");
  for (const auto& [key, value] : options.items()) {
    if (key != "dp" && key != "secure_aggregation") {
      return InvalidSpec(task, absl::StrCat("unknown option '", key, "'"));
    }
  }
  if (!options.contains("dp")) return std::optional<DpSpec>();
  absl::StatusOr<DpSpec> spec = privacy::dp::ParseDpSpec(options.at("dp"), "privacy.dp");
  if (!spec.ok()) return InvalidSpec(task, spec.status().message());
  return std::optional<DpSpec>(*spec);
}

DpFilter::DpFilter(DpSitePolicy policy, privacy::dp::DpLedger* ledger, Clock* clock,
                   std::shared_ptr<privacy::dp::GaussianSource> noise, DpSgdBoard* board)
    : policy_(policy), ledger_(ledger), clock_(clock), noise_(std::move(noise)), board_(board) {
  if (noise_ == nullptr) noise_ = std::make_shared<privacy::dp::CsprngGaussianSource>();
}

absl::StatusOr<DpFilter::ReleaseNoise> DpFilter::NoiseFor(const v1::Task& task,
                                                          const DpSpec& spec) {
  switch (spec.mode) {
    case DpMode::kSite:
      return ReleaseNoise{{spec.clip_norm, spec.noise_multiplier, 1.0}, 1};
    case DpMode::kDistributed: {
      // Its share of the noise is safe only inside a sum of at least t sites.
      SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secagg, TaskSecAggSettings(task));
      if (!secagg) {
        return InvalidSpec(task,
                           "dp mode 'distributed' needs secure aggregation in the same study "
                           "(privacy.secure_aggregation): without it this site's share of the "
                           "noise would leave alone");
      }
      absl::Status range =
          privacy::dp::CheckDistributedRange(spec, secagg->threshold, secagg->max_abs_value, "dp");
      if (!range.ok()) return InvalidSpec(task, range.message());
      SCV_ASSIGN_OR_RETURN(const privacy::dp::NoiseSpec noise,
                           privacy::dp::DistributedNoise(spec, secagg->threshold));
      return ReleaseNoise{noise, secagg->threshold};
    }
    case DpMode::kDpSgd:
      // Noised at every training step (per-example clipping), nothing at the release.
      return ReleaseNoise{{spec.clip_norm, spec.noise_multiplier, 1.0}, 1};
  }
  return InvalidSpec(task, absl::StrCat("dp mode '", privacy::dp::DpModeName(spec.mode),
                                        "' is not run by this node"));
}

int64_t DpSgdStepsPerEpoch(const DpSpec& spec) {
  return std::max<int64_t>(1, std::llround(1.0 / spec.sample_rate));
}

absl::StatusOr<privacy::dp::StudyDpPlan> DpFilter::PlanOf(const v1::Task& task, const DpSpec& spec,
                                                          const ReleaseNoise& noise) {
  if (spec.mode == DpMode::kDpSgd) {
    // Every step of the task's training, at rate q and sigma (per-example clipping:
    // sensitivity C). An epoch count of 0 is charged as 1: the ledger may only over-count.
    const int64_t epochs = std::max<int64_t>(1, task.plan().local_epochs());
    return privacy::dp::PlanForStudy(spec, /*rounds=*/1, epochs * DpSgdStepsPerEpoch(spec),
                                     /*num_sites=*/1, /*trust_other_sites_noise=*/true);
  }
  // One release: sensitivity 2C, the noise of the release (site) or of the smallest sum
  // (distributed, trusting the other t - 1 sites' shares): sigma / 2 either way.
  return privacy::dp::PlanForStudy(spec, /*rounds=*/1, /*local_steps=*/1, noise.sites_sharing,
                                   /*trust_other_sites_noise=*/true);
}

absl::StatusOr<std::vector<privacy::dp::DpEvent>> DpFilter::Spent() const {
  if (ledger_ == nullptr) return in_memory_;
  return ledger_->Events();
}

absl::StatusOr<std::optional<DpSpec>> DpFilter::Admit(const v1::Task& task,
                                                      const TaskDeclaration& declaration) {
  SCV_ASSIGN_OR_RETURN(std::optional<DpSpec> spec, TaskDpSpec(task));
  const bool trains = declaration.releases_weights && task.kind() != v1::TASK_KIND_INIT_MODEL;
  if (!trains) return std::optional<DpSpec>();  // nothing learnt from patients leaves as weights
  if (!spec) {
    if (policy_.max_epsilon <= 0.0) return std::optional<DpSpec>();
    return WithFailureCode(
        absl::PermissionDeniedError(absl::StrCat(
            "gate: task '", task.task_id(),
            "' would release model weights without differential privacy, and the site's "
            "policy sets a maximum epsilon")),
        FailureCode::kDpRequired);
  }
  SCV_ASSIGN_OR_RETURN(const ReleaseNoise noise, NoiseFor(task, *spec));
  if (spec->mode == DpMode::kDpSgd) {
    if (!declaration.dp_sgd_unavailable.empty()) {
      return InvalidSpec(task, absl::StrCat("dp mode 'dp_sgd' is not available for this task: ",
                                            declaration.dp_sgd_unavailable));
    }
    if (board_ == nullptr) {
      return InvalidSpec(task, "dp mode 'dp_sgd': this node's gate has no DP-SGD training");
    }
  }
  if (policy_.max_epsilon <= 0.0) return spec;
  SCV_ASSIGN_OR_RETURN(const privacy::dp::StudyDpPlan plan, PlanOf(task, *spec, noise));
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::dp::DpEvent> spent, Spent());
  SCV_ASSIGN_OR_RETURN(
      privacy::dp::DpBudgetDecision decision,
      privacy::dp::DecideDpBudget({policy_.max_epsilon, policy_.delta}, spent, plan));
  if (!decision.allowed) {
    spdlog::warn(
        "gate: task '{}' refused: epsilon {:.3f} spent, {:.3f} with this release, "
        "maximum {:.3f}",
        task.task_id(), decision.epsilon_spent, decision.epsilon_after, policy_.max_epsilon);
    return WithFailureCode(
        absl::PermissionDeniedError(absl::StrCat("gate: task '", task.task_id(),
                                                 "' would take the site past its maximum "
                                                 "epsilon")),
        FailureCode::kDpBudgetExceeded,
        {{"max_epsilon_milli", std::llround(policy_.max_epsilon * 1000.0)}});
  }
  return spec;
}

void DpFilter::BeginTraining(const std::optional<DpSpec>& spec) {
  if (board_ == nullptr) return;
  if (!spec || spec->mode != DpMode::kDpSgd) {
    board_->Open(std::nullopt);
    return;
  }
  DpSgdTerms terms;
  terms.clip_norm = spec->clip_norm;
  terms.noise_multiplier = spec->noise_multiplier;
  terms.sample_rate = spec->sample_rate;
  terms.steps_per_epoch = DpSgdStepsPerEpoch(*spec);
  terms.noise = noise_.get();
  board_->Open(terms);
}

void DpFilter::EndTraining() {
  if (board_ != nullptr) board_->Close();
}

absl::Status DpFilter::RecordDpSgd(const v1::Task& task, const privacy::dp::DpSpend& spend) {
  if (board_ == nullptr || !board_->taken()) {
    return absl::FailedPreconditionError(
        absl::StrCat("gate: task '", task.task_id(),
                     "' did not train with the DP-SGD its study asks for; nothing is sent"));
  }
  // Recorded before it may leave: the ledger can only over-count.
  if (ledger_ != nullptr) {
    SCV_RETURN_IF_ERROR(ledger_->Record(spend).status());
  } else {
    in_memory_.push_back(spend.event);
  }
  spdlog::info(
      "gate: task '{}': trained with DP-SGD, {} steps at sample rate {:.4g}, noise "
      "multiplier {:.4g}; the release is not noised again",
      task.task_id(), spend.event.steps, spend.event.sample_rate, spend.event.noise_multiplier);
  return absl::OkStatus();
}

absl::Status DpFilter::Apply(const v1::Task& task, const DpSpec& spec,
                             const protocol::TensorSet* global, protocol::TensorSet* weights) {
  if (global == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "gate: task '", task.task_id(), "': differential privacy needs the round's global model"));
  }
  SCV_ASSIGN_OR_RETURN(const ReleaseNoise noise, NoiseFor(task, spec));
  SCV_ASSIGN_OR_RETURN(const privacy::dp::StudyDpPlan plan, PlanOf(task, spec, noise));
  privacy::dp::DpSpend spend;
  spend.created_unix = absl::ToUnixSeconds(clock_->Now());
  spend.study_id = task.study_id();
  spend.task_id = task.task_id();
  spend.mode = std::string(privacy::dp::DpModeName(spec.mode));
  spend.event = {plan.sample_rate, plan.noise_multiplier, plan.steps_per_round};
  if (spec.mode == DpMode::kDpSgd) return RecordDpSgd(task, spend);
  privacy::dp::ClipReport report;
  SCV_ASSIGN_OR_RETURN(
      protocol::TensorSet released,
      privacy::dp::PrivatizeWeights(*weights, *global, noise.noise, *noise_, &report));
  SCV_RETURN_IF_ERROR(ClampRunningVariances(&released));
  // Recorded before it may leave: the ledger can only over-count.
  if (ledger_ != nullptr) {
    SCV_RETURN_IF_ERROR(ledger_->Record(spend).status());
  } else {
    in_memory_.push_back(spend.event);
  }
  spdlog::info("gate: task '{}': update norm {:.4g} clipped by {:.4g}, Gaussian noise sd {:.4g}",
               task.task_id(), report.norm_before, report.scale,
               privacy::dp::NoiseStddev(noise.noise));
  *weights = std::move(released);
  return absl::OkStatus();
}

}  // namespace scancov::node
