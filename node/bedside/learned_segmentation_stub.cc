// The learned path in a build without LibTorch (SCANCOV_WITH_TORCH=OFF): refused by name.
#include "node/bedside/learned_segmentation.h"

namespace scancov::node {
namespace {

absl::Status NoTorch() {
  return absl::UnimplementedError(
      "learned models: this build has no LibTorch (SCANCOV_WITH_TORCH=OFF); omit the model "
      "checkpoints to use the model-free lung mask and HU-interval lesions");
}

}  // namespace

bool LearnedSegmentationAvailable() { return false; }

absl::StatusOr<std::string> LearnedPrecision(const LearnedOptions&) { return NoTorch(); }

absl::StatusOr<LabelVolume> PredictLungLabels(const std::string&, const HuVolume&,
                                              const LearnedOptions&) {
  return NoTorch();
}

absl::StatusOr<LabelVolume> PredictLesionLabels(const std::vector<std::string>&, const HuVolume&,
                                                const LabelVolume&, const LearnedOptions&) {
  return NoTorch();
}

}  // namespace scancov::node
