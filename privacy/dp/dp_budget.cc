#include "privacy/dp/dp_budget.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

// More steps than this in one plan is a mistake (and would overflow the product).
constexpr int64_t kMaxTotalSteps = int64_t{1} << 40;

absl::Status CheckPolicy(const DpBudgetPolicy& policy) {
  if (!(policy.max_epsilon > 0.0 && std::isfinite(policy.max_epsilon))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dp budget: the policy's max_epsilon must be finite and > 0, not ", policy.max_epsilon));
  }
  if (!(policy.delta > 0.0 && policy.delta < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp budget: the policy's delta must be in (0, 1), not ", policy.delta));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DpBudgetExceededReason(double max_epsilon) {
  // protocol/failure_code.h carries integers only: the policy's epsilon in thousandths.
  return absl::StrCat("dp_budget_exceeded max_epsilon_milli=",
                      static_cast<int64_t>(std::llround(max_epsilon * 1000.0)));
}

absl::StatusOr<std::vector<DpEvent>> EventsOf(const StudyDpPlan& plan) {
  if (!(plan.sample_rate > 0.0 && plan.sample_rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp plan: sample_rate must be in (0, 1], not ", plan.sample_rate));
  }
  if (plan.steps_per_round < 1 || plan.rounds < 1 ||
      plan.steps_per_round > kMaxTotalSteps / plan.rounds) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp plan: needs >= 1 step per round and >= 1 round, at most ", kMaxTotalSteps,
                     " steps in all; not ", plan.steps_per_round, " x ", plan.rounds));
  }
  return std::vector<DpEvent>{
      {plan.sample_rate, plan.noise_multiplier, plan.steps_per_round * plan.rounds}};
}

absl::StatusOr<DpBudgetDecision> DecideDpBudget(const DpBudgetPolicy& policy,
                                                const std::vector<DpEvent>& spent,
                                                const StudyDpPlan& plan) {
  SCV_RETURN_IF_ERROR(CheckPolicy(policy));
  SCV_ASSIGN_OR_RETURN(std::vector<DpEvent> planned, EventsOf(plan));
  RdpAccountant accountant;
  SCV_RETURN_IF_ERROR(Annotate(accountant.ComposeAll(spent), "dp budget: a past event"));
  SCV_ASSIGN_OR_RETURN(PrivacySpent before, accountant.GetEpsilon(policy.delta));
  SCV_RETURN_IF_ERROR(Annotate(accountant.ComposeAll(planned), "dp budget: the plan"));
  SCV_ASSIGN_OR_RETURN(PrivacySpent after, accountant.GetEpsilon(policy.delta));

  DpBudgetDecision decision;
  decision.epsilon_spent = before.epsilon;
  decision.epsilon_after = after.epsilon;
  decision.order = after.order;
  decision.allowed = after.epsilon <= policy.max_epsilon;
  if (!decision.allowed) decision.reason = DpBudgetExceededReason(policy.max_epsilon);
  return decision;
}

absl::StatusOr<StudyDpPlan> PlanForStudy(const DpSpec& spec, int64_t rounds, int64_t local_steps,
                                         int num_sites, bool trust_other_sites_noise) {
  if (rounds < 1 || local_steps < 1 || num_sites < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp plan: rounds, local steps and sites must be >= 1, not ", rounds, ", ",
                     local_steps, ", ", num_sites));
  }
  StudyDpPlan plan;
  plan.rounds = rounds;
  switch (spec.mode) {
    case DpMode::kDpSgd:
      plan.sample_rate = spec.sample_rate;
      plan.noise_multiplier = spec.noise_multiplier;
      plan.steps_per_round = local_steps;
      return plan;
    case DpMode::kSite:
      plan.noise_multiplier = spec.noise_multiplier / 2;
      return plan;
    case DpMode::kDistributed:
      plan.noise_multiplier = spec.noise_multiplier / 2;
      if (!trust_other_sites_noise)
        plan.noise_multiplier /= std::sqrt(static_cast<double>(num_sites));
      return plan;
  }
  return absl::InvalidArgumentError("dp plan: unknown mode");
}

}  // namespace scancov::privacy::dp
