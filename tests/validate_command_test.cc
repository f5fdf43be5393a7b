// scancov-coord's validate and export-model commands, run whole against an in-process
// federation of two synthetic hospitals: the studies they create, what they print, the files
// they write, and how they stop.
#include "aggregator/coordinator/validate_command.h"

#include <gmock/gmock.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "aggregator/coordinator/export_commands.h"
#include "aggregator/coordinator/study_wait.h"
#include "aggregator/coordinator/validation_plan.h"
#include "core/file_util.h"
#include "protocol/ids.h"
#include "tests/in_process_coordinator.h"

namespace scancov {
namespace {

using ::testing::HasSubstr;

constexpr char kPlan[] = R"({
  "name": "val", "sites": ["kb", "igr"], "outcomes": ["severe"],
  "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "disease_extent", "age"],
  "leave_one_out": false, "min_cell_count": 5})";

struct Consortium {
  FakeClock time;
  std::unique_ptr<aggregator::Federation> federation = testing_sites::InMemoryFederation(time);
  std::vector<testing_sites::Site> sites;
  std::unique_ptr<testing_sites::InProcessCoordinatorApi> api;

  Consortium() {
    sites.push_back(testing_sites::MakeSite("kb", 41, 800));
    sites.push_back(testing_sites::MakeSite("igr", 42, 300));
    api = std::make_unique<testing_sites::InProcessCoordinatorApi>(federation.get());
    for (const testing_sites::Site& s : sites) EXPECT_TRUE(api->EnrollSite(s.id, "").ok());
  }
};

std::string WritePlan(const std::string& name, const std::string& json) {
  const std::string path = ::testing::TempDir() + "/" + name + ".json";
  EXPECT_TRUE(WriteFileAtomic(path, json).ok());
  return path;
}

TEST(ValidateCommandTest, RunsThePlanAndWritesEveryReportAndTheMatrix) {
  Consortium c;
  testing_sites::NodesTakeTurns clock(c.federation.get(), &c.time, c.sites);
  aggregator::ValidateOptions options;
  options.plan_file = WritePlan("validate_plan", kPlan);
  options.out_dir = ::testing::TempDir() + "/validate_out";
  options.clock = &clock;
  std::ostringstream out;
  ASSERT_TRUE(aggregator::RunValidationPlan(*c.api, options, out).ok()) << out.str();
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("validate: 3 training studies created\n"));  // kb, igr, federated
  EXPECT_THAT(text, HasSubstr("validate: 3 models fitted, 4 evaluation studies created\n"));
  absl::StatusOr<std::string> md = ReadFileToString(options.out_dir + "/validation.md");
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_THAT(text, HasSubstr(*md + "\nreport written to " + options.out_dir +
                              "/validation.md and " + options.out_dir + "/validation.html\n"));
  for (const char* row : {"| at kb |", "| at igr |", "| federated |", "| CURB-65 |"}) {
    EXPECT_THAT(*md, HasSubstr(row));
  }
  absl::StatusOr<v1::ListStudiesResponse> studies = c.api->ListStudies();
  ASSERT_TRUE(studies.ok());
  ASSERT_EQ(studies->studies_size(), 7);
  for (const v1::StudyStatus& st : studies->studies()) {
    EXPECT_EQ(st.state(), v1::STUDY_STATE_DONE) << st.study_id() << ": " << st.message();
    EXPECT_TRUE(ReadFileToString(options.out_dir + "/" + st.study_id() + "/report.md").ok())
        << st.study_id();
  }
}

TEST(ValidateCommandTest, ExportModelChoosesCutPointsFromTheSitesCounts) {
  Consortium c;
  testing_sites::NodesTakeTurns clock(c.federation.get(), &c.time, c.sites);
  auto plan = aggregator::ParseValidationPlan(kPlan);
  ASSERT_TRUE(plan.ok());
  const v1::StudySpec fit = aggregator::TrainingStudies(*plan).back().second;  // federated
  ASSERT_TRUE(c.api->CreateStudy(fit).ok());
  ASSERT_TRUE(aggregator::WaitForStudies(*c.api, {fit.name()}, 3600, &clock).ok());
  aggregator::ExportModelOptions options;
  options.choose_cut_points = true;
  options.cut_point_step = 5;  // as the demo: bins that the sites' minimum count lets out
  options.clock = &clock;
  const std::string path = ::testing::TempDir() + "/federated_model.json";
  std::ostringstream out;
  ASSERT_TRUE(aggregator::ExportModel(*c.api, fit.name(), path, options, out).ok()) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("chosen from counts (study " + fit.name() + "-cut-points)"));
  absl::StatusOr<std::string> text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  const nlohmann::json model = nlohmann::json::parse(*text);
  ASSERT_EQ(model.at("cut_points").size(), 2u);
  EXPECT_LT(model.at("cut_points")[0].get<double>(), model.at("cut_points")[1].get<double>());
  EXPECT_EQ(model.at("coefficients").size(), 4u);
}

TEST(ValidateCommandTest, MissingAiSeverityStudyStopsBeforeAnyStudy) {
  Consortium c;
  FakeClock idle;
  aggregator::ValidateOptions options;
  const std::string feature = absl::StrCat(protocol::kAiSeverityPrefix, "aisev1");
  nlohmann::json plan = nlohmann::json::parse(kPlan);
  plan["features"] = {"age", feature};
  options.plan_file = WritePlan("validate_aisev", plan.dump());
  options.out_dir = ::testing::TempDir() + "/validate_aisev";
  options.clock = &idle;
  std::ostringstream out;
  const absl::Status s = aggregator::RunValidationPlan(*c.api, options, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("plan: feature '" + feature + "': "));
  EXPECT_EQ(c.api->ListStudies()->studies_size(), 0);
}

TEST(ValidateCommandTest, StudiesNoNodeRunsTimeOut) {
  Consortium c;
  FakeClock idle;  // nobody works while the coordinator waits
  aggregator::ValidateOptions options;
  options.plan_file = WritePlan("validate_idle", kPlan);
  options.out_dir = ::testing::TempDir() + "/validate_idle";
  options.timeout_s = 30;
  options.clock = &idle;
  std::ostringstream out;
  const absl::Status s = aggregator::RunValidationPlan(*c.api, options, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_EQ(out.str(), "validate: 3 training studies created\n");
  EXPECT_FALSE(ReadFileToString(options.out_dir + "/validation.md").ok());
  EXPECT_EQ(
      RunValidationPlan(*c.api, {options.plan_file + ".absent", options.out_dir, 30, &idle}, out)
          .code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov
