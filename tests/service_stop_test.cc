// systemd stops a service with SIGTERM, then SIGKILL once TimeoutStopSec (90 s for the node,
// 60 s for the aggregator: cmake/systemd) has passed, and marks it failed unless it exits 0.
// Here the real scancov-node and scancov-aggregator (tests/process_consortium.h) get SIGTERM and
// must exit 0 on their own, their SQLite stores intact, and start again on them.
#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/process_consortium.h"
#include "tests/process_harness.h"

namespace scancov::testing_process {
namespace {

// Within systemd's default stop timeout (90 s), so that a pass means no SIGKILL was needed.
constexpr absl::Duration kStopGrace = absl::Seconds(60);

std::string IntegrityCheck(const std::string& db_path) {
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    return db.execAndGet("PRAGMA integrity_check").getString();
  } catch (const std::exception& e) {
    return absl::StrCat(db_path, ": ", e.what());
  }
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ServiceStopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_.Build(::testing::TempDir() + "/stop-template", {{"kb", 120, 1}});
  }
  static void TearDownTestSuite() { suite_.Release(); }
  void SetUp() override {
    auto copy = suite_.Copy(absl::StrCat(::testing::TempDir(), "/stop-", ++copies_));
    ASSERT_TRUE(copy.ok()) << copy.status();
    f_ = std::move(*copy);
    absl::StatusOr<int> port = FreeLoopbackPort();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  std::string NodeLog() const { return ReadWholeFile(f_->LogPath("node-kb")); }
  bool NodeLogHas(const std::string& what, int times = 1) const {
    return Count(NodeLog(), what) >= times;
  }
  // SIGTERM; the exit code, and how long the stop took on stdout.
  int Terminate(ChildProcess* child) {
    const absl::Time start = absl::Now();
    absl::StatusOr<int> code = child->Stop(kStopGrace);
    std::cout << "[ stop     ] " << child->name() << ": exit "
              << (code.ok() ? absl::StrCat(*code) : code.status().ToString()) << " after "
              << absl::FormatDuration(absl::Now() - start) << "\n";
    return code.ok() ? *code : -1;
  }

  static ConsortiumTemplate suite_;
  static int copies_;
  std::unique_ptr<ProcessConsortium> f_;
  int port_ = 0;
};
ConsortiumTemplate ServiceStopTest::suite_;
int ServiceStopTest::copies_ = 0;

TEST_F(ServiceStopTest, NodeAndAggregatorExitZeroOnSigtermAndRestartOnTheirStores) {
  ASSERT_TRUE(f_->StartAggregator(port_).ok()) << f_->LogTails();
  ASSERT_TRUE(f_->EnrollAll().ok()) << f_->LogTails();
  ASSERT_TRUE(f_->StartNode("kb", port_).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return NodeLogHas("registered with the aggregator"); }, absl::Seconds(60)))
      << f_->LogTails();
  absl::SleepFor(absl::Seconds(1));  // in its long-poll for a task

  EXPECT_EQ(Terminate(f_->node("kb")), 0) << f_->LogTails();
  EXPECT_TRUE(NodeLogHas("signal 15: stopped")) << NodeLog();
  EXPECT_EQ(Terminate(f_->aggregator()), 0) << f_->LogTails();
  EXPECT_TRUE(absl::StrContains(ReadWholeFile(f_->LogPath("aggregator")), "shutting down"));

  EXPECT_EQ(IntegrityCheck(f_->dir() + "/sites/kb/state/node.db"), "ok");
  EXPECT_EQ(IntegrityCheck(f_->dir() + "/aggregator/aggregator.db"), "ok");

  // Started again on the same stores (systemctl start): the enrolment held, the node registers.
  ASSERT_TRUE(f_->StartAggregator(port_).ok()) << f_->LogTails();
  ASSERT_TRUE(f_->StartNode("kb", port_).ok());
  EXPECT_TRUE(
      WaitUntil([&] { return NodeLogHas("registered with the aggregator", 2); }, absl::Seconds(60)))
      << f_->LogTails();
  f_->StopAll();
}

// The aggregator down (a restart, a network outage): the node is in its backoff between
// attempts to register. SIGTERM ends it, and it is a clean stop, not a failure that
// Restart=on-failure would act on.
TEST_F(ServiceStopTest, NodeStopsCleanlyWhileTheAggregatorIsUnreachable) {
  ASSERT_TRUE(f_->StartNode("kb", port_).ok());  // nothing listens on port_
  ASSERT_TRUE(WaitUntil([&] { return NodeLogHas("aggregator unreachable", 3); }, absl::Seconds(60)))
      << NodeLog();
  // Exit 0 (it was 1, "cancelled": systemd would have marked the unit failed). The backoff
  // itself is cut short (Retrier::SleepUnlessCancelled, node/retry_test.cc).
  EXPECT_EQ(Terminate(f_->node("kb")), 0) << NodeLog();
  EXPECT_EQ(IntegrityCheck(f_->dir() + "/sites/kb/state/node.db"), "ok");
}

}  // namespace
}  // namespace scancov::testing_process
