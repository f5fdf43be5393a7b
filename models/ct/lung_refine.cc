#include "models/ct/lung_refine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/ct/morphology.h"
#include "models/ct/parallel.h"

namespace scancov::ct {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Polar {
  int bin;
  double radius;
};

// Fills the costal bays of one slice of the cropped lung (see the header).
class CostalFiller {
 public:
  CostalFiller(const RefineOptions& o, double dx, double dy) : o_(o), dx_(dx), dy_(dy) {}

  // `lung`, `allowed` and `hu` are one slice of the crop (nx x ny); (cx, cy) the body centre in
  // crop voxel coordinates. Sets lung pixels to 1 where a bay is filled.
  void Fill(uint8_t* lung, const uint8_t* allowed, const int16_t* hu, int nx, int ny, double cx,
            double cy) {
    double r_max = 0;
    int count = 0;
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        if (!lung[j * nx + i]) continue;
        r_max = std::max(r_max, std::hypot((i - cx) * dx_, (j - cy) * dy_));
        ++count;
      }
    }
    if (count < 10 || r_max <= 0) return;
    const double pixel = std::min(dx_, dy_);
    bins_ = std::clamp(static_cast<int>(std::lround(2 * kPi * r_max / (2 * pixel))), 36, 1440);
    const double bin_deg = 360.0 / bins_;
    const int half =
        std::max(1, static_cast<int>(std::lround(o_.costal_max_gap_deg / 2 / bin_deg)));
    const int rib_half =
        std::max(1, static_cast<int>(std::lround(o_.rib_max_gap_deg / 2 / bin_deg)));
    r_in_.assign(bins_, std::numeric_limits<double>::infinity());
    r_out_.assign(bins_, -1.0);
    rib_.assign(bins_, std::numeric_limits<double>::infinity());
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        if (!lung[j * nx + i]) continue;
        const Polar p = ToPolar(i, j, cx, cy);
        r_in_[p.bin] = std::min(r_in_[p.bin], p.radius);
        r_out_[p.bin] = std::max(r_out_[p.bin], p.radius);
      }
    }
    // Lesion evidence at the lung's outer edge: the mean HU of its outermost two pixels.
    edge_sum_.assign(bins_, 0.0);
    edge_n_.assign(bins_, 0);
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        if (!lung[j * nx + i]) continue;
        const Polar p = ToPolar(i, j, cx, cy);
        if (p.radius >= r_out_[p.bin] - 2 * pixel) {
          edge_sum_[p.bin] += hu[j * nx + i];
          ++edge_n_[p.bin];
        }
      }
    }
    // The inner surface of the rib cage: the nearest bone beyond the lung, per bin.
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        if (hu[j * nx + i] < o_.bone_min_hu) continue;
        const Polar p = ToPolar(i, j, cx, cy);
        if (r_out_[p.bin] >= 0 && p.radius > r_out_[p.bin] &&
            p.radius - r_out_[p.bin] <= o_.max_rim_mm) {
          rib_[p.bin] = std::min(rib_[p.bin], p.radius);
        }
      }
    }
    lo_.assign(bins_, 0.0);
    hi_.assign(bins_, -1.0);
    bool any = false;
    for (int b = 0; b < bins_; ++b) any |= Plan(b, half, rib_half);
    if (!any) return;
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        const int v = j * nx + i;
        if (lung[v] || !allowed[v]) continue;
        const Polar p = ToPolar(i, j, cx, cy);
        if (p.radius > lo_[p.bin] && p.radius <= hi_[p.bin]) lung[v] = 1;
      }
    }
  }

 private:
  Polar ToPolar(int i, int j, double cx, double cy) const {
    const double x = (i - cx) * dx_, y = (j - cy) * dy_;
    double a = std::atan2(y, x);
    if (a < 0) a += 2 * kPi;
    int bin = static_cast<int>(a / (2 * kPi) * bins_);
    if (bin >= bins_) bin = bins_ - 1;
    return {bin, std::hypot(x, y)};
  }

  int Wrap(int b) const { return (b % bins_ + bins_) % bins_; }

  // The best-reaching lung bin within `half` bins on one side of b (dir = -1 or +1), or -1.
  int Reach(int b, int half, int dir, int* offset) const {
    int best = -1;
    for (int s = 1; s <= half; ++s) {
      const int c = Wrap(b + dir * s);
      if (r_out_[c] >= 0 && (best < 0 || r_out_[c] > r_out_[best])) {
        best = c;
        *offset = s;
      }
    }
    return best;
  }

  // The rib radius at bin b: measured, or interpolated between the nearest measured bins within
  // `half` on both sides; infinity when unknown.
  double RibAt(int b, int half) const {
    if (std::isfinite(rib_[b])) return rib_[b];
    int dl = 0, dr = 0;
    for (int s = 1; s <= half && !dl; ++s) dl = std::isfinite(rib_[Wrap(b - s)]) ? s : 0;
    for (int s = 1; s <= half && !dr; ++s) dr = std::isfinite(rib_[Wrap(b + s)]) ? s : 0;
    if (!dl || !dr) return std::numeric_limits<double>::infinity();
    const double f = static_cast<double>(dl) / (dl + dr);
    return rib_[Wrap(b - dl)] + f * (rib_[Wrap(b + dr)] - rib_[Wrap(b - dl)]);
  }

  // Whether the lung's edge in bin b or a neighbour looks like lesion (ground glass, crazy
  // paving: above lesion_edge_hu) rather than the normal parenchyma of a healthy pleural edge.
  bool LesionAtEdge(int b) const {
    for (int s = -2; s <= 2; ++s) {
      const int c = Wrap(b + s);
      if (edge_n_[c] > 0 && edge_sum_[c] / edge_n_[c] > o_.lesion_edge_hu) return true;
    }
    return false;
  }

  // Sets the fill range (lo_, hi_] of bin b; returns whether it is non-empty.
  bool Plan(int b, int half, int rib_half) {
    int dl = 0, dr = 0;
    const int l = Reach(b, half, -1, &dl), r = Reach(b, half, +1, &dr);
    const bool has_lung = r_out_[b] >= 0;
    if (!has_lung && (l < 0 || r < 0)) return false;
    double expect = -1;
    const double rib =
        has_lung && LesionAtEdge(b) ? RibAt(b, rib_half) : std::numeric_limits<double>::infinity();
    if (std::isfinite(rib)) {
      expect = rib - o_.pleural_gap_mm;
    } else if (l >= 0 && r >= 0) {
      const double f = static_cast<double>(dl) / (dl + dr);
      expect = r_out_[l] + f * (r_out_[r] - r_out_[l]);
    }
    if (has_lung) {
      if (expect - r_out_[b] <= o_.costal_min_depth_mm) return false;
      lo_[b] = r_out_[b];
    } else {
      const double f = static_cast<double>(dl) / (dl + dr);
      lo_[b] = r_in_[l] + f * (r_in_[r] - r_in_[l]) - 1e-9;
    }
    hi_[b] = expect;
    return hi_[b] > lo_[b];
  }

  const RefineOptions& o_;
  double dx_, dy_;
  int bins_ = 0;
  std::vector<double> r_in_, r_out_, rib_, lo_, hi_, edge_sum_;
  std::vector<int> edge_n_;
};

}  // namespace

