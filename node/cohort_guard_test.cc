#include "node/cohort_guard.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "node/store/node_store.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

std::vector<std::string> Keys(int from, int to) {  // patients "p<from>" .. "p<to - 1>"
  std::vector<std::string> keys;
  for (int i = from; i < to; ++i) keys.push_back("p" + std::to_string(i));
  return keys;
}

CohortRead Read(const std::string& study, const std::string& task,
                std::vector<std::vector<std::string>> cohorts,
                std::vector<std::string> variables = {"age", "crp"}) {
  CohortRead r;
  r.study_id = study;
  r.task_id = task;
  r.variables = std::move(variables);
  r.outcome = "severe";
  r.cohorts = std::move(cohorts);
  return r;
}

class CohortGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = NodeStore::InMemory();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    guard_ = std::make_unique<CohortGuard>(store_.get());
  }
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<CohortGuard> guard_;
  CohortLimits limits_;  // min 10
};

TEST(SymmetricDifferenceTest, CountsMembersInExactlyOneSet) {
  EXPECT_EQ(SymmetricDifference({}, {}), 0);
  EXPECT_EQ(SymmetricDifference({1, 2, 3}, {1, 2, 3}), 0);
  EXPECT_EQ(SymmetricDifference({1, 2, 3}, {1, 2}), 1);
  EXPECT_EQ(SymmetricDifference({1, 3, 5}, {2, 3, 4}), 4);
  EXPECT_EQ(SymmetricDifference({}, {7, 8}), 2);
}

// The differencing attack: a second study over the same patients but one. Refused, with a
// code and the site's minimum, and nothing recorded for it; the same cohort again is fine.
TEST_F(CohortGuardTest, ACohortOnePatientAwayFromAnotherStudysIsRefused) {
  ASSERT_TRUE(guard_->Admit(Read("s1", "t1", {Keys(0, 100)}), limits_).ok());
  const absl::Status refused = guard_->Admit(Read("s2", "t1", {Keys(0, 99)}), limits_);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(protocol::FailureReportOf(refused), "cohort_difference min=10");
  EXPECT_EQ(std::string(refused.message()).find("p99"), std::string::npos);
  // One patient added is the same attack.
  EXPECT_FALSE(guard_->Admit(Read("s3", "t1", {Keys(0, 101)}), limits_).ok());
  // Nine away: still refused; ten away and the identical cohort pass.
  EXPECT_FALSE(guard_->Admit(Read("s4", "t1", {Keys(9, 100)}), limits_).ok());
  EXPECT_TRUE(guard_->Admit(Read("s5", "t1", {Keys(10, 100)}), limits_).ok());
  EXPECT_TRUE(guard_->Admit(Read("s6", "t1", {Keys(0, 100)}), limits_).ok());
}

// Any of a read's sets counts: complete cases one patient short of another study's rows.
TEST_F(CohortGuardTest, CompleteCasesAreComparedToo) {
  ASSERT_TRUE(guard_->Admit(Read("s1", "t1", {Keys(0, 100)}, {"age"}), limits_).ok());
  const absl::Status refused =
      guard_->Admit(Read("s2", "t1", {Keys(0, 100), Keys(1, 100)}, {"age", "crp"}), limits_);
  EXPECT_EQ(protocol::FailureCodeOf(refused), protocol::FailureCode::kCohortDifference);
}

// Within one study the rounds read what the study reads; they are not compared to each other.
TEST_F(CohortGuardTest, OneStudysOwnReadsAreNotComparedWithEachOther) {
  ASSERT_TRUE(guard_->Admit(Read("s1", "t1", {Keys(0, 100)}), limits_).ok());
  EXPECT_TRUE(guard_->Admit(Read("s1", "t2", {Keys(0, 99)}), limits_).ok());
}

// A refused read leaves no trace, so it cannot poison later honest studies.
TEST_F(CohortGuardTest, ARefusedReadIsNotRecorded) {
  ASSERT_TRUE(guard_->Admit(Read("s1", "t1", {Keys(0, 100)}), limits_).ok());
  ASSERT_FALSE(guard_->Admit(Read("s2", "t1", {Keys(0, 91)}), limits_).ok());  // 9 from s1
  // 10 from s1, 1 from the refused s2: admitted, since s2 was never released.
  EXPECT_TRUE(guard_->Admit(Read("s3", "t1", {Keys(0, 90)}), limits_).ok());
  auto use = guard_->Use();
  ASSERT_TRUE(use.ok());
  ASSERT_EQ(use->size(), 1u);
  EXPECT_EQ(use->at(0).studies, 2);
}

TEST_F(CohortGuardTest, TheBudgetOfStudiesAndRoundsPerVariableSetIsKept) {
  limits_.max_studies = 2;
  limits_.max_rounds = 3;
  ASSERT_TRUE(guard_->Admit(Read("s1", "t1", {Keys(0, 100)}), limits_).ok());
  ASSERT_TRUE(guard_->Admit(Read("s2", "t1", {Keys(0, 100)}), limits_).ok());
  const absl::Status third = guard_->Admit(Read("s3", "t1", {Keys(0, 100)}), limits_);
  EXPECT_EQ(protocol::FailureReportOf(third), "study_budget studies=2");
  // Other variables have their own budget; the same variables in another order do not.
  EXPECT_TRUE(guard_->Admit(Read("s3", "t1", {Keys(0, 100)}, {"spo2"}), limits_).ok());
  EXPECT_FALSE(guard_->Admit(Read("s3", "t1", {Keys(0, 100)}, {"crp", "age"}), limits_).ok());
  // Rounds: a study already counted goes on until the rounds are spent.
  ASSERT_TRUE(guard_->Admit(Read("s2", "t2", {Keys(0, 100)}), limits_).ok());
  EXPECT_TRUE(guard_->Admit(Read("s2", "t2", {Keys(0, 100)}), limits_).ok());  // a retry
  EXPECT_EQ(protocol::FailureReportOf(guard_->Admit(Read("s2", "t3", {Keys(0, 100)}), limits_)),
            "study_budget rounds=3");
  auto use = guard_->Use();
  ASSERT_TRUE(use.ok());
  ASSERT_EQ(use->size(), 2u);
  EXPECT_EQ(use->at(0).variables, "age,crp");
  EXPECT_EQ(use->at(0).studies, 2);
  EXPECT_EQ(use->at(0).rounds, 3);
}

}  // namespace
}  // namespace scancov::node
