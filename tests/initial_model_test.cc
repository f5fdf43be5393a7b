// A training study that starts from a model the coordinator uploaded, end to end over mutual
// TLS: a first study's exported checkpoint is uploaded (scancov-coord upload-model) and a second
// study continues from it; every site trains its round 1 from exactly those weights.
#include <gmock/gmock.h>

#include <sstream>

#include "aggregator/coordinator/coordinator_api.h"
#include "aggregator/coordinator/export_commands.h"
#include "models/nn/checkpoint.h"
#include "tests/mtls_federation.h"

namespace scancov {
namespace {

using mtls_testing::FederationMtlsTest;
using mtls_testing::Upload;
using ::testing::HasSubstr;

TEST_F(FederationMtlsTest, AStudyContinuesFromAnUploadedModel) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("first", 1)).ok());
  RunNodes();
  aggregator::GrpcCoordinatorApi api(coordinator_.get());
  const std::string file = dir_ + "/first.ckpt";
  std::ostringstream exported, uploaded;
  ASSERT_TRUE(aggregator::ExportCheckpoint(api, "first", file, exported).ok());
  ASSERT_TRUE(aggregator::UploadModelCommand(api, file, uploaded).ok());
  auto checkpoint = nn::LoadCheckpoint(file);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  const std::string digest = protocol::WeightsDigestHex(checkpoint->weights);
  EXPECT_THAT(uploaded.str(), HasSubstr("uploaded; sha256 " + digest));
  EXPECT_THAT(uploaded.str(), HasSubstr("\"initial_model_sha256\": \"" + digest + "\""));

  v1::StudySpec spec = Spec("second", 2);
  spec.mutable_plan()->set_initial_model_sha256(digest);
  ASSERT_TRUE(coordinator_->CreateStudy(spec).ok());
  uploads_.clear();
  RunNodes();
  auto status = coordinator_->GetStudyStatus("second");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  EXPECT_EQ(status->rounds(0).sites_size(), 0) << "no site was asked to build a model";
  int round_one = 0;
  for (const Upload& u : uploads_) {
    if (u.round != 1) continue;
    ++round_one;
    EXPECT_EQ(u.global_sha256, digest) << u.site;
  }
  EXPECT_EQ(round_one, 3);
  ExpectFedAvgOfUploads("second", 1, 1e-6);
  ExpectFedAvgOfUploads("second", 2, 1e-6);

  // Uploading again stores nothing new.
  std::ostringstream again;
  ASSERT_TRUE(aggregator::UploadModelCommand(api, file, again).ok());
  EXPECT_THAT(again.str(), HasSubstr("was already stored"));
}

TEST_F(FederationMtlsTest, OnlyTheCoordinatorUploadsModelsAndOnlyFiniteOnes) {
  protocol::TensorSet weights;
  ASSERT_TRUE(weights.Add(protocol::MakeFloat32("w", {3}, {1, 2, 3})).ok());
  auto as_site = aggregator::CoordinatorClient::Create(target_, site_tls_["kb"]);
  ASSERT_TRUE(as_site.ok());
  const absl::Status refused = (*as_site)->UploadModel(weights).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;

  protocol::TensorSet bad;
  ASSERT_TRUE(bad.Add(protocol::MakeFloat32("w", {3}, {1, NAN, 3})).ok());
  const absl::Status nan = coordinator_->UploadModel(bad).status();
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument) << nan;
  EXPECT_THAT(nan.message(), HasSubstr("uploaded model"));

  auto ok = coordinator_->UploadModel(weights);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->sha256(), protocol::WeightsDigestHex(weights));
}

}  // namespace
}  // namespace scancov
