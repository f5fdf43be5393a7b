#include "models/ct/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scancov::ct {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Whether lesion type `c` (2..4) occupies more than `threshold` of the lung in one map.
bool Present(const std::array<int64_t, 5>& counts, int c, double threshold) {
  return counts[0] > 0 && static_cast<double>(counts[c]) / counts[0] > threshold;
}

}  // namespace

double BinaryCounts::F1() const {
  const int64_t d = 2 * tp + fp + fn;
  return d == 0 ? 1.0 : 2.0 * tp / d;
}

BinaryCounts& BinaryCounts::operator+=(const BinaryCounts& o) {
  tp += o.tp;
  fp += o.fp;
  fn += o.fn;
  tn += o.tn;
  return *this;
}

absl::StatusOr<ScanEvaluation> EvaluateScan(const LabelVolume& predicted,
                                            const LabelVolume& reference) {
  if (!predicted.SameGrid(reference) || predicted.voxels.size() != predicted.size() ||
      reference.voxels.size() != reference.size()) {
    return absl::InvalidArgumentError("evaluation: predicted and reference are on different grids");
  }
  ScanEvaluation e;
  e.voxels = static_cast<int64_t>(predicted.voxels.size());
  for (size_t v = 0; v < predicted.voxels.size(); ++v) {
    const uint8_t p = predicted.voxels[v], r = reference.voxels[v];
    if (p > 4 || r > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("evaluation: voxel ", v, " has label ", std::max(p, r), " (expected 0-4)"));
    }
    const bool pl = p >= 1, rl = r >= 1;
    e.lung_agreement += pl == rl;
    e.predicted_voxels[0] += pl;
    e.reference_voxels[0] += rl;
    e.overlap_voxels[0] += pl && rl;
    if (p >= 1) ++e.predicted_voxels[p];
    if (r >= 1) ++e.reference_voxels[r];
    if (p >= 1 && p == r) ++e.overlap_voxels[p];
    if (rl) {
      const bool pred_lesion = p >= 2, ref_lesion = r >= 2;
      BinaryCounts& c = e.lesion_vs_healthy;
      c.tp += pred_lesion && ref_lesion;
      c.fp += pred_lesion && !ref_lesion;
      c.fn += !pred_lesion && ref_lesion;
      c.tn += !pred_lesion && !ref_lesion;
    }
  }
  e.lung_accuracy = e.voxels ? static_cast<double>(e.lung_agreement) / e.voxels : 1.0;
  e.lesion_f1 = e.lesion_vs_healthy.F1();
  for (int c = 0; c < 5; ++c) {
    const int64_t sum = e.predicted_voxels[c] + e.reference_voxels[c];
    e.dice[c] = sum == 0 ? 1.0 : 2.0 * e.overlap_voxels[c] / sum;
    e.relative_volume_error[c] =
        e.reference_voxels[c] == 0
            ? kNaN
            : static_cast<double>(e.predicted_voxels[c] - e.reference_voxels[c]) /
                  e.reference_voxels[c];
  }
  return e;
}

PresenceEvaluation EvaluatePresence(const std::vector<ScanEvaluation>& scans, double threshold) {
  PresenceEvaluation out;
  out.threshold = threshold;
  BinaryCounts pooled;
  for (int t = 0; t < 3; ++t) {
    const int c = 2 + t;  // GGO, crazy paving, consolidation
    BinaryCounts& b = out.per_type[t];
    for (const ScanEvaluation& s : scans) {
      const bool p = Present(s.predicted_voxels, c, threshold);
      const bool r = Present(s.reference_voxels, c, threshold);
      b.tp += p && r;
      b.fp += p && !r;
      b.fn += !p && r;
      b.tn += !p && !r;
    }
    out.f1[t] = b.F1();
    pooled += b;
  }
  out.micro_f1 = pooled.F1();
  return out;
}

absl::StatusOr<SetEvaluation> SummariseScans(std::vector<ScanEvaluation> scans) {
  if (scans.empty()) return absl::InvalidArgumentError("evaluation: no scan to summarise");
  SetEvaluation s;
  int64_t voxels = 0, agree = 0;
  BinaryCounts lesion;
  std::array<std::vector<double>, 5> errors;
  for (const ScanEvaluation& e : scans) {
    voxels += e.voxels;
    agree += e.lung_agreement;
    lesion += e.lesion_vs_healthy;
    s.lung_accuracy_macro += e.lung_accuracy / scans.size();
    s.lesion_f1_macro += e.lesion_f1 / scans.size();
    for (int c = 0; c < 5; ++c) {
      if (!std::isnan(e.relative_volume_error[c])) {
        errors[c].push_back(std::abs(e.relative_volume_error[c]));
      }
    }
  }
  s.lung_accuracy_micro = voxels ? static_cast<double>(agree) / voxels : 1.0;
  s.lesion_f1_micro = lesion.F1();
  for (int c = 0; c < 5; ++c) s.median_abs_relative_volume_error[c] = Median(errors[c]);
  s.presence_1pct = EvaluatePresence(scans, 0.01);
  s.presence_2pct = EvaluatePresence(scans, 0.02);
  s.scans = std::move(scans);
  return s;
}

}  // namespace scancov::ct
