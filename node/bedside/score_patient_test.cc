// ScorePatient end to end on small chest phantoms written as DICOM (sites/ct) with a known
// lesion extent.
#include "node/bedside/score_patient.h"

#include <gtest/gtest.h>

#include <cmath>

#include "absl/strings/match.h"
#include "models/ct/lesion_quantification.h"
#include "models/scores/scancov_score.h"
#include "node/bedside/bedside_test_util.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::node {
namespace {

using testing::DefaultRequest;
using testing::SharedPhantom;

const BedsideResult& SharedResult() {
  static const BedsideResult* result = [] {
    absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(SharedPhantom().dicom_dir));
    EXPECT_TRUE(r.ok()) << r.status();
    return new BedsideResult(r.ok() ? *std::move(r) : BedsideResult{});
  }();
  return *result;
}

double TruthPercent(const sites::LungTruth& t) { return 100.0 * t.extent(); }

// The phantom's extents are 40% (right) and 30% (left): both lungs together about 35%, in the
// middle of extent class 3 (25-50%), so the class is robust to the few points of bias below.
TEST(ScorePatient, ExtentMatchesPhantomTruth) {
  const BedsideResult& r = SharedResult();
  const sites::PhantomTruth& truth = SharedPhantom().truth;
  ASSERT_GT(truth.right.lung_voxels, 0);
  const double right = TruthPercent(truth.right), left = TruthPercent(truth.left);
  const double both = 100.0 * (truth.right.lesion_voxels() + truth.left.lesion_voxels()) /
                      (truth.right.lung_voxels + truth.left.lung_voxels);
  // Tolerance 5 points. On this coarse grid (3 x 3 x 5 mm voxels) the model-free map
  // (models/ct/hu_lesions.h) misses the thin parts of the consolidated cores (the 3 mm
  // consolidation opening is a whole voxel here) and keeps some partial-volume rim at the pleura;
  // measured -1.3 and -2.8 points (-0.8 and -1.1 on the full-scale grid, docs/benchmarks.md). 5
  // points is twice the largest error measured and well inside the 25-point width of class 3.
  EXPECT_NEAR(r.lesions.right.extent_percent, right, 5.0);
  EXPECT_NEAR(r.lesions.left.extent_percent, left, 5.0);
  EXPECT_EQ(r.disease_extent, ct::ExtentScore(both / 100.0));
  EXPECT_EQ(r.disease_extent, 3);
  // The right lung is more affected than the left, as in the phantom.
  EXPECT_GT(r.lesions.right.extent_percent, r.lesions.left.extent_percent);
  // Lung volumes within 10% of the truth (the mask includes vessels, as the truth does).
  const double voxel_ml = r.spacing[0] * r.spacing[1] * r.spacing[2] / 1000.0;
  EXPECT_NEAR(r.lesions.right.volume_ml, truth.right.lung_voxels * voxel_ml,
              0.1 * truth.right.lung_voxels * voxel_ml);
  EXPECT_NEAR(r.lesions.left.volume_ml, truth.left.lung_voxels * voxel_ml,
              0.1 * truth.left.lung_voxels * voxel_ml);
}

TEST(ScorePatient, LesionClassesFollowThePhantomMix) {
  const BedsideResult& r = SharedResult();
  const ct::LungLesionStats& b = r.lesions.both;
  // The phantom's mix is GGO 50%, crazy paving 25%, consolidation 25% of the lesions.
  EXPECT_GT(b.ggo_of_extent, b.crazy_paving_of_extent);
  EXPECT_GT(b.ggo_of_extent, b.consolidation_of_extent);
  EXPECT_NEAR(b.ggo_of_extent, 0.5, 0.15);
  EXPECT_NEAR(b.crazy_paving_of_extent, 0.25, 0.1);
  EXPECT_NEAR(b.consolidation_of_extent, 0.25, 0.1);
}

