// `scancov-pki kit`: the files and their modes, what it refuses, and the whole path a site takes
// with the real programs (paths injected by CMake): kit at the site, sign at the CA, the
// certificate put in place, then `scancov-node check` on the kit's site file.
#include "sites/pki/site_kit.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/config/site_config.h"
#include "sites/pki/pki_commands.h"
#include "sites/pki/pki_test_util.h"

namespace scancov::sites {
namespace {

using ::scancov::sites::testing::CommandResult;
using ::scancov::sites::testing::FileMode;
using ::scancov::sites::testing::RunCommand;
using ::scancov::sites::testing::ScopedTempDir;
using ::scancov::sites::testing::ShellQuote;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Read(const std::string& path) { return ReadFileToString(path).value_or(""); }

class SiteKitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ostringstream ignored;
    ASSERT_TRUE(PkiInit({ca_dir_, "Test Consortium", 3650, false}, ignored).ok());
  }
  SiteKitOptions Options(const std::string& id = "kb") const {
    SiteKitOptions o;
    o.id = id;
    o.aggregator = "127.0.0.1:7443";
    o.ca = ca_dir_ + "/ca.crt";
    o.out = kit_;
    return o;
  }
  absl::Status Kit(const SiteKitOptions& options) {
    std::ostringstream out;
    return PkiKit(options, out);
  }
  CommandResult Pki(const std::string& args) {
    return RunCommand(absl::StrCat(ShellQuote(SCANCOV_PKI_BINARY), " ", args));
  }

  ScopedTempDir tmp_;
  const std::string ca_dir_ = tmp_.path() + "/ca";
  const std::string kit_ = tmp_.path() + "/kit";
};

