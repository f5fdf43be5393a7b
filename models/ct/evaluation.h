// The seed's evaluation of a lesion segmentation against a reference (AI-segment, Lassau et al.
// 2021): both are lesion label maps (0 background, 1 healthy lung, 2 GGO, 3 crazy paving,
// 4 consolidation; lesion_quantification.h), "lung" being any label >= 1.
//
// Per scan:
//   - lung vs background accuracy: share of all voxels where both agree on lung / not lung;
//   - lesion vs healthy: confusion counts over the voxels that are lung in the reference
//     (lesion = 2..4 is positive, healthy = 1 negative; a predicted background there counts as
//     healthy, i.e. not lesion), and its F1 = 2TP / (2TP + FP + FN);
//   - Dice per class c in 0..4 (index 0 is lung vs background): 2|P_c n R_c| / (|P_c| + |R_c|),
//     1 when both are empty;
//   - relative volume error per class: (|P_c| - |R_c|) / |R_c|, NaN when the reference has none.
// Over a set of scans:
//   - lung accuracy and lesion F1 "micro": voxel counts pooled over the scans, then the ratio
//     (the seed's micro-averaged F1); "macro": the mean of the per-scan values;
//   - median absolute relative volume error per class over the scans where it is defined;
//   - presence detection at a threshold x (the seed uses 1% and 2%): a lesion type is present in
//     a scan when it occupies more than x of the lung (strictly, on each map's own lung), and
//     F1 per type (GGO, crazy paving, consolidation) and pooled over the three types (micro).
//     An F1 with no positive in either map is 1.
#ifndef SCANCOV_MODELS_CT_EVALUATION_H_
#define SCANCOV_MODELS_CT_EVALUATION_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

struct BinaryCounts {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  // 2TP / (2TP + FP + FN); 1 when there is no positive in either map.
  double F1() const;
  BinaryCounts& operator+=(const BinaryCounts& o);
};

struct ScanEvaluation {
  int64_t voxels = 0;
  int64_t lung_agreement = 0;  // voxels where lung / not lung agree
  double lung_accuracy = 0;
  BinaryCounts lesion_vs_healthy;
  double lesion_f1 = 0;
  std::array<int64_t, 5> predicted_voxels{};  // per class; [0] = lung (labels >= 1)
  std::array<int64_t, 5> reference_voxels{};
  std::array<int64_t, 5> overlap_voxels{};
  std::array<double, 5> dice{};
  std::array<double, 5> relative_volume_error{};  // signed; NaN when the reference is empty
};

struct PresenceEvaluation {
  double threshold = 0;                    // fraction of the lung, e.g. 0.01
  std::array<BinaryCounts, 3> per_type{};  // GGO, crazy paving, consolidation
  std::array<double, 3> f1{};
  double micro_f1 = 0;  // counts pooled over the three types
};

struct SetEvaluation {
  std::vector<ScanEvaluation> scans;
  double lung_accuracy_micro = 0;
  double lung_accuracy_macro = 0;
  double lesion_f1_micro = 0;
  double lesion_f1_macro = 0;
  std::array<double, 5> median_abs_relative_volume_error{};  // NaN where never defined
  PresenceEvaluation presence_1pct;
  PresenceEvaluation presence_2pct;
};

// Fails with InvalidArgument when the grids differ or a label is above 4.
absl::StatusOr<ScanEvaluation> EvaluateScan(const LabelVolume& predicted,
                                            const LabelVolume& reference);

// Presence detection at `threshold` over scans already evaluated.
PresenceEvaluation EvaluatePresence(const std::vector<ScanEvaluation>& scans, double threshold);

// Aggregates per-scan evaluations (see the header comment). Fails on an empty set.
absl::StatusOr<SetEvaluation> SummariseScans(std::vector<ScanEvaluation> scans);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_EVALUATION_H_
