// Issue 16: the accuracy of the seed's lesion ensemble trained by the federation. Two synthetic
// sites (two scanners) train a 2.5D and a 3D lesion network, each in its own FedAvg study
// through the real round logic (tests/segmentation_federation.h); a third site with a third
// scanner never trains, and the ensemble (the mean of the two networks' probabilities, argmax
// inside the lung mask) is evaluated there with the seed's metrics: lesion vs healthy F1
// (micro) and the median |relative volume error| per lesion class.
//
// CI-sized: 48 x 48 phantoms, 4 series a site, 4 rounds of 3 local epochs, OMP_NUM_THREADS=2
// (tests/CMakeLists.txt); 3.6 to 16 min measured on two cores shared at load average 5-9,
// most of it the 2.5D net's training. The thresholds come from runs over several seeds with a
// margin (docs/benchmarks.md, "Federated segmentation with a held-out site"); an untrained
// model (learning rate ~0) misses them. The full-size figures are the bench's
// (bench/bench_federated_segmentation.cc).
//
// SCANCOV_ACCURACY_SEED=<n> replaces the study seed, to re-measure the spread behind the
// thresholds; the test as run by CTest always uses kSeed.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "models/ct/evaluation.h"
#include "protocol/wire/segmentation.h"
#include "tests/segmentation_federation.h"

namespace scancov {
namespace {

using testing_seg::EnsembleMember;
using testing_seg::PhantomSite;
using testing_seg::SegStudyOptions;

constexpr uint64_t kSeed = 11;
constexpr int kInPlane = 48;

// Thresholds: the measured spread over seeds (docs/benchmarks.md, "Federated segmentation with a
// held-out site") with a margin. At this size and budget the networks learn consolidation (the
// densest class) and the lesion / healthy boundary, not yet GGO and crazy paving (their median
// |RVE| stays near 1, i.e. barely predicted): those two are printed, not asserted; the full-size
// bench measures them.
constexpr double kMinLesionF1 = 0.55;
constexpr double kMaxConsolidationRve = 0.25;
constexpr double kEnsembleSlack = 0.02;

uint64_t StudySeed() {
  const char* env = std::getenv("SCANCOV_ACCURACY_SEED");
  return env != nullptr && *env ? std::strtoull(env, nullptr, 10) : kSeed;
}

SegStudyOptions LesionStudy(const std::string& model, const std::string& config, int batch_size) {
  SegStudyOptions o;
  o.target = "lesions";
  o.model = model;
  o.model_config = config;
  o.rounds = 4;
  o.local_epochs = 3;
  o.batch_size = batch_size;
  o.validation_fraction = 0;  // every series of a training site trains
  o.learning_rate = 1e-2;
  o.seed = StudySeed();
  o.in_plane = kInPlane;
  o.augment = wire::SegmentationAugment::kNone;
  o.device = "cpu";
  o.threads = 1;
  o.min_cell_count = 1;  // a few series per site (what a larger minimum withholds: issue 12)
  return o;
}

std::string Describe(const std::string& name, const ct::SetEvaluation& e) {
  return absl::StrFormat(
      "%-8s lesion F1 %.4f, median |RVE| GGO %.3f / crazy paving %.3f / "
      "consolidation %.3f",
      name, e.lesion_f1_micro, e.median_abs_relative_volume_error[2],
      e.median_abs_relative_volume_error[3], e.median_abs_relative_volume_error[4]);
}

TEST(LesionEnsembleAccuracyTest, FederatedEnsembleMeetsTheHeldOutSiteThresholds) {
  // Two training scanners and a third for the held-out site, as the bench (smaller matrices).
  PhantomSite kb({1, 4, kInPlane, 400.0, 8.0});
  PhantomSite igr({2, 4, kInPlane, 430.0, 10.0});
  PhantomSite heldout({3, 4, kInPlane, 410.0, 9.0});
  ASSERT_EQ(heldout.series().size(), 4u);

  const struct {
    const char* model;
    const char* config;
    int batch_size;
  } nets[] = {
      {"unet25d", R"({"depth": 3, "base_channels": 8})", 4},
      {"unet3d", R"({"depth": 3, "base_channels": 8, "patch": [8, 24, 24]})", 4},
  };
  std::vector<EnsembleMember> members;
  std::vector<ct::SetEvaluation> alone;
  for (const auto& net : nets) {
    const SegStudyOptions options = LesionStudy(net.model, net.config, net.batch_size);
    absl::StatusOr<testing_seg::SegStudyResult> run =
        testing_seg::RunSegmentationStudy(options, {&kb, &igr, &heldout});
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->status.state(), v1::STUDY_STATE_DONE)
        << net.model << ": " << run->status.message();
    members.push_back({net.model, net.config, run->weights});
    absl::StatusOr<ct::SetEvaluation> e =
        testing_seg::EvaluateLesionEnsemble({members.back()}, heldout.series(), kInPlane);
    ASSERT_TRUE(e.ok()) << e.status();
    // One member evaluated here is that model evaluated by the held-out site in the study's
    // final round: the same series, fitting, argmax and metrics.
    EXPECT_EQ(e->lesion_f1_micro, testing_seg::HeldOutMetric(run->status, wire::kSegLesionF1))
        << net.model;
    EXPECT_EQ(e->median_abs_relative_volume_error[2],
              testing_seg::HeldOutMetric(run->status, wire::SegLesionRveMetric(2)))
        << net.model;
    alone.push_back(*std::move(e));
  }
  absl::StatusOr<ct::SetEvaluation> ensemble =
      testing_seg::EvaluateLesionEnsemble(members, heldout.series(), kInPlane);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();

  std::cout << "seed " << StudySeed() << "\n"
            << Describe(nets[0].model, alone[0]) << "\n"
            << Describe(nets[1].model, alone[1]) << "\n"
            << Describe("ensemble", *ensemble) << std::endl;

  EXPECT_GE(ensemble->lesion_f1_micro, kMinLesionF1);
  EXPECT_LE(ensemble->median_abs_relative_volume_error[4], kMaxConsolidationRve);
  // Averaging the probabilities does not lose to the weaker network (beyond kEnsembleSlack: at
  // this size both networks have mostly learned the same class, and the mean of two similar maps
  // can land just below either; seed 12 measured -0.007).
  EXPECT_GE(ensemble->lesion_f1_micro,
            std::min(alone[0].lesion_f1_micro, alone[1].lesion_f1_micro) - kEnsembleSlack);
}

}  // namespace
}  // namespace scancov