TEST_F(SiteKitTest, WritesEveryFileWithItsMode) {
  ASSERT_TRUE(Kit(Options()).ok());
  EXPECT_EQ(FileMode(kit_ + "/state"), 0700);
  EXPECT_EQ(FileMode(kit_ + "/state/kb.key"), 0600);
  EXPECT_EQ(FileMode(kit_ + "/kb.csr"), 0644);
  EXPECT_EQ(FileMode(kit_ + "/pki/ca.crt"), 0644);
  EXPECT_EQ(FileMode(kit_ + "/site.json"), 0644);
  EXPECT_EQ(FileMode(kit_ + "/start-node.sh"), 0755);
  EXPECT_EQ(FileMode(kit_ + "/NEXT-STEPS.txt"), 0644);
  EXPECT_TRUE(std::filesystem::is_directory(kit_ + "/data"));
  EXPECT_EQ(Read(kit_ + "/pki/ca.crt"), Read(ca_dir_ + "/ca.crt"));
  EXPECT_THAT(Read(kit_ + "/state/kb.key"), HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_THAT(Read(kit_ + "/kb.csr"), HasSubstr("BEGIN CERTIFICATE REQUEST"));
  EXPECT_FALSE(std::filesystem::exists(kit_ + "/aggregator.env"));

  const std::string next = Read(kit_ + "/NEXT-STEPS.txt");
  EXPECT_THAT(next, HasSubstr("scancov-pki sign --dir CA_DIR --csr kb.csr --role site --id kb"));
  EXPECT_THAT(next, HasSubstr(kit_ + "/pki/kb.crt"));
  EXPECT_THAT(next, HasSubstr("check"));
  EXPECT_THAT(next, HasSubstr("systemctl enable --now scancov-node"));
  const std::string script = Read(kit_ + "/start-node.sh");
  EXPECT_THAT(script, HasSubstr("check"));
  EXPECT_THAT(script, HasSubstr("exec \"$node\" --config \"$config\" run"));
}

TEST_F(SiteKitTest, SiteFileIsOneTheNodeAccepts) {
  SiteKitOptions options = Options();
  options.aggregator_tls_name = "agg.example.org";
  ASSERT_TRUE(Kit(options).ok());
  absl::StatusOr<SiteConfig> config = LoadSiteConfig(kit_ + "/site.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->site_id, "kb");
  EXPECT_EQ(config->aggregator, "127.0.0.1:7443");
  EXPECT_EQ(config->aggregator_tls_name, "agg.example.org");
  EXPECT_EQ(config->ca_cert, kit_ + "/pki/ca.crt");
  EXPECT_EQ(config->cert, kit_ + "/pki/kb.crt");
  EXPECT_EQ(config->key, kit_ + "/state/kb.key");
  EXPECT_EQ(config->store, kit_ + "/state/node.db");
  EXPECT_EQ(config->secret, kit_ + "/state/site.secret");
  EXPECT_EQ(config->cache_dir, kit_ + "/state/cache");
  EXPECT_EQ(config->data_dir, kit_ + "/data");
  EXPECT_EQ(config->crl, kit_ + "/pki/crl.pem");  // revocation checked from the start
  EXPECT_TRUE(config->approval_rules.empty());
  const PrivacySettings defaults;
  EXPECT_EQ(config->privacy.min_cell_count, defaults.min_cell_count);
  EXPECT_EQ(config->privacy.max_studies_per_variables, defaults.max_studies_per_variables);
}

TEST_F(SiteKitTest, AServiceKitKeepsItsStateElsewhere) {
  SiteKitOptions options = Options();
  options.state_dir = tmp_.path() + "/var/lib/scancov";
  options.data_dir = tmp_.path() + "/srv/exports";
  ASSERT_TRUE(Kit(options).ok());
  EXPECT_EQ(FileMode(options.state_dir + "/kb.key"), 0600);
  EXPECT_FALSE(std::filesystem::exists(kit_ + "/state"));
  absl::StatusOr<SiteConfig> config = LoadSiteConfig(kit_ + "/site.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->key, options.state_dir + "/kb.key");
  EXPECT_EQ(config->store, options.state_dir + "/node.db");
  EXPECT_EQ(config->data_dir, options.data_dir);
}

TEST_F(SiteKitTest, NeverReplacesAKeyWithoutForce) {
  ASSERT_TRUE(Kit(Options()).ok());
  const std::string key = Read(kit_ + "/state/kb.key");
  const absl::Status again = Kit(Options());
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_THAT(std::string(again.message()), HasSubstr("--force"));
  EXPECT_EQ(Read(kit_ + "/state/kb.key"), key);

  // Any file of the kit protects it: a steward who moved the key away keeps the edited site file.
  std::filesystem::remove(kit_ + "/state/kb.key");
  EXPECT_EQ(Kit(Options()).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(kit_ + "/state/kb.key"));

  SiteKitOptions force = Options();
  force.force = true;
  ASSERT_TRUE(Kit(force).ok());
  EXPECT_THAT(Read(kit_ + "/state/kb.key"), HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_NE(Read(kit_ + "/state/kb.key"), key);
}

TEST_F(SiteKitTest, RefusesACertificateThatIsNotACa) {
  PkiIssueOptions issue;
  issue.dir = ca_dir_;
  issue.role = "site";
  issue.id = "other";
  std::ostringstream ignored;
  ASSERT_TRUE(PkiIssue(issue, ignored).ok());
  SiteKitOptions options = Options();
  options.ca = ca_dir_ + "/sites/other.crt";
  const absl::Status s = Kit(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a CA certificate"));
  EXPECT_FALSE(std::filesystem::exists(kit_));  // nothing written

  options.ca = ca_dir_ + "/ca.key";  // not a certificate at all
  EXPECT_FALSE(Kit(options).ok());
  EXPECT_FALSE(std::filesystem::exists(kit_));
}

TEST_F(SiteKitTest, RefusesBadIdsRolesAndAddresses) {
  for (const char* id : {"KB", "", "kb/../x", "-kb"}) {
    EXPECT_EQ(Kit(Options(id)).code(), absl::StatusCode::kInvalidArgument) << id;
  }
  for (const char* address : {"agg.example.org", "agg:0", "agg:70000", ":7443", "agg:http"}) {
    SiteKitOptions options = Options();
    options.aggregator = address;
    EXPECT_EQ(Kit(options).code(), absl::StatusCode::kInvalidArgument) << address;
  }
  SiteKitOptions coordinator = Options();
  coordinator.role = "coordinator";
  EXPECT_EQ(Kit(coordinator).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(kit_));
}

// The aggregator's kit: its request names the host the nodes dial, and the env file is what
// scancov-aggregator.service reads.
TEST_F(SiteKitTest, AggregatorKitSignsForItsHost) {
  SiteKitOptions options = Options("aggregator");
  options.role = "aggregator";
  options.aggregator = "agg.example.org:7443";
  ASSERT_TRUE(Kit(options).ok());
  EXPECT_EQ(FileMode(kit_ + "/state/aggregator.key"), 0600);
  EXPECT_FALSE(std::filesystem::exists(kit_ + "/site.json"));
  const std::string env = Read(kit_ + "/aggregator.env");
  EXPECT_THAT(env, HasSubstr("SCANCOV_LISTEN=0.0.0.0:7443\n"));
  EXPECT_THAT(env, HasSubstr("SCANCOV_CERT=" + kit_ + "/pki/aggregator.crt\n"));
  EXPECT_THAT(env, HasSubstr("SCANCOV_KEY=" + kit_ + "/state/aggregator.key\n"));
  EXPECT_THAT(env, HasSubstr("SCANCOV_AGGREGATOR_OPTS=\"--crl " + kit_ + "/pki/crl.pem\"\n"));

  CommandResult r =
      Pki("sign --dir " + ShellQuote(ca_dir_) + " --csr " + ShellQuote(kit_ + "/aggregator.csr") +
          " --role aggregator --id aggregator");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Pki("show " + ShellQuote(ca_dir_ + "/aggregators/aggregator.crt"));
  EXPECT_THAT(r.output, HasSubstr("agg.example.org"));
}

// The CLI end to end, as a site and its CA would run it; the node's preflight judges the result.
class SiteKitCliTest : public SiteKitTest {
 protected:
  // scancov-node check --json on the kit: check name -> status.
  std::map<std::string, std::string> Check() {
    const CommandResult r = RunCommand(absl::StrCat(ShellQuote(SCANCOV_NODE_BINARY), " --config ",
                                                    ShellQuote(kit_ + "/site.json"),
                                                    " check --json --timeout 2 2>/dev/null"));
    std::map<std::string, std::string> statuses;
    const nlohmann::json lines = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_TRUE(lines.is_array()) << r.output;
    if (!lines.is_array()) return statuses;
    for (const auto& line : lines) statuses[line.value("check", "")] = line.value("status", "");
    return statuses;
  }
};

TEST_F(SiteKitCliTest, SignedKitPassesTheNodesChecks) {
  // No aggregator listens on this port: the aggregator check fails, the site's own ones must not.
  CommandResult r = Pki("kit --id kb --aggregator 127.0.0.1:9 --ca " +
                        ShellQuote(ca_dir_ + "/ca.crt") + " --out " + ShellQuote(kit_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("never send it"));
  EXPECT_EQ(FileMode(kit_ + "/state/kb.key"), 0600);

  // Before the certificate is there, the chain cannot be checked.
  std::map<std::string, std::string> before = Check();
  EXPECT_EQ(before["site-file"], "ok");
  EXPECT_NE(before["certificate-chain"], "ok");

  r = Pki("sign --dir " + ShellQuote(ca_dir_) + " --csr " + ShellQuote(kit_ + "/kb.csr") +
          " --role site --id kb");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::filesystem::copy_file(ca_dir_ + "/sites/kb.crt", kit_ + "/pki/kb.crt");
  r = Pki("crl --dir " + ShellQuote(ca_dir_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::filesystem::copy_file(ca_dir_ + "/crl.pem", kit_ + "/pki/crl.pem");
  ASSERT_TRUE(LoadSiteConfig(kit_ + "/site.json").ok());

  std::map<std::string, std::string> after = Check();
  for (const char* check :
       {"site-file", "certificate-chain", "key-match", "certificate-name", "key-permissions"}) {
    EXPECT_EQ(after[check], "ok") << check;
  }
  EXPECT_EQ(after["aggregator"], "fail");

  // A key others can read is caught by the same check.
  std::filesystem::permissions(kit_ + "/state/kb.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_EQ(Check()["key-permissions"], "fail");
  std::filesystem::permissions(kit_ + "/state/kb.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::remove);

  // The start script runs the same checks and does not start a node that FAILs one.
  r = RunCommand(absl::StrCat("SCANCOV_NODE=", ShellQuote(SCANCOV_NODE_BINARY), " ",
                              ShellQuote(kit_ + "/start-node.sh")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the node is not started"));
  EXPECT_THAT(r.output, Not(HasSubstr("dialing")));
}

TEST_F(SiteKitCliTest, KitHasHelpAndRefusesOverwriting) {
  CommandResult r = Pki("kit --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--aggregator-tls-name"));
  const std::string args = "kit --id kb --aggregator 127.0.0.1:7443 --ca " +
                           ShellQuote(ca_dir_ + "/ca.crt") + " --out " + ShellQuote(kit_);
  ASSERT_EQ(Pki(args).exit_code, 0);
  r = Pki(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("exists"));
  EXPECT_EQ(Pki(args + " --force").exit_code, 0);
  EXPECT_EQ(Pki("kit --id kb --aggregator 127.0.0.1:7443 --ca /nonexistent --out x").exit_code,
            2);  // a usage error: the CA file does not exist
}

}  // namespace
}  // namespace scancov::sites
