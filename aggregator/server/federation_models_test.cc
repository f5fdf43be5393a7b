// A training study that starts from a model the coordinator uploaded (Coordinator.UploadModel,
// TrainingPlan.initial_model_sha256) instead of one built at the first site to pull.
#include <gmock/gmock.h>

#include "aggregator/server/federation_fixture.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

using protocol::TensorSet;
using protocol::ToDoubles;
using ::testing::HasSubstr;
using testing_fixture::FederationTest;
using testing_fixture::kCoordinator;
using testing_fixture::SiteCaller;
using testing_fixture::Spec;
using testing_fixture::TempDb;
using testing_fixture::Weights;

v1::StudySpec SpecFrom(const std::string& name, uint32_t rounds, const std::string& digest) {
  v1::StudySpec spec = Spec(name, rounds);
  spec.mutable_plan()->set_initial_model_sha256(digest);
  return spec;
}

TEST_F(FederationTest, AStudyStartsFromTheModelTheCoordinatorUploaded) {
  Enroll();
  const TensorSet initial = Weights(5, -5);
  auto uploaded = federation_->UploadModel(kCoordinator, initial);
  ASSERT_TRUE(uploaded.ok()) << uploaded.status();
  EXPECT_EQ(uploaded->sha256(), protocol::WeightsDigestHex(initial));
  EXPECT_EQ(uploaded->tensors(), 2u);
  EXPECT_EQ(uploaded->total_bytes(), initial.TotalBytes());
  EXPECT_FALSE(uploaded->already_stored());

  const v1::StudyStatus created = Create(SpecFrom("s", 2, uploaded->sha256()));
  // Round 0 is closed with the uploaded model; nobody was asked to build one.
  ASSERT_EQ(created.rounds_size(), 2);
  EXPECT_EQ(created.rounds(0).state(), "closed");
  EXPECT_EQ(created.rounds(0).checkpoint_id(), "s/c0");
  EXPECT_EQ(created.rounds(0).sites_size(), 0);
  EXPECT_EQ(created.current_round(), 1u);

  InProcessFederationClient client(federation_.get(), SiteCaller("kb"), 16);
  auto pulled = client.PullTask();
  ASSERT_TRUE(pulled.ok() && pulled->has_task()) << pulled.status();
  EXPECT_EQ(pulled->task().kind(), v1::TASK_KIND_TRAIN);
  EXPECT_EQ(pulled->task().round(), 1u);
  EXPECT_EQ(pulled->task().plan().initial_model_sha256(), uploaded->sha256());
  auto global = client.DownloadWeights(pulled->task().task_id(), pulled->task().checkpoint_id());
  ASSERT_TRUE(global.ok()) << global.status();
  EXPECT_EQ(protocol::WeightsDigestHex(*global), uploaded->sha256());

  RunToCompletion("s");
  // Two FedAvg rounds of the sites' deltas 1, 2, 4 weighted 100, 300, 600 (3.1 a round) on top
  // of (5, -5), not of the (0, 0) an INIT task would have built.
  auto final_model = federation_->GetCheckpoint(kCoordinator, "s", "");
  ASSERT_TRUE(final_model.ok()) << final_model.status();
  const std::vector<double> w = ToDoubles(*final_model->Find("w"));
  EXPECT_NEAR(w[0], 11.2, 1e-5);
  EXPECT_NEAR(w[1], -11.2, 1e-5);
}

TEST_F(FederationTest, TheSameModelUploadedTwiceIsStoredOnceAndOutlivesStudiesAndRestarts) {
  keep_checkpoints_ = 1;
  const std::string db = TempDb("uploaded_model");
  Start(db);
  Enroll();
  auto first = federation_->UploadModel(kCoordinator, Weights(1, 2));
  auto again = federation_->UploadModel(kCoordinator, Weights(1, 2));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_TRUE(again->already_stored());
  EXPECT_EQ(again->sha256(), first->sha256());

  Create(SpecFrom("a", 3, first->sha256()));
  RunToCompletion("a");  // keeps only its last model: its copy of the upload is pruned
  EXPECT_EQ(federation_->GetCheckpoint(kCoordinator, "a", "a/c0").status().code(),
            absl::StatusCode::kNotFound);
  Start(db);  // the aggregator restarts
  const v1::StudyStatus b = Create(SpecFrom("b", 1, first->sha256()));
  auto b0 = federation_->GetCheckpoint(kCoordinator, "b", "b/c0");
  ASSERT_TRUE(b0.ok()) << b0.status();
  EXPECT_EQ(protocol::WeightsDigestHex(*b0), first->sha256());
}

TEST_F(FederationTest, OnlyACoordinatorUploadsAndOnlyFiniteWeights) {
  Enroll();
  EXPECT_EQ(federation_->UploadModel(SiteCaller("kb"), Weights(1, 2)).status().code(),
            absl::StatusCode::kPermissionDenied);
  const absl::Status nan = federation_->UploadModel(kCoordinator, Weights(1, NAN)).status();
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nan.message(), HasSubstr("uploaded model"));
  EXPECT_THAT(nan.message(), HasSubstr("'w'"));
  EXPECT_EQ(federation_->UploadModel(kCoordinator, TensorSet()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FederationTest, AStudyFromAModelThatIsNotThereOrCannotStartFromOneIsNotCreated) {
  Enroll();
  auto uploaded = federation_->UploadModel(kCoordinator, Weights(1, 2));
  ASSERT_TRUE(uploaded.ok());
  auto create = [&](const v1::StudySpec& spec) {
    v1::CreateStudyRequest req;
    *req.mutable_spec() = spec;
    return federation_->CreateStudy(kCoordinator, req).status();
  };
  const absl::Status unknown = create(SpecFrom("s", 1, std::string(64, 'a')));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unknown.message(), HasSubstr("upload-model"));
  const absl::Status malformed = create(SpecFrom("s", 1, "ABC"));
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(malformed.message(), HasSubstr("64 lower-case hex"));
  // An analysis builds no model.
  v1::StudySpec analysis;
  analysis.set_name("s");
  analysis.set_kind(v1::STUDY_KIND_ANALYSIS);
  analysis.set_study_kind("cohort_description");
  for (const char* s : {"kb", "igr", "hegp"}) analysis.add_sites(s);
  analysis.set_rounds(1);
  analysis.set_spec_json(
      R"({"analysis": "cohort_description", "outcome": "severe", "variables": ["age"]})");
  analysis.mutable_plan()->set_initial_model_sha256(uploaded->sha256());
  const absl::Status analysis_refused = create(analysis);
  EXPECT_EQ(analysis_refused.code(), absl::StatusCode::kInvalidArgument) << analysis_refused;
  EXPECT_THAT(analysis_refused.message(), HasSubstr("cannot start from an uploaded model"));
  EXPECT_EQ(federation_->GetStudyStatus(kCoordinator, "s").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::aggregator
