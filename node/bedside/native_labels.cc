// NativeLabels: LibTorch-free, so it is built (and tested) with or without the learned models.
#include <algorithm>
#include <cmath>

#include "models/ct/preprocessing.h"
#include "node/bedside/learned_segmentation.h"

namespace scancov::node {
namespace {

// For each native index along one axis, the index in the fitted crop (-1: outside it). The
// inverse of FitInPlane along that axis: ResampleLabels picks, for resampled index o, the
// native index round(o * f / s); here each native index n picks the resampled index
// round(n * s / f), then the centre crop/pad offset (n_resampled - size) / 2 is removed.
std::vector<int> AxisToFitted(int n, double s, double f, int size) {
  const int n_resampled = ct::ResampledSize(n, s, f);
  const int offset = (n_resampled - size) / 2;
  std::vector<int> map(n, -1);
  for (int i = 0; i < n; ++i) {
    const int r = std::clamp(static_cast<int>(std::lround(i * s / f)), 0, n_resampled - 1);
    const int c = r - offset;
    if (c >= 0 && c < size) map[i] = c;
  }
  return map;
}

}  // namespace

LabelVolume NativeLabels(const LabelVolume& fitted, int nx, int ny,
                         const std::array<double, 3>& spacing) {
  LabelVolume out(nx, ny, fitted.nz, spacing, 0);
  const int size = fitted.nx;
  const double fov = std::max(nx * spacing[0], ny * spacing[1]);
  const double f = fov / size;
  const std::vector<int> mx = AxisToFitted(nx, spacing[0], f, size);
  const std::vector<int> my = AxisToFitted(ny, spacing[1], f, size);
  for (int k = 0; k < fitted.nz; ++k) {
    for (int j = 0; j < ny; ++j) {
      if (my[j] < 0) continue;
      for (int i = 0; i < nx; ++i) {
        if (mx[i] >= 0) out.at(k, j, i) = fitted.at(k, my[j], mx[i]);
      }
    }
  }
  return out;
}

}  // namespace scancov::node
