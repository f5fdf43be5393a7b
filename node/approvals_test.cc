#include "node/approvals.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "node/approval_commands.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

v1::Task Task(const std::string& spec_json) {
  v1::Task t;
  t.set_study_id("cohort-1");
  t.set_study_kind("cohort_description");
  t.set_kind(v1::TASK_KIND_ANALYZE);
  t.set_spec_json(spec_json);
  return t;
}

TaskDeclaration Reads(std::vector<std::string> variables, std::string outcome) {
  TaskDeclaration d;
  d.variables = std::move(variables);
  d.outcome = std::move(outcome);
  return d;
}

ApprovalRule TabularRule() {
  ApprovalRule r;
  r.name = "tabular";
  r.kinds = {"cohort_description", "univariate_association"};
  r.variables = {"age", "sex", "spo2"};
  r.outcomes = {"severe"};
  r.min_cohort = 50;
  return r;
}

class ApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*NodeStore::InMemory());
    book_ = std::make_unique<ApprovalBook>(store_.get());
  }
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<ApprovalBook> book_;
};

TEST_F(ApprovalsTest, ARequestIsItsExactSpecAndAChangedSpecIsANewRequest) {
  const StudyRequest a = RequestOf(Task(R"({"variables": ["age"]})"));
  const StudyRequest b = RequestOf(Task(R"({"variables": ["age", "sex"]})"));
  EXPECT_EQ(a.sha256.size(), 64u);
  EXPECT_NE(a.sha256, b.sha256);
  EXPECT_EQ(a.sha256, RequestOf(Task(R"({"variables": ["age"]})")).sha256);
  v1::Task held = Task(R"({"variables": ["age"]})");
  held.set_held_out_site(true);
  EXPECT_NE(RequestOf(held).sha256, a.sha256);
}

TEST_F(ApprovalsTest, RulesApproveOnlyWhatTheyCover) {
  const ApprovalRule rule = TabularRule();
  std::string why;
  EXPECT_TRUE(RuleCovers(rule, "cohort_description", Reads({"age", "sex"}, "severe")));
  EXPECT_FALSE(RuleCovers(rule, "logistic_regression", Reads({"age"}, "severe"), &why));
  EXPECT_THAT(why, HasSubstr("kind"));
  EXPECT_FALSE(RuleCovers(rule, "cohort_description", Reads({"age", "hiv"}, "severe"), &why));
  EXPECT_THAT(why, HasSubstr("variable hiv"));
  EXPECT_FALSE(RuleCovers(rule, "cohort_description", Reads({"age"}, "death"), &why));
  TaskDeclaration weights = Reads({"age"}, "severe");
  weights.releases_weights = true;
  EXPECT_FALSE(RuleCovers(rule, "cohort_description", weights, &why));
  EXPECT_THAT(why, HasSubstr("weights"));
}

TEST_F(ApprovalsTest, UncoveredRequestsWaitForTheStewardWhoseDecisionIsKept) {
  const StudyRequest covered = RequestOf(Task(R"({"variables": ["age"]})"));
  auto by_rule = book_->Decide(covered, Reads({"age"}, "severe"), {TabularRule()}, "s", 100);
  ASSERT_TRUE(by_rule.ok()) << by_rule.status();
  EXPECT_EQ(by_rule->decision, Decision::kApproved);
  EXPECT_EQ(by_rule->decided_by, "rule:tabular");
  EXPECT_EQ(by_rule->min_cohort, 50);

  v1::Task other = Task(R"({"variables": ["hiv"]})");
  other.set_study_id("cohort-2");
  const StudyRequest uncovered = RequestOf(other);
  auto pending =
      book_->Decide(uncovered, Reads({"hiv"}, "severe"), {TabularRule()}, "reads hiv", 101);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->decision, Decision::kPending);
  EXPECT_EQ(book_->Unreported()->size(), 2u);  // both go to the aggregator
  ASSERT_TRUE(book_->MarkReported("cohort-2", uncovered.sha256).ok());

  std::ostringstream listed;
  ASSERT_TRUE(PrintRequests(*book_, /*only_pending=*/true, /*json=*/false, listed).ok());
  EXPECT_THAT(listed.str(), HasSubstr("cohort-2  pending"));
  EXPECT_THAT(listed.str(), HasSubstr("reads hiv"));
  EXPECT_THAT(listed.str(), HasSubstr(uncovered.sha256));
  EXPECT_EQ(listed.str().find("cohort-1"), std::string::npos);

  std::ostringstream said;
  ASSERT_TRUE(
      DecideRequest(*book_, "cohort-2", "", false, "not in our ethics approval", 102, said).ok());
  auto again = book_->Decide(uncovered, Reads({"hiv"}, "severe"), {TabularRule()}, "", 103);
  EXPECT_EQ(again->decision, Decision::kDenied);
  EXPECT_EQ(again->reason, "not in our ethics approval");
  EXPECT_FALSE(again->reported);  // the denial still has to reach the aggregator
  EXPECT_EQ(book_->Approve("cohort-2", "", 104).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ApprovalsTest, SeveralPendingVersionsNeedTheHash) {
  const StudyRequest v1 = RequestOf(Task(R"({"variables": ["hiv"]})"));
  const StudyRequest v2 = RequestOf(Task(R"({"variables": ["hiv", "age"]})"));
  ASSERT_TRUE(book_->Decide(v1, Reads({"hiv"}, "severe"), {}, "", 1).ok());
  ASSERT_TRUE(book_->Decide(v2, Reads({"hiv", "age"}, "severe"), {}, "", 2).ok());
  EXPECT_EQ(book_->Approve("cohort-1", "", 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto approved = book_->Approve("cohort-1", v2.sha256, 3);
  ASSERT_TRUE(approved.ok());
  EXPECT_EQ(approved->spec_sha256, v2.sha256);
  EXPECT_EQ(book_->List(Decision::kPending)->size(), 1u);  // v1 still waits
}

}  // namespace
}  // namespace scancov::node
