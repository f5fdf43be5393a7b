// export-model and export-checkpoint against a fake aggregator: the files they write, the
// fallback when the sites' counts do not allow choosing cut points, and the refusals.
#include "aggregator/coordinator/export_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "aggregator/coordinator/fake_coordinator_api.h"
#include "core/file_util.h"
#include "protocol/study_kind.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

// A finished logistic-regression study as the aggregator reports it: its spec and the "fit" of
// its last round.
v1::StudyStatus FittedStudy() {
  v1::StudyStatus st;
  st.set_study_id("fit1");
  st.set_state(v1::STUDY_STATE_DONE);
  v1::StudySpec& spec = *st.mutable_spec();
  spec.set_name("fit1");
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_study_kind(
      std::string(protocol::StudyKindName(protocol::StudyKind::logistic_regression)));
  spec.add_sites("kb");
  spec.add_sites("igr");
  spec.set_spec_json(R"({"features": ["age", {"name": "urea", "transform": "log"}],
                         "outcome": "severe"})");
  // The last round as the aggregator writes it (protocol/wire/logistic_regression.h).
  wire::LogisticModelFit fit;
  fit.n = 900;
  fit.events = 210;
  for (const auto& [term, beta] : std::vector<std::pair<const char*, double>>{
           {"(Intercept)", -4.5}, {"age", 0.05}, {"log(urea)", 0.8}}) {
    wire::LogisticTerm t;
    t.term = term;
    t.beta = beta;
    fit.coefficients.push_back(t);
  }
  fit.terciles = {0.12, 0.35};
  fit.five_level_cuts = {0.05, 0.1, 0.2, 0.4};
  wire::LogisticRoundResult result;
  result.sites = 2;
  result.fit = fit;
  v1::RoundStatus& round = *st.add_rounds();
  round.set_state("closed");
  round.set_result_json(wire::ToJson(result));
  return st;
}

TEST(ExportModelTest, WritesTheScoringFileWithTheGivenCutPoints) {
  FakeCoordinatorApi api;
  api.AddStudy(FittedStudy());
  const std::string path = ::testing::TempDir() + "/model.json";
  ExportModelOptions options;
  options.cut_points = {20, 40};
  std::ostringstream out;
  ASSERT_TRUE(ExportModel(api, "fit1", path, options, out).ok()) << out.str();
  EXPECT_EQ(out.str(), "model of study fit1 written to " + path + "\n");
  absl::StatusOr<std::string> text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  const json model = json::parse(*text);
  EXPECT_EQ(model.at("coefficients"), json({-4.5, 0.05, 0.8}));
  EXPECT_EQ(model.at("features"), json::parse(R"(["age", {"name": "urea", "transform": "log"}])"));
  EXPECT_EQ(model.at("outcome"), "severe");
  EXPECT_EQ(model.at("n"), 900);
  EXPECT_EQ(model.at("events"), 210);
  EXPECT_EQ(model.at("sites"), json({"kb", "igr"}));
  EXPECT_EQ(model.at("cut_points"), json({20, 40}));
  EXPECT_EQ(model.at("terciles"), json({0.12, 0.35}));
  EXPECT_EQ(model.at("five_level_cuts").size(), 4u);
  EXPECT_EQ(model.at("source"), "federated logistic regression, study fit1");
  EXPECT_TRUE(api.created.empty());
}

TEST(ExportModelTest, CountsThatAllowNoRuleFallBackToTheSeedCutPoints) {
  FakeCoordinatorApi api;
  api.AddStudy(FittedStudy());
  // The cut-point study ends without a pooled ROC curve (every site refused its counts).
  FakeClock clock;
  ExportModelOptions options;
  options.choose_cut_points = true;
  options.cut_point_step = 5;
  options.clock = &clock;
  const std::string path = ::testing::TempDir() + "/model_seed_cuts.json";
  std::ostringstream out;
  ASSERT_TRUE(ExportModel(api, "fit1", path, options, out).ok()) << out.str();
  ASSERT_EQ(api.created.size(), 1u);
  EXPECT_EQ(api.created[0].name(), "fit1-cut-points");
  EXPECT_THAT(out.str(), HasSubstr("the seed's 23 / 45 are used\n"));
  absl::StatusOr<std::string> text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(json::parse(*text).at("cut_points"), json({23, 45}));
  EXPECT_GT(clock.TotalSlept(), absl::ZeroDuration());  // it waited for the study
}

