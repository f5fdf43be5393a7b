#include "protocol/failure_code.h"

#include <gtest/gtest.h>

namespace scancov::protocol {
namespace {

TEST(FailureCode, AttachedCodeAndNumbersAreTheWholeReport) {
  const absl::Status s = WithFailureCode(
      absl::FailedPreconditionError("site data: 3 patients with a known 'severe' (patient X)"),
      FailureCode::kBelowMinimumCount, {{"min", 10}});
  EXPECT_EQ(FailureReportOf(s), "below_minimum_count min=10");
  EXPECT_EQ(FailureCodeOf(s), FailureCode::kBelowMinimumCount);
  // The message stays for the local log; it is not part of the report.
  EXPECT_NE(s.message().find("patient X"), absl::string_view::npos);
}

TEST(FailureCode, AStatusWithoutACodeMapsFromItsAbslCodeAndDropsItsText) {
  EXPECT_EQ(FailureReportOf(absl::InvalidArgumentError("spec: crp=312 is odd")), "invalid_spec");
  EXPECT_EQ(FailureReportOf(absl::FailedPreconditionError("no CT")), "precondition");
  EXPECT_EQ(FailureReportOf(absl::UnimplementedError("x")), "kind_not_run");
  EXPECT_EQ(FailureReportOf(absl::InternalError("what() of a library")), "task_error");
}

TEST(FailureCode, NumberNamesThatAreNotIdentifiersAreDropped) {
  const absl::Status s =
      WithFailureCode(absl::PermissionDeniedError("x"), FailureCode::kStudyBudget,
                      {{"budget", 20}, {"Patient Name", 1}, {"a=b", 2}});
  EXPECT_EQ(FailureReportOf(s), "study_budget budget=20");
}

TEST(FailureCode, OnlyReportsOfTheVocabularyParse) {
  EXPECT_TRUE(IsFailureReport("cohort_difference min=10"));
  EXPECT_TRUE(IsFailureReport("not_approved"));
  EXPECT_TRUE(IsFailureReport("dp_budget_exceeded max_epsilon_milli=1500"));
  EXPECT_TRUE(IsFailureReport("dp_required"));
  EXPECT_FALSE(IsFailureReport("INVALID_ARGUMENT: spec: variable 'crp' is odd"));
  EXPECT_FALSE(IsFailureReport("cohort_difference min=ten"));
  EXPECT_FALSE(IsFailureReport("cohort_difference min=10 patient"));
  EXPECT_FALSE(IsFailureReport("nonsense"));
  EXPECT_FALSE(IsFailureReport(""));
  for (FailureCode c :
       {FailureCode::kNotApproved, FailureCode::kTaskError, FailureCode::kOuterProductTooFew}) {
    EXPECT_EQ(ParseFailureCode(FailureCodeName(c)), c);
  }
}

}  // namespace
}  // namespace scancov::protocol