SliceCentres BodyCentres(const LabelVolume& body) {
  SliceCentres c(body.nz, {-1.0, -1.0});
  for (int k = 0; k < body.nz; ++k) {
    double si = 0, sj = 0;
    int64_t n = 0;
    for (int j = 0; j < body.ny; ++j) {
      for (int i = 0; i < body.nx; ++i) {
        if (!body.at(k, j, i)) continue;
        si += i;
        sj += j;
        ++n;
      }
    }
    if (n > 0) c[k] = {si / n, sj / n};
  }
  return c;
}

LabelVolume RefineLung(const HuVolume& hu, const LabelVolume& body, const SliceCentres& centres,
                       const LabelVolume& labels, uint8_t lung_value, const Box& box,
                       const RefineOptions& o) {
  LabelVolume lung(box.nx(), box.ny(), box.nz(), hu.spacing);
  // Where the lung may grow: inside the body, not the other lung, not bone.
  LabelVolume allowed(box.nx(), box.ny(), box.nz(), hu.spacing);
  LabelVolume soft(box.nx(), box.ny(), box.nz(), hu.spacing);
  ForEachInBox(hu, box, [&](size_t c, size_t f) {
    const uint8_t l = labels.voxels[f];
    lung.voxels[c] = l == lung_value ? 1 : 0;
    allowed.voxels[c] =
        body.voxels[f] && (l == 0 || l == lung_value) && hu.voxels[f] < o.max_fill_hu;
    soft.voxels[c] = allowed.voxels[c] && hu.voxels[f] >= o.costal_min_hu;
  });
  FillHolesInSlices(lung, o.threads);
  if (o.closing_radius_mm > 0) {
    const LabelVolume closed = Close(lung, o.closing_radius_mm, /*in_plane=*/false, o.threads);
    for (size_t v = 0; v < lung.voxels.size(); ++v) {
      if (closed.voxels[v] && allowed.voxels[v]) lung.voxels[v] = 1;
    }
  }
  if (o.fill_costal_bays) {
    const HuVolume hu_box = Crop(hu, box);
    const size_t plane = static_cast<size_t>(lung.nx) * lung.ny;
    ParallelFor(0, lung.nz, o.threads, [&](int k0, int k1) {
      CostalFiller filler(o, hu.spacing[0], hu.spacing[1]);
      for (int k = k0; k < k1; ++k) {
        const std::array<double, 2>& c = centres[box.k0 + k];
        if (c[0] < 0) continue;
        filler.Fill(lung.voxels.data() + k * plane, soft.voxels.data() + k * plane,
                    hu_box.voxels.data() + k * plane, lung.nx, lung.ny, c[0] - box.i0,
                    c[1] - box.j0);
      }
    });
  }
  // Holes enclosed by the lung in a slice are lung whatever their HU (contrast-filled vessels,
  // calcified granulomas); bone is never enclosed by one lung within a slice.
  FillHolesInSlices(lung, o.threads);
  return lung;
}

}  // namespace scancov::ct
