// The learned path end to end with freshly initialised (untrained) networks: the plumbing
// (checkpoint checks, in-plane fitting and back, ensemble, lung mask) not the accuracy, which
// models/nn's tests and the federated segmentation study measure.
#include "node/bedside/learned_segmentation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/ct/lesion_quantification.h"
#include "models/nn/checkpoint.h"
#include "models/nn/segmentation.h"
#include "node/bedside/bedside_test_util.h"
#include "node/bedside/score_patient.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

std::string SaveInitialModel(const std::string& model, const std::string& name, int in_plane = 0) {
  absl::StatusOr<protocol::TensorSet> weights = nn::InitSegmentationModel(model, "", 3);
  EXPECT_TRUE(weights.ok()) << weights.status();
  const std::string path = testing::FreshDir("ckpt_" + name) + "/" + name + ".ckpt";
  nn::Checkpoint ckpt;
  ckpt.model = model;
  ckpt.in_plane = in_plane;
  ckpt.weights = *std::move(weights);
  EXPECT_TRUE(nn::SaveCheckpoint(path, ckpt).ok());
  return path;
}

TEST(BedsideLearned, LesionEnsembleRunsInsideTheLungMask) {
  ASSERT_TRUE(LearnedSegmentationAvailable());
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  // The slice size comes from the checkpoints (model_in_plane left at -1).
  request.options.lesion_checkpoints = {SaveInitialModel("unet25d", "a", 64),
                                        SaveInitialModel("unet3d", "b", 64)};
  request.options.device = "cpu";
  request.options.precision = "bf16";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->lesion_method, HasSubstr("learned ensemble of 2 model(s)"));
  EXPECT_THAT(r->lesion_method, HasSubstr(", in bf16"));
  ASSERT_TRUE(r->lesion_labels.SameGrid(r->lungs));
  for (size_t v = 0; v < r->lungs.voxels.size(); ++v) {
    if (r->lungs.voxels[v] == 0) {
      ASSERT_EQ(r->lesion_labels.voxels[v], ct::kLesionBackground) << v;
    } else {
      ASSERT_GE(r->lesion_labels.voxels[v], ct::kLesionHealthy) << v;
      ASSERT_LE(r->lesion_labels.voxels[v], ct::kLesionConsolidation) << v;
    }
  }
  // Whatever an untrained net calls, the quantification is consistent with the map.
  EXPECT_EQ(r->lesions.both.lung_voxels,
            r->lesions.right.lung_voxels + r->lesions.left.lung_voxels);
}

// An untrained lung net gives a mask that is not two plausible lungs, or, by chance, one: either
// way the pipeline runs through the 2D U-Net and the chest check, and never scores silently.
TEST(BedsideLearned, LungNetGoesThroughTheChestCheck) {
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  request.options.lung_checkpoint = SaveInitialModel("unet2d", "lungs");
  request.options.model_in_plane = 64;
  request.options.device = "cpu";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  if (r.ok()) {
    EXPECT_THAT(r->lung_method, HasSubstr("learned 2D U-Net (lungs.ckpt)"));
    EXPECT_GE(r->lesions.both.volume_ml, request.options.min_lung_volume_ml);
  } else {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("not a chest CT"));
  }
}

TEST(BedsideLearned, EnsembleMembersTrainedAtDifferentSizesNeedAnExplicitSize) {
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  const std::string a = SaveInitialModel("unet25d", "a64", 64);
  const std::string b = SaveInitialModel("unet3d", "b48", 48);
  request.options.lesion_checkpoints = {a, b};
  request.options.device = "cpu";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("models " + a + " and " + b +
                        " were trained at different slice sizes (64 and 48)"));
  request.options.model_in_plane = 48;  // the caller decides: both run at 48
  r = ScorePatient(request);
  EXPECT_TRUE(r.ok()) << r.status();
}

TEST(BedsideLearned, WrongModelKindIsRefusedByFile) {
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  const std::string lung = SaveInitialModel("unet2d", "lung");
  request.options.lesion_checkpoints = {lung};
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("lesion model " + lung +
                                              ": holds a 'unet2d' model, expected unet25d or "
                                              "unet3d"));
  request.options.lesion_checkpoints.clear();
  const std::string lesion = SaveInitialModel("unet25d", "lesion");
  request.options.lung_checkpoint = lesion;
  r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("lung model " + lesion + ": holds a 'unet25d'"));
}

// The method lines say which arithmetic ran; a precision that is not one is refused by name
// before any network is loaded.
TEST(BedsideLearned, PrecisionIsNamedInTheMethodOrRefused) {
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  request.options.lesion_checkpoints = {SaveInitialModel("unet25d", "p", 48)};
  request.options.device = "cpu";
  request.options.precision = "fp32";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->lesion_method, HasSubstr("probabilities averaged, in fp32"));
  request.options.precision = "fp16";
  r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("precision must be \"fp32\", \"bf16\" or \"auto\""));
}

TEST(BedsideLearned, MissingCheckpointNamesTheFile) {
  BedsideRequest request = testing::DefaultRequest(testing::SharedPhantom().dicom_dir);
  request.options.lung_checkpoint = "/nonexistent/lungs.ckpt";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("lung model /nonexistent/lungs.ckpt"));
}

}  // namespace
}  // namespace scancov::node
