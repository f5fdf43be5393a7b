// `cmake --install` of this build tree into a temporary prefix (cmake/ScancovInstall.cmake):
// the files and their modes, the programs running from the prefix with nothing of the build
// tree in their library paths, and the systemd units: their ExecStart in the prefix, the
// hardening that matters, and `systemd-analyze verify` (skipped where it is not installed).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process_harness.h"

namespace scancov {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const char* const kPrograms[] = {"scancov-node", "scancov-aggregator", "scancov-coord",
                                 "scancov-pki", "scancov-score"};
constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout, then stderr
};

// Runs argv to completion (60 s at most), its output kept in the test's temp dir.
Ran RunProgram(const std::vector<std::string>& argv) {
  static int n = 0;
  const std::string base = absl::StrCat(::testing::TempDir(), "/install-cmd-", ++n);
  absl::StatusOr<testing_process::CommandResult> r = testing_process::RunCommand(
      fs::path(argv[0]).filename().string(), argv, base + ".err", base + ".out", absl::Seconds(60));
  if (!r.ok()) return {-1, std::string(r.status().message())};
  return {r->exit_code, r->out + r->log};
}

// A unit file as key -> values, in order ("Key=" gives an empty value); continuation lines
// joined.
std::multimap<std::string, std::string> ParseUnit(const std::string& path) {
  std::ifstream in(path);
  std::multimap<std::string, std::string> keys;
  std::string line, logical;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1);
      continue;
    }
    logical += line;
    const std::string entry(absl::StripAsciiWhitespace(logical));
    logical.clear();
    if (entry.empty() || entry[0] == '#' || entry[0] == '[') continue;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    keys.emplace(std::string(absl::StripAsciiWhitespace(entry.substr(0, eq))),
                 std::string(absl::StripAsciiWhitespace(entry.substr(eq + 1))));
  }
  return keys;
}

std::vector<std::string> Values(const std::multimap<std::string, std::string>& unit,
                                const std::string& key) {
  std::vector<std::string> values;
  for (auto [it, end] = unit.equal_range(key); it != end; ++it) values.push_back(it->second);
  return values;
}

class InstallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new std::string(::testing::TempDir() + "/install-prefix");
    fs::remove_all(*prefix_);
    install_ = new Ran(
        RunProgram({SCANCOV_CMAKE_COMMAND, "--install", SCANCOV_BUILD_DIR, "--prefix", *prefix_}));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*prefix_);
    delete prefix_;
    delete install_;
  }
  void SetUp() override { ASSERT_EQ(install_->exit_code, 0) << install_->output; }

  static std::string P(const std::string& rel) { return *prefix_ + "/" + rel; }
  static std::string Unit(const std::string& name) { return P("lib/systemd/system/" + name); }

  static std::string* prefix_;
  static Ran* install_;
};
std::string* InstallTest::prefix_ = nullptr;
Ran* InstallTest::install_ = nullptr;

TEST_F(InstallTest, InstallsTheProgramsDocsTemplatesAndUnits) {
  for (const char* program : kPrograms) {
    EXPECT_EQ(Mode(P(absl::StrCat("bin/", program))), 0755) << program;
  }
  for (const char* doc : {"README.md", "CHANGELOG.md", "LICENSE", "install.md", "privacy.md",
                          "protocol.md", "aggregator.env.example"}) {
    EXPECT_EQ(Mode(P(absl::StrCat("share/doc/scancov/", doc))), 0644) << doc;
  }
  int templates = 0;
  for (const auto& entry : fs::directory_iterator(SCANCOV_SOURCE_DIR "/docs/templates")) {
    if (entry.path().extension() != ".json") continue;
    ++templates;
    EXPECT_EQ(Mode(P("share/scancov/templates/" + entry.path().filename().string())), 0644)
        << entry.path();
  }
  EXPECT_GT(templates, 0);
  EXPECT_EQ(Mode(Unit("scancov-node.service")), 0644);
  EXPECT_EQ(Mode(Unit("scancov-aggregator.service")), 0644);
  EXPECT_EQ(Mode(P("lib/sysusers.d/scancov.conf")), 0644);
}

TEST_F(InstallTest, InstallsNoTestBenchFuzzerOrSyntheticDataTool) {
  for (const auto& entry : fs::recursive_directory_iterator(*prefix_)) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(absl::StrContains(name, "_test") || absl::StartsWith(name, "bench_") ||
                 absl::StartsWith(name, "fuzz_") || absl::StartsWith(name, "scancov-synth-"))
        << entry.path();
    EXPECT_NE(entry.path().extension(), ".a") << entry.path();
  }
}

