#include "models/nn/seg_probabilities.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace scancov::nn {
namespace {

absl::Status CheckConsistent(const SegProbabilities& p, absl::string_view where) {
  if (p.num_classes < 1 || p.nx < 1 || p.ny < 1 || p.nz < 1 ||
      p.values.size() != p.VoxelCount() * static_cast<size_t>(p.num_classes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": inconsistent probabilities (", p.num_classes, " classes on ", p.nx,
                     "x", p.ny, "x", p.nz, " voxels, ", p.values.size(), " values)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SegProbabilities> EnsembleAverage(const std::vector<SegProbabilities>& members) {
  if (members.empty()) return absl::InvalidArgumentError("EnsembleAverage: no members");
  for (size_t m = 0; m < members.size(); ++m) {
    absl::Status ok = CheckConsistent(members[m], absl::StrCat("EnsembleAverage: member ", m));
    if (!ok.ok()) return ok;
    if (!members[m].SameLayout(members[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat("EnsembleAverage: member ", m, " differs from member 0 in classes or grid"));
    }
  }
  SegProbabilities mean = members[0];
  const double scale = 1.0 / static_cast<double>(members.size());
  for (size_t v = 0; v < mean.values.size(); ++v) {
    double sum = 0.0;
    for (const SegProbabilities& member : members) sum += member.values[v];
    mean.values[v] = static_cast<float>(sum * scale);
  }
  return mean;
}

absl::StatusOr<LabelVolume> ArgmaxLabels(const SegProbabilities& p, const LabelVolume* lung_mask) {
  absl::Status ok = CheckConsistent(p, "ArgmaxLabels");
  if (!ok.ok()) return ok;
  if (p.num_classes > 255) {
    return absl::InvalidArgumentError("ArgmaxLabels: more than 255 classes");
  }
  LabelVolume labels(p.nx, p.ny, p.nz, p.spacing, 0);
  if (lung_mask != nullptr &&
      (!lung_mask->SameGrid(labels) || lung_mask->voxels.size() != labels.size())) {
    return absl::InvalidArgumentError("ArgmaxLabels: the lung mask is on another grid");
  }
  const size_t voxels = p.VoxelCount();
  for (size_t v = 0; v < voxels; ++v) {
    int first = 0;
    if (lung_mask != nullptr) {
      if (lung_mask->voxels[v] == 0) continue;  // outside the lungs: background
      first = p.num_classes > 1 ? 1 : 0;
    }
    int best = first;
    float best_p = p.values[static_cast<size_t>(first) * voxels + v];
    for (int c = first + 1; c < p.num_classes; ++c) {
      const float value = p.values[static_cast<size_t>(c) * voxels + v];
      if (value > best_p) {
        best = c;
        best_p = value;
      }
    }
    labels.voxels[v] = static_cast<uint8_t>(best);
  }
  return labels;
}

}  // namespace scancov::nn
