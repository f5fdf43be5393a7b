#include "privacy/release_policy.h"

#include "gtest/gtest.h"

namespace scancov::privacy {
namespace {

TEST(ReleasePolicyTest, StudyCanTightenButNeverLoosen) {
  ReleasePolicy policy;
  policy.min_cell_count = 10;
  EXPECT_EQ(EffectiveMinCellCount(policy, 1), 10);
  EXPECT_EQ(EffectiveMinCellCount(policy, 25), 25);
}

TEST(ReleasePolicyTest, RefusesSmallCellsAndDisallowedVariables) {
  ReleasePolicy policy;
  EXPECT_TRUE(DecideRelease(policy, 10, "age", 10, 10, {}).allowed);
  ReleaseDecision few = DecideRelease(policy, 10, "age", 9, 300, {});
  EXPECT_FALSE(few.allowed);
  EXPECT_EQ(few.reason.find("9"), std::string::npos);  // the small count is not disclosed
  EXPECT_FALSE(DecideRelease(policy, 10, "age", 300, 9, {}).allowed);
  EXPECT_FALSE(DecideRelease(policy, 10, "cancer", 50, 50, {95, 5}).allowed);
  EXPECT_TRUE(DecideRelease(policy, 10, "cancer", 50, 50, {90, 10}).allowed);
  policy.allowed_variables = {"age"};
  EXPECT_TRUE(DecideRelease(policy, 10, "age", 50, 50, {}).allowed);
  ReleaseDecision other = DecideRelease(policy, 10, "ldh", 50, 50, {});
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.reason, "not in the site's allowed variables");
}

}  // namespace
}  // namespace scancov::privacy
