// scancov-pki's commands with the time given: what show and verify say of a certificate before,
// during and after its validity (the CLI itself is tested in pki_cli_test.cc).
#include "sites/pki/pki_commands.h"

#include <sstream>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/pki_test_util.h"

namespace scancov::sites {
namespace {

using ::testing::HasSubstr;

TEST(PkiCommandsTest, ShowAndVerifyJudgeValidityAtTheGivenTime) {
  testing::ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/pki";
  std::ostringstream out;
  ASSERT_TRUE(PkiInit({dir, "Test Consortium", 3650, false}, out).ok()) << out.str();
  PkiIssueOptions issue;
  issue.dir = dir;
  issue.role = "site";
  issue.id = "kb";
  issue.days = 30;
  ASSERT_TRUE(PkiIssue(issue, out).ok()) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("(give to kb only)"));
  const std::string cert = dir + "/sites/kb.crt";
  const absl::Time now = absl::Now();
  for (const auto& [when, state] :
       {std::pair{now - absl::Hours(24 * 2), "NOT YET VALID"}, std::pair{now, "valid now"},
        std::pair{now + absl::Hours(24 * 40), "EXPIRED"}}) {
    std::ostringstream shown;
    ASSERT_TRUE(PkiShow(cert, when, shown).ok());
    EXPECT_THAT(shown.str(), HasSubstr("\nstatus:      " + std::string(state) + "\n"));
    EXPECT_THAT(shown.str(), HasSubstr("\nid:          kb\n"));
  }
  std::ostringstream verified;
  ASSERT_TRUE(PkiVerify(dir, cert, now, verified).ok());
  EXPECT_EQ(verified.str(), cert + ": OK site:kb\n");
  const absl::Status late = PkiVerify(dir, cert, now + absl::Hours(24 * 40), verified);
  EXPECT_FALSE(late.ok());
  EXPECT_THAT(std::string(late.message()), HasSubstr(cert));
  EXPECT_FALSE(PkiShow(dir + "/absent.crt", now, verified).ok());
}

}  // namespace
}  // namespace scancov::sites
