// The coordinator's commands against a fake aggregator: what they print, what they wait for,
// and how they fail.
#include "aggregator/coordinator/coord_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "aggregator/coordinator/fake_coordinator_api.h"
#include "aggregator/coordinator/study_wait.h"
#include "core/file_util.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

v1::StudyStatus Training(const std::string& id, v1::StudyState state,
                         const std::string& message = "") {
  v1::StudyStatus st;
  st.set_study_id(id);
  st.set_state(state);
  st.set_message(message);
  st.set_current_round(2);
  st.mutable_spec()->set_name(id);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->set_rounds(2);
  return st;
}

TEST(WatchStudyTest, PrintsEachChangeOnceAndWritesTheReportAtTheEnd) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_DONE), /*running_polls=*/3);
  FakeClock clock;
  WatchOptions options;
  options.interval_s = 5;
  options.report_dir = ::testing::TempDir() + "/watch_report";
  options.clock = &clock;
  std::ostringstream out;
  ASSERT_TRUE(WatchStudy(api, "s1", options, out).ok()) << out.str();
  EXPECT_EQ(out.str(),
            "study s1: running, round 2 of 3\n"
            "study s1: done, round 2 of 3\n"
            "report written to " +
                options.report_dir + "/report.md\n");
  EXPECT_EQ(api.polls, 4);
  EXPECT_EQ(clock.TotalSlept(), absl::Seconds(15));  // three waits between four polls
  EXPECT_TRUE(ReadFileToString(options.report_dir + "/report.md").ok());
}

TEST(WatchStudyTest, FailedStudyIsAbortedWithItsMessage) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_FAILED, "site kb refused"));
  FakeClock clock;
  WatchOptions options;
  options.clock = &clock;
  std::ostringstream out;
  const absl::Status s = WatchStudy(api, "s1", options, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(s.message(), "study failed: site kb refused");
}

TEST(WatchStudyTest, GivesUpAfterTheTimeout) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_DONE), /*running_polls=*/1000);
  FakeClock clock;
  WatchOptions options;
  options.interval_s = 10;
  options.timeout_s = 60;
  options.clock = &clock;
  std::ostringstream out;
  const absl::Status s = WatchStudy(api, "s1", options, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LE(clock.TotalSlept(), absl::Seconds(70));
  EXPECT_EQ(WatchStudy(api, "absent", options, out).code(), absl::StatusCode::kNotFound);
}

TEST(WaitForStudiesTest, ReturnsTheFinalStatusesInTheGivenOrder) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("a", v1::STUDY_STATE_DONE), 2);
  api.AddStudy(Training("b", v1::STUDY_STATE_FAILED, "no sites"), 5);
  FakeClock clock;
  absl::StatusOr<std::vector<v1::StudyStatus>> done = WaitForStudies(api, {"b", "a"}, 60, &clock);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 2u);
  EXPECT_EQ((*done)[0].study_id(), "b");
  EXPECT_EQ((*done)[0].state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ((*done)[1].state(), v1::STUDY_STATE_DONE);
  api.AddStudy(Training("c", v1::STUDY_STATE_DONE), 1000);
  EXPECT_EQ(WaitForStudies(api, {"c"}, 60, &clock).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(CoordCommandsTest, SiteCommandsPrintWhatTheAggregatorAnswered) {
  FakeCoordinatorApi api;
  std::ostringstream out;
  ASSERT_TRUE(EnrollSiteCommand(api, "kb", "Kremlin-Bicetre", out).ok());
  ASSERT_TRUE(SetSiteEnabledCommand(api, "kb", false, out).ok());
  ASSERT_TRUE(ListSitesCommand(api, out).ok());
  EXPECT_EQ(out.str(), "enrolled site kb\nkb disabled\nkb\tdisabled\toffline\tnever seen\t\t\n");
  EXPECT_EQ(SetSiteEnabledCommand(api, "igr", true, out).code(), absl::StatusCode::kNotFound);
}

TEST(CoordCommandsTest, CreateStudyFromAJsonFile) {
  FakeCoordinatorApi api;
  const std::string path = ::testing::TempDir() + "/study_spec.json";
  ASSERT_TRUE(WriteFileAtomic(path, R"({"name": "t1", "kind": "STUDY_KIND_ANALYSIS",
                                        "sites": ["kb"], "spec": {"analysis": "x"}})")
                  .ok());
  std::ostringstream out;
  ASSERT_TRUE(CreateStudyCommand(api, path, out).ok());
  EXPECT_EQ(out.str(), "study t1 created\n");
  ASSERT_EQ(api.created.size(), 1u);
  EXPECT_EQ(api.created[0].sites(0), "kb");
  EXPECT_EQ(api.created[0].spec_json(), R"({"analysis":"x"})");
  ASSERT_TRUE(WriteFileAtomic(path, R"({"name": "t2", "colour": "blue"})").ok());
  EXPECT_EQ(CreateStudyCommand(api, path, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(CreateStudyCommand(api, path + ".absent", out).ok());
  EXPECT_EQ(api.created.size(), 1u);
  // The older form, JSON inside a string, still creates.
  ASSERT_TRUE(WriteFileAtomic(path, R"({"name": "t3", "kind": "STUDY_KIND_ANALYSIS",
                                        "sites": ["kb"], "spec_json": "{\"analysis\": \"x\"}"})")
                  .ok());
  ASSERT_TRUE(CreateStudyCommand(api, path, out).ok());
  ASSERT_EQ(api.created.size(), 2u);
  EXPECT_EQ(api.created[1].spec_json(), R"({"analysis": "x"})");
}

TEST(CoordCommandsTest, StudiesStatusAndReport) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_DONE));
  std::ostringstream list, status, report;
  ASSERT_TRUE(ListStudiesCommand(api, list).ok());
  EXPECT_EQ(list.str(), "study s1: done, round 2 of 3\n");
  ASSERT_TRUE(StudyStatusCommand(api, "s1", status).ok());
  EXPECT_THAT(status.str(), HasSubstr("s1"));
  const std::string dir = ::testing::TempDir() + "/report_cmd";
  ASSERT_TRUE(StudyReportCommand(api, "s1", dir, report).ok());
  EXPECT_EQ(report.str(), "report written to " + dir + "/report.md\n");
  EXPECT_EQ(StudyReportCommand(api, "s2", dir, report).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::aggregator
