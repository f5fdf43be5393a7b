// Axis-aligned boxes on a Volume grid, and cropping to them, so per-structure work (one lung's
// closing, a fused component's split) runs on its bounding box instead of the whole scan.
#ifndef SCANCOV_MODELS_CT_VOLUME_BOX_H_
#define SCANCOV_MODELS_CT_VOLUME_BOX_H_

#include <algorithm>
#include <functional>

#include "core/volume.h"

namespace scancov::ct {

// Voxels [i0, i1) x [j0, j1) x [k0, k1); empty when any upper bound <= lower bound.
struct Box {
  int i0 = 0, i1 = 0, j0 = 0, j1 = 0, k0 = 0, k1 = 0;
  bool empty() const { return i1 <= i0 || j1 <= j0 || k1 <= k0; }
  int nx() const { return i1 - i0; }
  int ny() const { return j1 - j0; }
  int nz() const { return k1 - k0; }
};

// Bounding box of the voxels for which pred(value) holds (empty box when none).
template <typename T>
Box BoundingBox(const Volume<T>& v, const std::function<bool(T)>& pred) {
  Box b{v.nx, -1, v.ny, -1, v.nz, -1};
  for (int k = 0; k < v.nz; ++k) {
    for (int j = 0; j < v.ny; ++j) {
      for (int i = 0; i < v.nx; ++i) {
        if (!pred(v.at(k, j, i))) continue;
        b.i0 = std::min(b.i0, i);
        b.i1 = std::max(b.i1, i);
        b.j0 = std::min(b.j0, j);
        b.j1 = std::max(b.j1, j);
        b.k0 = std::min(b.k0, k);
        b.k1 = std::max(b.k1, k);
      }
    }
  }
  if (b.i1 < 0) return Box{};
  ++b.i1;
  ++b.j1;
  ++b.k1;
  return b;
}

// The box grown by `margin` voxels per side (per axis: column, row, slice), clipped to the grid.
template <typename T>
Box Expand(const Box& b, int mi, int mj, int mk, const Volume<T>& grid) {
  return Box{std::max(0, b.i0 - mi), std::min(grid.nx, b.i1 + mi),
             std::max(0, b.j0 - mj), std::min(grid.ny, b.j1 + mj),
             std::max(0, b.k0 - mk), std::min(grid.nz, b.k1 + mk)};
}

// The voxels of box `b`, placed where they were (origin: the centre of the box's first voxel).
template <typename T>
Volume<T> Crop(const Volume<T>& v, const Box& b) {
  Volume<T> out(b.nx(), b.ny(), b.nz(), v.spacing);
  out.PlaceLike(v);
  out.origin = v.PointAt(b.k0, b.j0, b.i0);
  for (int k = 0; k < out.nz; ++k) {
    for (int j = 0; j < out.ny; ++j) {
      const T* src = &v.at(b.k0 + k, b.j0 + j, b.i0);
      std::copy(src, src + out.nx, &out.at(k, j, 0));
    }
  }
  return out;
}

// Calls fn(cropped_index, full_index) for every voxel of the box.
template <typename T, typename Fn>
void ForEachInBox(const Volume<T>& full, const Box& b, Fn fn) {
  size_t c = 0;
  for (int k = b.k0; k < b.k1; ++k) {
    for (int j = b.j0; j < b.j1; ++j) {
      size_t f = full.Index(k, j, b.i0);
      for (int i = b.i0; i < b.i1; ++i, ++c, ++f) fn(c, f);
    }
  }
}

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_VOLUME_BOX_H_
