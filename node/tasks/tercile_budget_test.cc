#include "node/tasks/tercile_budget.h"

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

const std::vector<double> kBeta = {-1.5, 0.25, 0.75};
const std::vector<double> kGrid = {-1.0, 0.0, 1.0};

TEST(TercileBudgetTest, SameBetaBoundedRoundsAndRetriesOnlyWithTheSameCandidates) {
  TercileBudget budget;
  for (uint32_t r = 10; r < 10 + TercileBudget::kMaxRoundsPerStudy; ++r) {
    EXPECT_TRUE(budget.Admit("s", r, kBeta, {static_cast<double>(r)}).ok()) << r;
  }
  EXPECT_TRUE(budget.Admit("s", 10, kBeta, {10.0}).ok());  // a retried task
  EXPECT_EQ(budget.Admit("s", 10, kBeta, kGrid).code(), absl::StatusCode::kPermissionDenied);
  const uint32_t next = 10 + TercileBudget::kMaxRoundsPerStudy;
  EXPECT_EQ(budget.Admit("s", next, kBeta, kGrid).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(budget.Admit("other", next, kBeta, kGrid).ok());  // a budget per study
}

TEST(TercileBudgetTest, OtherCoefficientsAreRefused) {
  TercileBudget budget;
  ASSERT_TRUE(budget.Admit("s", 5, kBeta, kGrid).ok());
  const std::vector<double> probe = {0.0, 1.0, 0.0};  // beta = e_1: one variable's values
  absl::Status s = budget.Admit("s", 6, probe, kGrid);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("other coefficients"), std::string::npos) << s;
  EXPECT_TRUE(budget.Admit("s", 6, kBeta, kGrid).ok());
}

TEST(TercileBudgetTest, PersistentBudgetSurvivesReopening) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  {
    TercileBudget budget(store->get());
    for (uint32_t r = 0; r < TercileBudget::kMaxRoundsPerStudy; ++r) {
      ASSERT_TRUE(budget.Admit("s", r, kBeta, kGrid).ok());
    }
  }
  TercileBudget reopened(store->get());
  EXPECT_TRUE(reopened.Admit("s", 0, kBeta, kGrid).ok());
  EXPECT_EQ(reopened.Admit("s", 99, kBeta, kGrid).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(reopened.Admit("s", 0, {1.0, 0.0, 0.0}, kGrid).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace scancov::node
