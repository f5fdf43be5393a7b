// Every executable the project installs answers --version with the project's version, ends its
// --help with the shared exit codes, and exits 2 on a bad command line (core/cli.h); the
// changelog's newest entry is the version they print.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/version.h"
#include "protocol/scancov.pb.h"
#include "tests/process_harness.h"

namespace scancov {
namespace {

using ::testing::HasSubstr;
using testing_process::CommandResult;
using testing_process::RunCommand;

struct Executable {
  const char* name;
  const char* path;
};

const Executable kExecutables[] = {
    {"scancov-node", SCANCOV_NODE_BIN},
    {"scancov-aggregator", SCANCOV_AGGREGATOR_BIN},
    {"scancov-coord", SCANCOV_COORD_BIN},
    {"scancov-score", SCANCOV_SCORE_BIN},
    {"scancov-pki", SCANCOV_PKI_BIN},
    {"scancov-synth-site", SCANCOV_SYNTH_SITE_BIN},
    {"scancov-synth-cohort", SCANCOV_SYNTH_COHORT_BIN},
    {"scancov-synth-ct", SCANCOV_SYNTH_CT_BIN},
};

CommandResult RunWith(const Executable& e, const std::string& arg) {
  const std::string dir = ::testing::TempDir();
  absl::StatusOr<CommandResult> r = RunCommand(e.name, {e.path, arg}, dir + "/" + e.name + ".log",
                                               dir + "/" + e.name + ".out", absl::Seconds(60));
  EXPECT_TRUE(r.ok()) << e.name << ": " << r.status();
  return r.ok() ? *r : CommandResult();
}

TEST(CliTest, EveryExecutablePrintsItsVersionTheExitCodesAndRefusesABadFlagWithTwo) {
  const std::string wire = std::to_string(static_cast<int>(v1::ProtocolVersion_MAX));
  for (const Executable& e : kExecutables) {
    SCOPED_TRACE(e.name);
    const CommandResult version = RunWith(e, "--version");
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out,
              std::string(e.name) + " " + Version() + " (wire protocol " + wire + ")\n");
    const CommandResult help = RunWith(e, "--help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_THAT(help.out, HasSubstr("Exit codes (the same for every scancov command): 0 done; 1"));
    EXPECT_THAT(help.out, HasSubstr("--version"));
    const CommandResult bad = RunWith(e, "--no-such-flag");
    EXPECT_EQ(bad.exit_code, 2) << bad.log;
  }
}

// The coordinator's connection flags come from SCANCOV_* variables when not given: without
// them `--ca` is missing (2); with them the command goes on to read the files they name (1,
// naming the CA file), and a flag still wins over its variable.
TEST(CliTest, TheCoordinatorReadsItsConnectionFromTheEnvironment) {
  const std::string dir = ::testing::TempDir();
  auto coord = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"/usr/bin/env", "-u", "SCANCOV_CA", "-u", "SCANCOV_CERT", "-u",
                               "SCANCOV_KEY", "-u", "SCANCOV_AGGREGATOR"});
    absl::StatusOr<CommandResult> r = RunCommand("scancov-coord", argv, dir + "/coord-env.log",
                                                 dir + "/coord-env.out", absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult();
  };
  const CommandResult bare = coord({SCANCOV_COORD_BIN, "studies"});
  EXPECT_EQ(bare.exit_code, 2) << bare.log;
  EXPECT_THAT(bare.log, HasSubstr("--ca"));
  const std::string env_ca = "SCANCOV_CA=" + dir + "/from-env-ca.crt";
  const CommandResult env =
      coord({env_ca, "SCANCOV_CERT=" + dir + "/c.crt", "SCANCOV_KEY=" + dir + "/c.key",
             "SCANCOV_AGGREGATOR=127.0.0.1:1", SCANCOV_COORD_BIN, "studies"});
  EXPECT_EQ(env.exit_code, 1) << env.log;
  EXPECT_THAT(env.log, HasSubstr("from-env-ca.crt"));
  const CommandResult flag =
      coord({env_ca, "SCANCOV_CERT=" + dir + "/c.crt", "SCANCOV_KEY=" + dir + "/c.key",
             SCANCOV_COORD_BIN, "--ca", dir + "/from-flag-ca.crt", "studies"});
  EXPECT_EQ(flag.exit_code, 1) << flag.log;
  EXPECT_THAT(flag.log, HasSubstr("from-flag-ca.crt"));
}

TEST(CliTest, TheVersionIsTheChangelogsNewestEntry) {
  EXPECT_TRUE(std::regex_match(Version(), std::regex(R"(\d+\.\d+\.\d+)"))) << Version();
  std::ifstream in(SCANCOV_CHANGELOG);
  ASSERT_TRUE(in) << SCANCOV_CHANGELOG;
  std::string line;
  // "## Unreleased" collects what the next version will bring; the newest version follows it.
  while (std::getline(in, line) && (line.rfind("## ", 0) != 0 || line == "## Unreleased")) {
  }
  EXPECT_EQ(line.rfind(std::string("## ") + Version() + " ", 0), 0u)
      << "CHANGELOG.md's first entry is '" << line << "', the build says " << Version();
}

}  // namespace
}  // namespace scancov
