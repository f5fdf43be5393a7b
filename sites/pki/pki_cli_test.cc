// End-to-end tests of the scancov-pki executable (path injected by CMake as SCANCOV_PKI_BINARY).
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/pki_test_util.h"

namespace scancov::sites {
namespace {

using ::scancov::sites::testing::CommandResult;
using ::scancov::sites::testing::FileMode;
using ::scancov::sites::testing::RunCommand;
using ::scancov::sites::testing::ScopedTempDir;
using ::scancov::sites::testing::ShellQuote;
using ::testing::HasSubstr;

class PkiCliTest : public ::testing::Test {
 protected:
  CommandResult Pki(const std::string& args) {
    return RunCommand(absl::StrCat(ShellQuote(SCANCOV_PKI_BINARY), " ", args));
  }
  std::string Dir(const std::string& name = "pki") { return ShellQuote(tmp_.path() + "/" + name); }
  std::string File(const std::string& rel) { return ShellQuote(tmp_.path() + "/pki/" + rel); }

  ScopedTempDir tmp_;
};

TEST_F(PkiCliTest, EverySubcommandHasHelp) {
  for (const char* args : {"--help", "init --help", "issue --help", "show --help", "verify --help",
                           "request --help", "sign --help", "revoke --help", "crl --help"}) {
    const CommandResult r = Pki(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr("Usage")) << args;
  }
}

TEST_F(PkiCliTest, InitIssueShowVerify) {
  CommandResult r = Pki("init --dir " + Dir() + " --consortium 'Test Consortium'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(FileMode(tmp_.path() + "/pki/ca.key"), 0600);

  r = Pki("issue --dir " + Dir() + " --role site --id kb --days 30");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(FileMode(tmp_.path() + "/pki/sites/kb.key"), 0600);
  EXPECT_EQ(FileMode(tmp_.path() + "/pki/sites/kb.crt"), 0644);

  r = Pki("issue --dir " + Dir() +
          " --role aggregator --id aggregator --host agg.example.org --host 10.1.2.3");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  r = Pki("show " + File("aggregators/aggregator.crt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("role:        aggregator"));
  EXPECT_THAT(r.output, HasSubstr("id:          aggregator"));
  EXPECT_THAT(r.output, HasSubstr("localhost, agg.example.org, 127.0.0.1, 10.1.2.3"));
  EXPECT_THAT(r.output, HasSubstr("valid now"));
  EXPECT_THAT(r.output, HasSubstr("sha256:"));

  r = Pki("show " + File("ca.crt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("certificate authority"));

  r = Pki("verify --dir " + Dir() + " " + File("sites/kb.crt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("OK site:kb"));
}

TEST_F(PkiCliTest, RefusesOverwriteWithoutForce) {
  ASSERT_EQ(Pki("init --dir " + Dir() + " --consortium C").exit_code, 0);
  CommandResult r = Pki("init --dir " + Dir() + " --consortium C");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already exists"));
  ASSERT_EQ(Pki("issue --dir " + Dir() + " --role coordinator --id alice").exit_code, 0);
  r = Pki("issue --dir " + Dir() + " --role coordinator --id alice");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = Pki("issue --dir " + Dir() + " --role coordinator --id alice --force");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(PkiCliTest, RejectsBadInput) {
  ASSERT_EQ(Pki("init --dir " + Dir() + " --consortium C").exit_code, 0);
  EXPECT_NE(Pki("issue --dir " + Dir() + " --role admin --id x").exit_code, 0);
  const CommandResult r = Pki("issue --dir " + Dir() + " --role site --id ../x");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("id '../x'"));
  EXPECT_NE(Pki("issue --dir " + Dir() + " --role site --id kb --host x.org").exit_code, 0);
  EXPECT_NE(Pki("").exit_code, 0);
  EXPECT_EQ(Pki("show " + Dir() + "/missing.crt").exit_code, 1);
}

TEST_F(PkiCliTest, VerifyFailsForAnotherCa) {
  ASSERT_EQ(Pki("init --dir " + Dir() + " --consortium C").exit_code, 0);
  ASSERT_EQ(Pki("init --dir " + Dir("other") + " --consortium C").exit_code, 0);
  ASSERT_EQ(Pki("issue --dir " + Dir("other") + " --role site --id kb").exit_code, 0);
  const CommandResult r =
      Pki("verify --dir " + Dir() + " " + ShellQuote(tmp_.path() + "/other/sites/kb.crt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not issued by this CA"));
}

TEST_F(PkiCliTest, RequestAtTheSiteSignAtTheCaRevokeAndCrl) {
  ASSERT_EQ(Pki("init --dir " + Dir() + " --consortium C").exit_code, 0);
  const std::string key = ShellQuote(tmp_.path() + "/site/state/kb.key");
  const std::string csr = ShellQuote(tmp_.path() + "/site/kb.csr");
  CommandResult r = Pki("request --role site --id kb --key " + key + " --csr " + csr);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(FileMode(tmp_.path() + "/site/state/kb.key"), 0600);
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("PRIVATE KEY")));
  r = Pki("request --role site --id kb --key " + key + " --csr " + csr);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already exists"));

  // The CA decides the role: kb's request cannot become a coordinator certificate.
  r = Pki("sign --dir " + Dir() + " --csr " + csr + " --role coordinator --id kb");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("OU disagrees with the role"));
  r = Pki("sign --dir " + Dir() + " --csr " + csr + " --role site --id kb --days 30");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("EC P-256"));
  r = Pki("verify --dir " + Dir() + " " + File("sites/kb.crt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;

  r = Pki("revoke --dir " + Dir() + " --cert " + File("sites/kb.crt") + " --reason keyCompromise");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(
      Pki("revoke --dir " + Dir() + " --cert " + File("sites/kb.crt") + " --reason nope").exit_code,
      0);
  r = Pki("crl --dir " + Dir() + " --days 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CRL 1"));
  EXPECT_THAT(r.output, HasSubstr("revoked:     1"));
  r = Pki("verify --dir " + Dir() + " " + File("sites/kb.crt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is revoked (keyCompromise"));
}

}  // namespace
}  // namespace scancov::sites
