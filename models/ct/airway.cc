#include "models/ct/airway.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/ct/connected_components.h"
#include "models/ct/morphology.h"

namespace scancov::ct {
namespace {

struct SliceBlob {
  std::vector<int> pixels;  // in-slice indices
  double area_mm2 = 0;
  double mean_hu = 0;
  double centre_i = 0;
  int i0 = 0, i1 = 0, j0 = 0, j1 = 0;
};

// The trachea candidates of slice k (see the header for the tests).
std::vector<SliceBlob> TracheaCandidates(const HuVolume& hu, const LabelVolume& air,
                                         const LabelVolume& body, int k, const AirwayOptions& o) {
  const int nx = hu.nx, ny = hu.ny;
  const size_t plane = static_cast<size_t>(nx) * ny;
  const uint8_t* a = air.voxels.data() + k * plane;
  int body_i0 = nx, body_i1 = -1;
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      if (body.voxels[k * plane + j * nx + i]) {
        body_i0 = std::min(body_i0, i);
        body_i1 = std::max(body_i1, i);
      }
    }
  }
  if (body_i1 < body_i0) return {};
  const Components cc = LabelComponents(a, nx, ny, 1, Connectivity::kFace);
  std::vector<SliceBlob> blobs(cc.count + 1);
  for (SliceBlob& b : blobs) {
    b.i0 = nx;
    b.j0 = ny;
    b.i1 = b.j1 = -1;
  }
  for (size_t v = 0; v < plane; ++v) {
    const int l = cc.labels[v];
    if (l == 0) continue;
    SliceBlob& b = blobs[l];
    const int i = static_cast<int>(v % nx), j = static_cast<int>(v / nx);
    b.pixels.push_back(static_cast<int>(v));
    b.mean_hu += hu.voxels[k * plane + v];
    b.centre_i += i;
    b.i0 = std::min(b.i0, i);
    b.i1 = std::max(b.i1, i);
    b.j0 = std::min(b.j0, j);
    b.j1 = std::max(b.j1, j);
  }
  const double pixel_mm2 = hu.spacing[0] * hu.spacing[1];
  const double body_centre = 0.5 * (body_i0 + body_i1);
  const double half_band = 0.5 * o.seed_central_fraction * (body_i1 - body_i0 + 1);
  std::vector<SliceBlob> out;
  for (int l = 1; l <= cc.count; ++l) {
    SliceBlob& b = blobs[l];
    const double n = static_cast<double>(b.pixels.size());
    b.area_mm2 = n * pixel_mm2;
    b.mean_hu /= n;
    b.centre_i /= n;
    const double w = (b.i1 - b.i0 + 1) * hu.spacing[0], h = (b.j1 - b.j0 + 1) * hu.spacing[1];
    const bool round = b.area_mm2 >= 0.5 * w * h && std::max(w, h) <= 2 * std::min(w, h);
    if (b.area_mm2 >= o.seed_min_area_mm2 && b.area_mm2 <= o.seed_max_area_mm2 && round &&
        b.mean_hu <= o.seed_max_mean_hu && std::abs(b.centre_i - body_centre) <= half_band) {
      out.push_back(std::move(b));
    }
  }
  return out;
}

// 6-connected growth from `seeds` through air voxels with HU < threshold. Returns false (and a
// partial mask) as soon as more than `max_voxels` are reached.
bool Grow(const HuVolume& hu, const LabelVolume& air, const std::vector<size_t>& seeds,
          int threshold, int64_t max_voxels, LabelVolume& mask) {
  std::fill(mask.voxels.begin(), mask.voxels.end(), 0);
  const int nx = hu.nx, ny = hu.ny, nz = hu.nz;
  const size_t plane = static_cast<size_t>(nx) * ny;
  std::vector<size_t> stack;
  int64_t count = 0;
  auto push = [&](size_t v) {
    if (mask.voxels[v] || !air.voxels[v] || hu.voxels[v] >= threshold) return;
    mask.voxels[v] = 1;
    ++count;
    stack.push_back(v);
  };
  for (size_t s : seeds) push(s);
  while (!stack.empty()) {
    if (count > max_voxels) return false;
    const size_t v = stack.back();
    stack.pop_back();
    const int i = static_cast<int>(v % nx);
    const int j = static_cast<int>((v / nx) % ny);
    const int k = static_cast<int>(v / plane);
    if (i > 0) push(v - 1);
    if (i + 1 < nx) push(v + 1);
    if (j > 0) push(v - nx);
    if (j + 1 < ny) push(v + nx);
    if (k > 0) push(v - plane);
    if (k + 1 < nz) push(v + plane);
  }
  return count > 0;
}

}  // namespace

AirwayResult SegmentAirways(const HuVolume& hu, const LabelVolume& inside_air,
                            const LabelVolume& body, const AirwayOptions& o) {
  AirwayResult r;
  r.mask = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  const size_t plane = static_cast<size_t>(hu.nx) * hu.ny;
  const int last_search =
      std::max(0, hu.nz - std::max(1, static_cast<int>(std::ceil(o.seed_search_fraction * hu.nz))));
  std::vector<size_t> seeds;
  for (int k = hu.nz - 1; k >= last_search && seeds.empty(); --k) {
    std::vector<SliceBlob> blobs = TracheaCandidates(hu, inside_air, body, k, o);
    if (blobs.empty()) continue;
    const SliceBlob& best = *std::max_element(
        blobs.begin(), blobs.end(),
        [](const SliceBlob& x, const SliceBlob& y) { return x.area_mm2 < y.area_mm2; });
    for (int p : best.pixels) seeds.push_back(k * plane + p);
    r.seed_slice = k;
  }
  if (seeds.empty()) {
    r.note = "airways: no trachea-like air in the upper slices";
    return r;
  }
  const int64_t max_voxels = static_cast<int64_t>(o.max_volume_ml * 1000.0 / hu.VoxelVolumeMm3());
  for (int t = o.grow_start_hu; t >= o.grow_min_hu; t -= std::max(1, o.grow_step_hu)) {
    if (Grow(hu, inside_air, seeds, t, max_voxels, r.mask)) {
      r.found = true;
      r.threshold_hu = t;
      break;
    }
  }
  if (!r.found) {
    std::fill(r.mask.voxels.begin(), r.mask.voxels.end(), 0);
    r.note = absl::StrCat("airways: region growing leaked above ", o.max_volume_ml, " mL down to ",
                          o.grow_min_hu, " HU; airways kept");
    return r;
  }
  // The partial-volume rim of the lumen: one voxel in-plane, within the air.
  const double rim = 1.01 * std::max(hu.spacing[0], hu.spacing[1]);
  LabelVolume grown = Dilate(r.mask, rim, /*in_plane=*/true, o.threads);
  int64_t n = 0;
  for (size_t v = 0; v < grown.voxels.size(); ++v) {
    r.mask.voxels[v] = grown.voxels[v] && inside_air.voxels[v] ? 1 : 0;
    n += r.mask.voxels[v];
  }
  r.volume_ml = n * hu.VoxelVolumeMm3() / 1000.0;
  return r;
}

}  // namespace scancov::ct
