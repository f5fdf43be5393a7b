// The site's differential-privacy budget: a study that would take the site's patients past the
// steward's maximum epsilon is refused before it runs.
//
// The site keeps the accountant events of every DP study it ran (the epsilon already spent);
// a new study's plan adds its own; the RDP of all of them is composed (RdpAccountant, default
// orders, improved conversion) and converted to epsilon at the policy's delta. The study is
// allowed only if that total is at most the policy's maximum. A refusal leaves the site as
// "dp_budget_exceeded max_epsilon_milli=<policy value x 1000>": the policy's number and nothing
// else, never the epsilon spent (which would tell a coordinator about the site's other studies).
//
// A plan states, per round, the Poisson sample rate, the noise multiplier and the number of
// noisy steps, and the number of rounds; PlanForStudy derives it from a study's DP block.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PRIVACY_DP_DP_BUDGET_H_
#define SCANCOV_PRIVACY_DP_DP_BUDGET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "privacy/dp/dp_spec.h"
#include "privacy/dp/rdp_accountant.h"

namespace scancov::privacy::dp {

// The steward's rule: at most max_epsilon (> 0) over all DP studies, at delta (in (0, 1)).
struct DpBudgetPolicy {
  double max_epsilon = 0.0;
  double delta = 1e-5;
};

struct StudyDpPlan {
  double sample_rate = 1.0;       // Poisson rate of each noisy step, in (0, 1]
  double noise_multiplier = 1.0;  // noise sd / sensitivity, as the accountant sees it, > 0
  int64_t steps_per_round = 1;    // noisy steps per round, >= 1
  int64_t rounds = 1;             // >= 1
};

struct DpBudgetDecision {
  bool allowed = false;
  double epsilon_spent = 0.0;  // before the study (for the steward's log, never sent)
  double epsilon_after = 0.0;  // with the study
  double order = 0.0;          // the RDP order of epsilon_after
  std::string reason;          // DpBudgetExceededReason(max_epsilon) when refused
};

// "dp_budget_exceeded max_epsilon_milli=<max_epsilon x 1000, rounded>" (a failure report of
// protocol/failure_code.h, whose numbers are integers).
std::string DpBudgetExceededReason(double max_epsilon);

// The plan's accountant events: one event of steps_per_round x rounds steps.
absl::StatusOr<std::vector<DpEvent>> EventsOf(const StudyDpPlan& plan);

// Allow or refuse the plan given the events already spent. InvalidArgument for an invalid
// policy, plan or past event.
absl::StatusOr<DpBudgetDecision> DecideDpBudget(const DpBudgetPolicy& policy,
                                                const std::vector<DpEvent>& spent,
                                                const StudyDpPlan& plan);

// The plan of a study with this DP block, `rounds` rounds and `local_steps` optimiser steps per
// round at a site, from that site's point of view (one patient added or removed):
//   dp_sgd:      local_steps steps at the spec's sample rate and noise multiplier (per-example
//                clipping: sensitivity C);
//   site:        one step per round at rate 1 with noise multiplier sigma / 2: the site clips its
//                whole update to C, and one patient can move it anywhere in that ball, so the
//                sensitivity is 2C;
//   distributed: as site when `trust_other_sites_noise` (any sum the aggregator learns carries
//                at least sigma C: secure aggregation, `num_sites` = its threshold t, the fewest
//                sites in a sum, each adding N(0, (sigma C)^2 / t); distributed_dp.h); otherwise
//                only the site's own share counts: sigma / (2 sqrt(num_sites)).
// InvalidArgument for rounds, local_steps or num_sites < 1.
absl::StatusOr<StudyDpPlan> PlanForStudy(const DpSpec& spec, int64_t rounds, int64_t local_steps,
                                         int num_sites, bool trust_other_sites_noise);

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_DP_BUDGET_H_