// The programs need nothing from the build or source tree: no RPATH/RUNPATH into it, every
// shared library resolved from the system; and they run from the prefix.
TEST_F(InstallTest, ProgramsRunFromThePrefixWithSystemLibrariesOnly) {
  for (const char* program : kPrograms) {
    const std::string path = P(absl::StrCat("bin/", program));
    const Ran version = RunProgram({path, "--version"});
    EXPECT_EQ(version.exit_code, 0) << program << ": " << version.output;
    EXPECT_THAT(version.output, HasSubstr(program));
    const Ran ldd = RunProgram({"/usr/bin/ldd", path});
    EXPECT_EQ(ldd.exit_code, 0) << ldd.output;
    EXPECT_THAT(ldd.output, Not(HasSubstr("not found"))) << program;
    EXPECT_THAT(ldd.output, Not(HasSubstr(SCANCOV_BUILD_DIR))) << program;
    EXPECT_THAT(ldd.output, Not(HasSubstr(SCANCOV_SOURCE_DIR))) << program;
    if (access("/usr/bin/readelf", X_OK) == 0) {
      const Ran dynamic = RunProgram({"/usr/bin/readelf", "-d", path});
      EXPECT_THAT(dynamic.output, Not(HasSubstr("RPATH"))) << program;
      EXPECT_THAT(dynamic.output, Not(HasSubstr("RUNPATH"))) << program;
    }
  }
}

// What a hospital's security team reads in the units, and the ExecStart of the prefix.
TEST_F(InstallTest, UnitsRunTheInstalledProgramsHardened) {
  for (const char* name : {"scancov-node", "scancov-aggregator"}) {
    SCOPED_TRACE(name);
    const auto unit = ParseUnit(Unit(absl::StrCat(name, ".service")));
    const std::vector<std::string> exec = Values(unit, "ExecStart");
    ASSERT_EQ(exec.size(), 1u);
    const std::string binary = std::vector<std::string>(absl::StrSplit(exec[0], ' '))[0];
    EXPECT_EQ(binary, P(absl::StrCat("bin/", name)));
    EXPECT_EQ(access(binary.c_str(), X_OK), 0) << binary;
    const std::map<std::string, std::string> required = {
        {"User", "scancov"},
        {"Group", "scancov"},
        {"StateDirectory", "scancov"},
        {"ConfigurationDirectory", "scancov"},
        {"ReadWritePaths", "/var/lib/scancov"},
        {"NoNewPrivileges", "yes"},
        {"ProtectSystem", "strict"},
        {"ProtectHome", "yes"},
        {"PrivateTmp", "yes"},
        {"PrivateDevices", "yes"},
        {"CapabilityBoundingSet", ""},
        {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
        {"Restart", "on-failure"},
        {"SocketBindDeny", "any"}};
    for (const auto& [key, value] : required) {
      EXPECT_THAT(Values(unit, key), ::testing::ElementsAre(value)) << key;
    }
    EXPECT_EQ(Values(unit, "RestartSec").size(), 1u);
    EXPECT_EQ(Values(unit, "TimeoutStopSec").size(), 1u);
  }
  const auto node = ParseUnit(Unit("scancov-node.service"));
  EXPECT_THAT(Values(node, "ExecStart")[0], HasSubstr(" --config /etc/scancov/site.json run"));
  EXPECT_TRUE(Values(node, "SocketBindAllow").empty());  // the node dials out only
  const auto aggregator = ParseUnit(Unit("scancov-aggregator.service"));
  EXPECT_THAT(Values(aggregator, "MemoryDenyWriteExecute"), ::testing::ElementsAre("yes"));
  EXPECT_THAT(Values(aggregator, "EnvironmentFile"),
              ::testing::ElementsAre("/etc/scancov/aggregator.env"));
}

// systemd's own reading of the units: no unknown key, no bad value, the programs executable.
// A misspelt key in a copy shows the check is not silent.
TEST_F(InstallTest, SystemdAnalyzeVerifiesTheUnits) {
  if (access(kSystemdAnalyze, X_OK) != 0) {
    GTEST_SKIP() << kSystemdAnalyze << " is not installed (Debian package systemd)";
  }
  for (const char* name : {"scancov-node.service", "scancov-aggregator.service"}) {
    const Ran verify = RunProgram({kSystemdAnalyze, "verify", Unit(name)});
    EXPECT_EQ(verify.exit_code, 0) << name << ": " << verify.output;
    EXPECT_EQ(verify.output, "") << name;
    // The exposure systemd itself scores (0 best, 10 worst; "OK" below 4 or so).
    const Ran security = RunProgram({kSystemdAnalyze, "security", "--offline=yes", Unit(name)});
    std::smatch level;
    ASSERT_TRUE(std::regex_search(security.output, level,
                                  std::regex("Overall exposure level for [^:]+: ([0-9.]+)")))
        << security.output;
    std::cout << "[ security ] " << name << ": exposure " << level[1] << "\n";
    EXPECT_LE(std::stod(level[1]), 2.5) << security.output;
  }
  const std::string broken = ::testing::TempDir() + "/scancov-broken.service";
  {
    std::ifstream in(Unit("scancov-node.service"));
    std::stringstream text;
    text << in.rdbuf();
    std::ofstream(broken) << std::regex_replace(text.str(), std::regex("NoNewPrivileges="),
                                                "NoNewPrivilege=");
  }
  const Ran verify = RunProgram({kSystemdAnalyze, "verify", broken});
  EXPECT_THAT(verify.output, HasSubstr("NoNewPrivilege"));
}

}  // namespace
}  // namespace scancov