TEST(ScorePatient, ScanCovEqualsTheScoresLibraryWithTheCtExtent) {
  const BedsideResult& r = SharedResult();
  ASSERT_TRUE(r.complete()) << r.scancov.reason;
  scores::PatientInputs inputs{{"age", 63},        {"sex", 1},    {"spo2", 91},
                               {"platelets", 210}, {"urea", 7.1}, {"disease_extent", 3}};
  absl::StatusOr<scores::ScanCovResult> expected = scores::ScanCovScore().Compute(inputs);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_DOUBLE_EQ(r.scancov.value.linear_predictor, expected->linear_predictor);
  EXPECT_DOUBLE_EQ(r.scancov.value.probability, expected->probability);
  EXPECT_EQ(r.scancov.value.risk_class, expected->risk_class);
  EXPECT_EQ(r.scancov.value.level, expected->level);
  // And by hand: the released model (MISSION.md), extent 3.
  const double eta = -2.31389 - 0.715868 * -std::log(1.0 + 100 - 91) + 0.634474 * 3 +
                     0.0238457 * 63 + 0.548183 * 1 - 0.833731 * std::log(0.001 + 210) +
                     0.560686 * std::log(0.001 + 7.1);
  // MISSION.md rounds the released coefficients to 6 digits; models/scores has them in full.
  EXPECT_NEAR(r.scancov.value.linear_predictor, eta, 1e-4);
}

TEST(ScorePatient, WellAeratedAndCalcium) {
  const BedsideResult& r = SharedResult();
  // Well-aerated lung is what the lesions leave (minus vessels and low attenuation).
  EXPECT_GT(r.hu_intervals.both.well_aerated_percent, 40.0);
  EXPECT_LT(r.hu_intervals.both.well_aerated_percent, 100.0 - 30.0);
  ASSERT_TRUE(r.calcium_available);
  const double truth_mm3 =
      SharedPhantom().truth.calcium.total_voxels() * r.spacing[0] * r.spacing[1] * r.spacing[2];
  EXPECT_NEAR(r.calcium_volume_mm3, truth_mm3, 0.5 * truth_mm3);
  EXPECT_EQ(r.inputs.Get("calcium_volume_mm3"), r.calcium_volume_mm3);
}

TEST(ScorePatient, AiScoreIsNotInventedWithoutAModel) {
  const BedsideResult& r = SharedResult();
  EXPECT_FALSE(r.aiscore.available);
  EXPECT_EQ(r.aiscore.reason, "not available (no fitted model)");
}

TEST(ScorePatient, TimingsOverlaysAndMaps) {
  const BedsideResult& r = SharedResult();
  std::vector<std::string> stages;
  for (const auto& [stage, s] : r.timings) {
    stages.push_back(stage);
    EXPECT_GE(s, 0.0);
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"import/decode", "lung mask", "lesions",
                                              "quantification", "scores", "report images"}));
  ASSERT_EQ(r.overlays.size(), 3u);
  EXPECT_EQ(r.overlays[0].zone, "upper");
  EXPECT_EQ(r.overlays[2].zone, "lower");
  // The phantom's lesions favour the lung bases: the lower image shows the most lesion.
  EXPECT_GT(r.overlays[2].lesion_voxels, r.overlays[0].lesion_voxels);
  EXPECT_EQ(r.lungs.size(), static_cast<size_t>(r.nx) * r.ny * r.nz);
  EXPECT_EQ(r.source_files.size(), static_cast<size_t>(r.nz));
}

TEST(ScorePatient, HealthyChestHasLittleExtent) {
  const sites::PhantomFiles files =
      testing::WriteChestPhantom(testing::ChestSpec(21, 0.0, 0.0), "healthy");
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(files.dicom_dir));
  ASSERT_TRUE(r.ok()) << r.status();
  // The model-free map's floor (models/ct/hu_lesions.h): about 1% consolidation density (vessel
  // trunks, the lung mask's border), no GGO or crazy paving.
  EXPECT_LT(r->lesions.both.extent_percent, 3.0);
  EXPECT_LT(r->lesions.both.ggo_percent, 0.5);
  EXPECT_LT(r->lesions.both.crazy_paving_percent, 0.5);
  EXPECT_LE(r->disease_extent, 1);
}

TEST(ScorePatient, ThinnestOfSeveralSeriesIsScored) {
  sites::PhantomSpec spec = testing::ChestSpec(8, 0.2, 0.2);
  spec.scanner.add_second_series = true;  // a 2x thick reconstruction of the same study
  spec.scanner.add_localizer = true;
  const sites::PhantomFiles files = testing::WriteChestPhantom(spec, "two_series");
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(files.dicom_dir));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->nz, spec.scanner.number_of_slices);
  bool noted = false;
  for (const std::string& n : r->notes) noted |= absl::StrContains(n, "2 CT series found");
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace scancov::node
