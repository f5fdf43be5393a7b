#include "privacy/dp/dp_budget.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::dp {
namespace {

using testing::HasSubstr;
using testing::MatchesRegex;

// DP-SGD on a site of 6000 patients, batches of 60: 100 steps an epoch, one epoch a round.
StudyDpPlan TrainingPlan(double sigma, int64_t rounds) { return {60.0 / 6000, sigma, 100, rounds}; }

double EpsilonOf(const std::vector<DpEvent>& events, double delta) {
  RdpAccountant accountant;
  EXPECT_TRUE(accountant.ComposeAll(events).ok());
  return accountant.GetEpsilon(delta)->epsilon;
}

TEST(DpBudgetTest, AllowsAStudyWithinTheBudget) {
  const DpBudgetPolicy policy{8.0, 1e-5};
  absl::StatusOr<DpBudgetDecision> decision = DecideDpBudget(policy, {}, TrainingPlan(1.1, 20));
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_TRUE(decision->allowed);
  EXPECT_EQ(decision->reason, "");
  EXPECT_EQ(decision->epsilon_spent, 0.0);
  EXPECT_DOUBLE_EQ(decision->epsilon_after, EpsilonOf({{0.01, 1.1, 2000}}, 1e-5));
  EXPECT_GT(decision->epsilon_after, 0.5);
  EXPECT_LT(decision->epsilon_after, 8.0);
}

TEST(DpBudgetTest, ARefusalNamesOnlyThePolicysNumber) {
  const DpBudgetPolicy policy{1.5, 1e-5};
  const std::vector<DpEvent> spent = {{0.01, 1.1, 1000}};
  absl::StatusOr<DpBudgetDecision> decision = DecideDpBudget(policy, spent, TrainingPlan(1.1, 20));
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_FALSE(decision->allowed);
  EXPECT_EQ(decision->reason, "dp_budget_exceeded max_epsilon_milli=1500");
  EXPECT_THAT(decision->reason, MatchesRegex("dp_budget_exceeded max_epsilon_milli=[0-9]+"));
  // The steward's log gets the numbers; the reason carries neither.
  EXPECT_GT(decision->epsilon_spent, 0.0);
  EXPECT_GT(decision->epsilon_after, 1.5);
  EXPECT_THAT(decision->reason, testing::Not(HasSubstr(absl::StrCat(decision->epsilon_spent))));
  EXPECT_THAT(decision->reason, testing::Not(HasSubstr(absl::StrCat(decision->epsilon_after))));
  EXPECT_EQ(DpBudgetExceededReason(8), "dp_budget_exceeded max_epsilon_milli=8000");
}

// The limit is inclusive: the smallest noise that meets the budget is allowed, a little less
// noise is refused.
TEST(DpBudgetTest, TheLimitIsExactAtTheNoiseSearchsAnswer) {
  const DpBudgetPolicy policy{3.0, 1e-6};
  absl::StatusOr<double> sigma = SmallestNoiseMultiplier(0.01, 100 * 30, 3.0, 1e-6);
  ASSERT_TRUE(sigma.ok()) << sigma.status();
  EXPECT_TRUE(DecideDpBudget(policy, {}, TrainingPlan(*sigma, 30))->allowed);
  EXPECT_FALSE(DecideDpBudget(policy, {}, TrainingPlan(*sigma * 0.999, 30))->allowed);
}

// Attack: a coordinator repeats a study (or runs a second one) to average the noise away. Each
// run alone is within the budget; the site counts them all and refuses once the total would
// pass its maximum, so the total never does.
TEST(DpBudgetTest, RepeatingAStudyStopsAtTheBudget) {
  const DpBudgetPolicy policy{4.0, 1e-5};
  const StudyDpPlan plan = TrainingPlan(1.0, 10);
  std::vector<DpEvent> spent;
  int runs = 0;
  for (; runs < 100; ++runs) {
    absl::StatusOr<DpBudgetDecision> decision = DecideDpBudget(policy, spent, plan);
    ASSERT_TRUE(decision.ok()) << decision.status();
    if (!decision->allowed) break;
    EXPECT_LE(decision->epsilon_after, policy.max_epsilon);
    spent.push_back(EventsOf(plan)->front());
  }
  EXPECT_GE(runs, 2);  // honest use: more than one study fits
  EXPECT_LT(runs, 100);
  EXPECT_LE(EpsilonOf(spent, policy.delta), policy.max_epsilon);
  spent.push_back(EventsOf(plan)->front());
  EXPECT_GT(EpsilonOf(spent, policy.delta), policy.max_epsilon);  // what the refusal prevented
}

TEST(DpBudgetTest, RefusesInvalidPoliciesPlansAndEvents) {
  const StudyDpPlan plan = TrainingPlan(1.0, 10);
  EXPECT_FALSE(DecideDpBudget({0.0, 1e-5}, {}, plan).ok());
  EXPECT_FALSE(DecideDpBudget({INFINITY, 1e-5}, {}, plan).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 0.0}, {}, plan).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 1e-5}, {}, {0.0, 1.0, 1, 1}).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 1e-5}, {}, {0.1, 0.0, 1, 1}).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 1e-5}, {}, {0.1, 1.0, 0, 1}).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 1e-5}, {}, {0.1, 1.0, 1, 0}).ok());
  EXPECT_FALSE(DecideDpBudget({1.0, 1e-5}, {}, {0.1, 1.0, int64_t{1} << 30, 1 << 20}).ok());
  absl::Status bad_past = DecideDpBudget({1.0, 1e-5}, {{2.0, 1.0, 1}}, plan).status();
  EXPECT_THAT(bad_past.message(), HasSubstr("a past event"));
}

TEST(DpBudgetTest, PlanForStudyCountsEachModesSensitivity) {
  DpSpec spec;
  spec.noise_multiplier = 2.0;
  spec.mode = DpMode::kDpSgd;
  spec.sample_rate = 0.02;
  absl::StatusOr<StudyDpPlan> sgd = PlanForStudy(spec, 30, 50, 4, false);
  ASSERT_TRUE(sgd.ok()) << sgd.status();
  EXPECT_EQ(sgd->sample_rate, 0.02);
  EXPECT_EQ(sgd->noise_multiplier, 2.0);
  EXPECT_EQ(sgd->steps_per_round, 50);
  EXPECT_EQ(sgd->rounds, 30);

  spec.mode = DpMode::kSite;
  absl::StatusOr<StudyDpPlan> site = PlanForStudy(spec, 30, 50, 4, false);
  ASSERT_TRUE(site.ok());
  EXPECT_EQ(site->sample_rate, 1.0);
  EXPECT_EQ(site->noise_multiplier, 1.0);  // sensitivity 2C
  EXPECT_EQ(site->steps_per_round, 1);     // one noisy release a round, whatever the local steps

  spec.mode = DpMode::kDistributed;
  EXPECT_EQ(PlanForStudy(spec, 30, 50, 4, true)->noise_multiplier, 1.0);
  EXPECT_EQ(PlanForStudy(spec, 30, 50, 4, false)->noise_multiplier, 0.5);  // own share only

  EXPECT_FALSE(PlanForStudy(spec, 0, 50, 4, true).ok());
  EXPECT_FALSE(PlanForStudy(spec, 30, 0, 4, true).ok());
  EXPECT_FALSE(PlanForStudy(spec, 30, 50, 0, true).ok());
}

}  // namespace
}  // namespace scancov::privacy::dp
