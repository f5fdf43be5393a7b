#include "aggregator/server/study_privacy_options.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/server/secagg_rounds.h"
#include "core/status_macros.h"
#include "privacy/dp/distributed_dp.h"
#include "privacy/dp/dp_budget.h"
#include "privacy/dp/dp_spec.h"
#include "protocol/study_kind.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {
namespace {

// DP-SGD's steps per round at a site, as the nodes plan them (node/dp_filter.h): max(1,
// local_epochs) x round(1 / sample_rate). Only tabular_training trains with per-example
// gradients, and only a network without BatchNorm (severity_mlp's default), which mixes the rows
// of a batch; the nodes refuse both again.
absl::StatusOr<int64_t> DpSgdStepsPerRound(const v1::StudySpec& spec,
                                           const privacy::dp::DpSpec& dp) {
  SCV_ASSIGN_OR_RETURN(const protocol::StudyKind kind, protocol::StudyKindOf(spec));
  if (kind != protocol::StudyKind::tabular_training) {
    return absl::InvalidArgumentError(absl::StrCat(
        "study spec: privacy.dp.mode \"dp_sgd\" runs only for tabular_training (per-example "
        "gradients of its small networks), not '",
        protocol::StudyKindName(kind), "': use mode \"site\" or \"distributed\""));
  }
  const nlohmann::json options = nlohmann::json::parse(spec.spec_json(), nullptr, false);
  if (options.is_object() && options.contains("model_config") &&
      options["model_config"].is_object()) {
    const nlohmann::json& config = options["model_config"];
    const bool hidden =
        config.contains("hidden") && config["hidden"].is_array() && !config["hidden"].empty();
    const bool batch_norm = !config.contains("batch_norm") || config["batch_norm"] != false;
    if (hidden && batch_norm) {
      return absl::InvalidArgumentError(
          "study spec: privacy.dp.mode \"dp_sgd\" needs a network without BatchNorm, which "
          "mixes the rows of a batch so that no row has a gradient of its own to clip (set "
          "\"batch_norm\": false in model_config)");
    }
  }
  const int64_t epochs = std::max<int64_t>(1, spec.plan().local_epochs());
  return epochs * std::max<int64_t>(1, std::llround(1.0 / dp.sample_rate));
}

// A training study's DP block, with what its mode needs of the rest of the study: distributed
// DP a secure aggregation whose fixed point holds the noised updates (its strategy checked with
// it). Returns what each site's releases cost at most, for the audit and the log.
absl::StatusOr<std::string> CheckDpOptions(const v1::StudySpec& spec,
                                           const privacy::dp::DpSpec& dp) {
  int sites_sharing = 1;  // whose noise the smallest release (a site's, or a sum) carries
  if (dp.mode == privacy::dp::DpMode::kDistributed) {
    SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secagg,
                         ParseSecAggSettings(spec.privacy_json(), spec.sites_size()));
    if (!secagg) {
      return absl::InvalidArgumentError(
          "study spec: privacy.dp.mode \"distributed\" needs privacy.secure_aggregation in the "
          "same study: each site adds only its share of the noise, safe only inside a sum");
    }
    SCV_RETURN_IF_ERROR(privacy::dp::CheckDistributedRange(dp, secagg->threshold,
                                                           secagg->max_abs_value, "study spec"));
    sites_sharing = secagg->threshold;
  }
  int64_t local_steps = 1;  // per round; one release in modes site and distributed
  if (dp.mode == privacy::dp::DpMode::kDpSgd) {
    SCV_ASSIGN_OR_RETURN(local_steps, DpSgdStepsPerRound(spec, dp));
  }
  SCV_ASSIGN_OR_RETURN(
      const privacy::dp::StudyDpPlan plan,
      privacy::dp::PlanForStudy(dp, std::max<uint32_t>(1, spec.rounds()), local_steps,
                                sites_sharing, /*trust_other_sites_noise=*/true));
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::dp::DpEvent> events, privacy::dp::EventsOf(plan));
  privacy::dp::RdpAccountant accountant;
  SCV_RETURN_IF_ERROR(accountant.ComposeAll(events));
  SCV_ASSIGN_OR_RETURN(privacy::dp::PrivacySpent spent, accountant.GetEpsilon(dp.delta));
  std::string cost = absl::StrCat(
      "dp: each site's releases cost at most epsilon ", absl::StrFormat("%.3f", spent.epsilon),
      " at delta ", absl::StrFormat("%.3g", dp.delta), " over ", plan.rounds, " rounds");
  if (dp.mode == privacy::dp::DpMode::kDpSgd) {
    absl::StrAppend(&cost, " (dp_sgd: ", plan.steps_per_round, " steps per round at sample rate ",
                    absl::StrFormat("%.4g", dp.sample_rate), ", noise multiplier ",
                    absl::StrFormat("%.4g", dp.noise_multiplier), ")");
  }
  if (dp.mode == privacy::dp::DpMode::kDistributed) {
    absl::StrAppend(&cost, " (distributed: each site adds noise sd ",
                    absl::StrFormat("%.4g", dp.noise_multiplier * dp.clip_norm /
                                                std::sqrt(static_cast<double>(sites_sharing))),
                    "; the epsilon holds if at least ", sites_sharing,
                    " sites of every sum add theirs)");
  }
  return cost;
}

