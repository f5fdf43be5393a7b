// The coordinator's commands against a fake aggregator: what they print, what they wait for,
// and how they fail.
#include "aggregator/coordinator/coord_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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
                options.report_dir + "/report.md and " + options.report_dir + "/report.html\n");
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
  ASSERT_TRUE(ListSitesCommand(api, /*json=*/false, out).ok());
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
  EXPECT_TRUE(api.dry_runs.empty());
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

TEST(CoordCommandsTest, ADryRunPrintsWhatEachStewardIsAskedAndCreatesNothing) {
  FakeCoordinatorApi api;
  const std::string path = ::testing::TempDir() + "/dry_run_spec.json";
  ASSERT_TRUE(WriteFileAtomic(path, R"({
    "name": "sev", "kind": "STUDY_KIND_TRAINING", "studyKind": "tabular_training",
    "sites": ["kb", "igr"], "evaluationSites": ["hegp"], "rounds": 3, "minSites": 2,
    "strategy": "fedavg",
    "plan": {"model": "severity_mlp", "localEpochs": 2, "batchSize": 32, "learningRate": 0.005,
             "seed": "42", "initialModelSha256": "ab12"},
    "spec": {"outcome": "severe", "features": [{"name": "spo2"}, "age"], "min_cell_count": 5},
    "privacy": {"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5}}
  })")
                  .ok());
  std::ostringstream out;
  ASSERT_TRUE(CreateStudyDryRunCommand(api, path, out).ok());
  EXPECT_TRUE(api.created.empty());
  ASSERT_EQ(api.dry_runs.size(), 1u);
  const std::string printed = out.str();
  EXPECT_THAT(printed, HasSubstr("study sev: dry run: nothing was created\n"));
  EXPECT_THAT(printed, HasSubstr("The node's own summary, `scancov-node pending`"));
  EXPECT_THAT(printed,
              HasSubstr("  kb (trains): tabular_training\n"
                        "    names: the outcome 'severe'; 2 variable(s): spo2, age\n"
                        "    releases: model weights (trained on the site's data) and metrics\n"
                        "    minimum cell count: 5 (the site's own applies if larger)\n"));
  EXPECT_THAT(printed, HasSubstr("  igr (trains)"));
  EXPECT_THAT(printed,
              HasSubstr("  hegp (evaluates the final model only): tabular_training\n"
                        "    names: the outcome 'severe'; 2 variable(s): spo2, age\n"
                        "    releases: the final model's evaluation metrics only (no model "
                        "weights)\n"));
  EXPECT_THAT(printed, HasSubstr("rounds: 3, strategy fedavg; a round closes with 2 of 2 site(s)"));
  EXPECT_THAT(printed, HasSubstr(R"(privacy options: {"dp":{"mode":"site")"));
  EXPECT_THAT(printed, HasSubstr("model severity_mlp, 2 local epoch(s), batch 32, learning rate "
                                 "0.005, seed 42, starts from the uploaded model with SHA-256 "
                                 "ab12"));
  EXPECT_THAT(printed, HasSubstr(R"(spec (as each site receives it): {"outcome":"severe",)"));

  // An analysis releases statistics only; no plan line.
  ASSERT_TRUE(WriteFileAtomic(path, R"({"name": "t1", "kind": "STUDY_KIND_ANALYSIS",
      "studyKind": "cohort_description", "sites": ["kb"],
      "spec": {"analysis": "cohort_description", "variables": ["age"]}})")
                  .ok());
  std::ostringstream analysis;
  ASSERT_TRUE(CreateStudyDryRunCommand(api, path, analysis).ok());
  EXPECT_THAT(analysis.str(), HasSubstr("  kb (answers the analysis): cohort_description\n"
                                        "    names: 1 variable(s): age\n"
                                        "    releases: summary statistics only (no model "
                                        "weights)\n"
                                        "    minimum cell count: none asked"));
  EXPECT_THAT(analysis.str(), HasSubstr("\n  a round closes with 1 of 1 site(s)\n"));
  EXPECT_THAT(analysis.str(), ::testing::Not(HasSubstr("training plan")));
  EXPECT_THAT(analysis.str(), ::testing::Not(HasSubstr("rounds:")));
  EXPECT_TRUE(api.created.empty());
  // A spec file that does not read fails before the aggregator is asked.
  ASSERT_TRUE(WriteFileAtomic(path, R"({"name": "t2", "spec": {"a": 1}, "specJson": "{}"})").ok());
  EXPECT_EQ(CreateStudyDryRunCommand(api, path, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(api.dry_runs.size(), 2u);
}

TEST(CoordCommandsTest, StudiesStatusAndReport) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_DONE));
  std::ostringstream list, status, report;
  ASSERT_TRUE(ListStudiesCommand(api, /*json=*/false, list).ok());
  EXPECT_EQ(list.str(), "study s1: done, round 2 of 3\n");
  ASSERT_TRUE(StudyStatusCommand(api, "s1", /*json=*/false, status).ok());
  EXPECT_THAT(status.str(), HasSubstr("s1"));
  const std::string dir = ::testing::TempDir() + "/report_cmd";
  ASSERT_TRUE(StudyReportCommand(api, "s1", dir, report).ok());
  EXPECT_EQ(report.str(), "report written to " + dir + "/report.md and " + dir + "/report.html\n");
  EXPECT_EQ(StudyReportCommand(api, "s2", dir, report).code(), absl::StatusCode::kNotFound);
}