TEST(ExportModelTest, StudyWithoutAFitIsRefused) {
  FakeCoordinatorApi api;
  v1::StudyStatus st = FittedStudy();
  wire::LogisticRoundResult no_fit;  // a Newton round before convergence
  st.mutable_rounds(0)->set_result_json(wire::ToJson(no_fit));
  api.AddStudy(st);
  const std::string path = ::testing::TempDir() + "/model_none.json";
  std::ostringstream out;
  EXPECT_EQ(ExportModel(api, "fit1", path, {}, out).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ReadFileToString(path).ok());
  v1::StudyStatus no_features = FittedStudy();
  no_features.mutable_spec()->set_spec_json("{}");
  EXPECT_EQ(ScoringModelJson(no_features, {1.0}, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

v1::StudyStatus TrainedStudy() {
  v1::StudyStatus st;
  st.set_study_id("lungs");
  st.set_state(v1::STUDY_STATE_DONE);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->mutable_plan()->set_model("unet2d");
  st.mutable_spec()->set_spec_json(R"({"model_config": {"base": 8}, "in_plane": 128})");
  st.add_rounds()->set_checkpoint_id("ck1");
  st.add_rounds()->set_checkpoint_id("ck2");
  st.add_rounds();  // an open round without a checkpoint yet
  return st;
}

TEST(ExportCheckpointTest, WritesTheLatestWeightsWithTheModelAndItsSliceSize) {
  FakeCoordinatorApi api;
  api.AddStudy(TrainedStudy());
  protocol::TensorSet weights;
  ASSERT_TRUE(
      weights.Add(protocol::FromDoubles("w", {2}, protocol::DType::kFloat32, {1.5, -2})).ok());
  api.checkpoints["lungs/ck2"] = weights;
  const std::string path = ::testing::TempDir() + "/lungs.ckpt";
  std::ostringstream out;
  ASSERT_TRUE(ExportCheckpoint(api, "lungs", path, out).ok()) << out.str();
  EXPECT_EQ(out.str(),
            "model 'unet2d' of study lungs (checkpoint ck2, 1 tensors, trained at 128 "
            "px) written to " +
                path + "\n");
  absl::StatusOr<nn::Checkpoint> back = nn::LoadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->model, "unet2d");
  EXPECT_EQ(json::parse(back->model_config_json), json::parse(R"({"base": 8})"));
  EXPECT_EQ(back->in_plane, 128);
  ASSERT_EQ(back->weights.size(), 1u);
  EXPECT_EQ(protocol::ToDoubles(back->weights.tensors()[0]), (std::vector<double>{1.5, -2}));
}

TEST(ExportCheckpointTest, OnlyAFinishedTrainingStudyWithACheckpoint) {
  v1::StudyStatus analysis = TrainedStudy();
  analysis.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  v1::StudyStatus running = TrainedStudy();
  running.set_state(v1::STUDY_STATE_RUNNING);
  v1::StudyStatus empty = TrainedStudy();
  empty.clear_rounds();
  for (const auto& [st, why] :
       {std::pair{analysis, "not a training study"}, std::pair{running, "is not done"},
        std::pair{empty, "has no checkpoint"}}) {
    absl::StatusOr<std::pair<nn::Checkpoint, std::string>> h = StudyCheckpointHeader(st);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition) << why;
    EXPECT_THAT(std::string(h.status().message()), HasSubstr(why));
  }
  FakeCoordinatorApi api;
  api.AddStudy(TrainedStudy());  // no weights stored: the download fails
  std::ostringstream out;
  const std::string path = ::testing::TempDir() + "/missing.ckpt";
  EXPECT_EQ(ExportCheckpoint(api, "lungs", path, out).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ReadFileToString(path).ok());
}

}  // namespace
}  // namespace scancov::aggregator
