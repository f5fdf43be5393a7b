// Federated segmentation on synthetic sites, in one process: labelled CT phantoms per site (each
// site its own scanner), a training study run through the real federation (aggregator/server
// Federation, in-process clients, node agents and task hosts: the same round logic, validation
// and FedAvg as over gRPC), and the seed's evaluation of an ensemble of lesion networks (the
// mean of the members' probabilities, models/nn/seg_probabilities.h) at a held-out site.
//
// Shared by bench/bench_federated_segmentation.cc (issue 5's full-size figures) and
// tests/lesion_ensemble_accuracy_test.cc (issue 16's CI-sized accuracy test); the bench compiles
// it in, as the tests' libraries are not built with SCANCOV_BUILD_TESTS=OFF. No gtest and no
// LibTorch header here.
//
// Thread safety: none; one study at a time per call. Everything is deterministic for a given
// set of options (seeded phantoms, study seed, site split key) on the same CPU and thread count.
#ifndef SCANCOV_TESTS_SEGMENTATION_FEDERATION_H_
#define SCANCOV_TESTS_SEGMENTATION_FEDERATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/ct/evaluation.h"
#include "node/tasks/segmentation_runner.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"
#include "protocol/wire/segmentation.h"

namespace scancov::testing_seg {

// One site's scanner and its cohort of labelled phantoms (random anatomy, noise 10-25 HU,
// lesion extent up to 45% per lung with a random GGO / crazy paving / consolidation mix).
struct PhantomCohort {
  uint64_t seed = 1;  // phantom i is generated with seed * 1000 + i; series keys name the seed
  int series = 16;
  int size = 96;                  // rows = columns (pixels)
  double field_of_view_mm = 400;  // pixel spacing = field_of_view_mm / size
  double slice_mm = 5;            // slice thickness and spacing
  double thorax_mm = 200;         // slices = thorax_mm / slice_mm
};

// A site's labelled series (CT, lung labels, lesion labels) for the segmentation runner.
class PhantomSite : public node::LabelledSeriesSource {
 public:
  // Phantoms the generator refuses are skipped (series() is then shorter than asked).
  explicit PhantomSite(const PhantomCohort& cohort);
  absl::StatusOr<std::vector<node::LabelledSeries>> Load(const std::string& target,
                                                         int max_series) override;
  const std::vector<node::LabelledSeries>& series() const { return series_; }
  // Adds `other`'s series (a site holding two sites' data: the pooled set-up).
  void Absorb(const PhantomSite& other);

 private:
  std::vector<node::LabelledSeries> series_;
};

struct SegStudyOptions {
  std::string target = "lesions";  // "lungs" | "lesions"
  std::string model = "unet25d";
  std::string model_config = R"({"depth": 4, "base_channels": 8})";
  int rounds = 8;
  int local_epochs = 2;
  int batch_size = 8;
  double learning_rate = 5e-3;
  uint64_t seed = 11;  // the study's: initialisation and shuffling
  wire::SegmentationAugment augment = wire::SegmentationAugment::kNone;
  int in_plane = 96;  // network slice size
  double validation_fraction = 0.2;
  bool federated = true;  // kb and igr train; false: kb alone
  std::string device = "auto";
  int threads = 0;          // the nodes' (preprocessing)
  uint64_t split_key = 0;   // every site's (which series a training site validates on)
  int min_cell_count = -1;  // every site's minimum count (< 0: the policy's default)
  // Called once per closed round after round 0, in order (e.g. to print the held-out metrics).
  std::function<void(const v1::RoundStatus&)> on_round;
};

struct SegStudyResult {
  v1::StudyStatus status;       // DONE, or FAILED with its message
  protocol::TensorSet weights;  // the final global model (empty unless DONE)
};

// The sites of a study: kb and igr train (igr only when federated), heldout only evaluates.
struct SegSites {
  node::LabelledSeriesSource* kb = nullptr;
  node::LabelledSeriesSource* igr = nullptr;
  node::LabelledSeriesSource* heldout = nullptr;
};

// Runs one training study (rounds of TRAIN at kb [+ igr], FedAvg, a final EVALUATE everywhere)
// in a fresh in-process federation until it ends. A study that fails is a result (its status
// says why); an error is returned only when the study cannot be created or does not end.
absl::StatusOr<SegStudyResult> RunSegmentationStudy(const SegStudyOptions& options,
                                                    const SegSites& sites);

// The held-out site's metric `name` in the study's final round (NaN when absent).
double HeldOutMetric(const v1::StudyStatus& status, const std::string& name);

struct EnsembleMember {
  std::string model;         // "unet25d" | "unet3d"
  std::string model_config;  // as trained
  protocol::TensorSet weights;
};

// The seed's lesion evaluation (models/ct/evaluation.h) of the ensemble of `members` on
// `series`, as the segmentation runner evaluates one model: each series fitted to in_plane,
// the mean of the members' probabilities, argmax inside the reference lung mask, pooled F1 and
// median |relative volume error| over the scans. One member gives that member's evaluation.
absl::StatusOr<ct::SetEvaluation> EvaluateLesionEnsemble(
    const std::vector<EnsembleMember>& members, const std::vector<node::LabelledSeries>& series,
    int in_plane, const std::string& device = "cpu", int threads = 0);

}  // namespace scancov::testing_seg

#endif  // SCANCOV_TESTS_SEGMENTATION_FEDERATION_H_