TEST(CoordCommandsTest, JsonListsAreArraysOfPlainObjects) {
  FakeCoordinatorApi api;
  std::ostringstream ignored;
  ASSERT_TRUE(EnrollSiteCommand(api, "kb", "Kremlin-Bicetre", ignored).ok());
  api.sites[0].set_last_seen_unix(1765100000);
  api.sites[0].set_node_version("0.2.0");
  std::ostringstream sites;
  ASSERT_TRUE(ListSitesCommand(api, /*json=*/true, sites).ok());
  const nlohmann::json s = nlohmann::json::parse(sites.str());
  ASSERT_TRUE(s.is_array());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0]["site_id"], "kb");
  EXPECT_EQ(s[0]["enabled"], true);
  EXPECT_EQ(s[0]["online"], false);               // every field present, defaults included
  EXPECT_EQ(s[0]["last_seen_unix"], 1765100000);  // a number, not protobuf's "1765100000"
  EXPECT_EQ(s[0]["node_version"], "0.2.0");

  v1::StudyStatus st = Training("s1", v1::STUDY_STATE_DONE);
  st.mutable_spec()->set_spec_json(R"({"model": "severity_mlp", "features": ["age", "spo2"]})");
  st.mutable_spec()->set_privacy_json("");
  v1::RoundStatus* round = st.add_rounds();
  round->set_round(1);
  round->set_result_json(R"({"n": 287, "not_json_inside": "{x"})");
  st.set_created_unix(1765000000);
  api.AddStudy(st);
  std::ostringstream studies, status;
  ASSERT_TRUE(ListStudiesCommand(api, /*json=*/true, studies).ok());
  const nlohmann::json l = nlohmann::json::parse(studies.str());
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["study_id"], "s1");
  EXPECT_EQ(l[0]["state"], "STUDY_STATE_DONE");
  EXPECT_EQ(l[0]["created_unix"], 1765000000);
  ASSERT_TRUE(StudyStatusCommand(api, "s1", /*json=*/true, status).ok());
  const nlohmann::json j = nlohmann::json::parse(status.str());
  // JSON inside a string comes out as the object itself, under the name without "_json".
  EXPECT_EQ(j["spec"]["spec"]["features"][1], "spo2");
  EXPECT_FALSE(j["spec"].contains("spec_json"));
  EXPECT_TRUE(j["spec"]["privacy"].is_null());
  EXPECT_EQ(j["rounds"][0]["result"]["n"], 287);
  EXPECT_EQ(j["rounds"][0]["result"]["not_json_inside"], "{x");  // only *_json keys unwrap
  EXPECT_EQ(StudyStatusCommand(api, "s2", /*json=*/true, status).code(),
            absl::StatusCode::kNotFound);
}

TEST(CoordCommandsTest, AbortEndsARunningStudyWithTheReasonAndRefusesAnEndedOne) {
  FakeCoordinatorApi api;
  api.AddStudy(Training("s1", v1::STUDY_STATE_DONE), /*running_polls=*/5);
  api.AddStudy(Training("s2", v1::STUDY_STATE_DONE));
  std::ostringstream out;
  ASSERT_TRUE(AbortStudyCommand(api, "s1", "wrong cohort", out).ok());
  EXPECT_EQ(out.str(), "study s1 aborted by coordinator: wrong cohort\n");
  absl::StatusOr<v1::StudyStatus> after = api.GetStudyStatus("s1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ(AbortStudyCommand(api, "s2", "late", out).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AbortStudyCommand(api, "nope", "x", out).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::aggregator