// The study's privacy options (StudySpec.privacy_json), checked before any site is asked: the
// nodes check them again and keep their own budget. Returns a line for the audit and the log
// (what each site's releases cost, at most), or "" without DP.
}  // namespace

absl::StatusOr<std::string> CheckStudyPrivacyOptions(const v1::StudySpec& spec) {
  if (spec.privacy_json().empty()) return std::string();
  const nlohmann::json options = nlohmann::json::parse(spec.privacy_json(), nullptr, false);
  if (!options.is_object()) {
    return absl::InvalidArgumentError("study spec: privacy_json must be a JSON object");
  }
  std::string summary;
  for (const auto& [key, value] : options.items()) {
    if (key == "secure_aggregation") {
      const bool training = spec.kind() == v1::STUDY_KIND_TRAINING;
      if (!training) {
        // An analysis whose answers are sums (protocol/wire/secure_sum.h).
        SCV_ASSIGN_OR_RETURN(const protocol::StudyKind kind, protocol::StudyKindOf(spec));
        if (!wire::SumsAnswers(kind)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "study spec: privacy.secure_aggregation is for training studies and the analyses "
              "whose answers are sums (",
              wire::SummedKindNames(), "), not '", protocol::StudyKindName(kind), "'"));
        }
      }
      const std::string& strategy = spec.strategy();
      if (training && !strategy.empty() && strategy != "fedavg" && strategy != "fedprox") {
        return absl::InvalidArgumentError(absl::StrCat(
            "study spec: privacy.secure_aggregation needs a strategy that sums the updates "
            "(fedavg, fedprox), not '",
            strategy, "': the aggregator sees only their sum"));
      }
      SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> settings,
                           ParseSecAggSettings(spec.privacy_json(), spec.sites_size()));
      if (!training && settings) {
        SCV_ASSIGN_OR_RETURN(const protocol::StudyKind kind, protocol::StudyKindOf(spec));
        SCV_RETURN_IF_ERROR(Annotate(
            wire::CheckSecureSumResolution(kind, spec.spec_json(), settings->fractional_bits),
            "study spec"));
      }
      absl::StrAppend(&summary, summary.empty() ? "" : "; ", "secure aggregation of the ",
                      training ? "training rounds" : "sites' answers");
      continue;
    }
    if (key != "dp") {
      return absl::InvalidArgumentError(
          absl::StrCat("study spec: unknown privacy option '", key, "'"));
    }
    if (spec.kind() != v1::STUDY_KIND_TRAINING) {
      return absl::InvalidArgumentError("study spec: privacy.dp is for training studies");
    }
    SCV_ASSIGN_OR_RETURN(const privacy::dp::DpSpec dp,
                         privacy::dp::ParseDpSpec(value, "privacy.dp"));
    SCV_ASSIGN_OR_RETURN(const std::string cost, CheckDpOptions(spec, dp));
    absl::StrAppend(&summary, summary.empty() ? "" : "; ", cost);
  }
  return summary;
}

}  // namespace scancov::aggregator
