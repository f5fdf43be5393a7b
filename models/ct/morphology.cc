#include "models/ct/morphology.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "models/ct/parallel.h"

namespace scancov::ct {
namespace {

constexpr float kInf = 1e30f;

// One pass of the squared Euclidean distance transform along a line of n samples `step` apart
// in `data` with spacing `s` mm: data[q] <- min_p (s * (q - p))^2 + data[p]. Scratch buffers
// are reused across lines.
struct LinePass {
  std::vector<float> f;
  std::vector<int> v;
  std::vector<float> z;

  void Run(float* data, int n, size_t step, double s) {
    f.resize(n);
    v.resize(n);
    z.resize(n + 1);
    for (int q = 0; q < n; ++q) f[q] = data[q * step];
    const double s2 = s * s;
    int k = -1;
    for (int q = 0; q < n; ++q) {
      if (f[q] >= kInf) continue;
      // Intersection of the parabola from q with the rightmost one in the envelope.
      while (k >= 0) {
        const int p = v[k];
        const double x =
            ((f[q] + s2 * q * q) - (f[p] + s2 * static_cast<double>(p) * p)) / (2 * s2 * (q - p));
        if (x <= z[k]) {
          --k;
        } else {
          z[k + 1] = static_cast<float>(x);
          break;
        }
      }
      ++k;
      v[k] = q;
      if (k == 0) z[0] = -kInf;
      z[k + 1] = kInf;
    }
    if (k < 0) return;  // no finite sample: the line stays at infinity
    int j = 0;
    for (int q = 0; q < n; ++q) {
      while (z[j + 1] < q) ++j;
      const double d = q - v[j];
      data[q * step] = static_cast<float>(s2 * d * d + f[v[j]]);
    }
  }
};

}  // namespace

Volume<float> SquaredDistanceToMask(const LabelVolume& mask, bool in_plane, int threads) {
  Volume<float> d(mask.nx, mask.ny, mask.nz, mask.spacing);
  for (size_t v = 0; v < mask.voxels.size(); ++v) d.voxels[v] = mask.voxels[v] ? 0.0f : kInf;
  const size_t plane = static_cast<size_t>(mask.nx) * mask.ny;
  ParallelFor(0, mask.nz, threads, [&](int k0, int k1) {
    LinePass pass;
    for (int k = k0; k < k1; ++k) {
      float* slice = d.voxels.data() + k * plane;
      for (int j = 0; j < mask.ny; ++j) pass.Run(slice + j * mask.nx, mask.nx, 1, mask.spacing[0]);
      for (int i = 0; i < mask.nx; ++i) pass.Run(slice + i, mask.ny, mask.nx, mask.spacing[1]);
    }
  });
  if (!in_plane && mask.nz > 1) {
    ParallelFor(0, mask.ny, threads, [&](int j0, int j1) {
      LinePass pass;
      for (int j = j0; j < j1; ++j) {
        for (int i = 0; i < mask.nx; ++i) {
          pass.Run(d.voxels.data() + j * mask.nx + i, mask.nz, plane, mask.spacing[2]);
        }
      }
    });
  }
  return d;
}

LabelVolume Dilate(const LabelVolume& mask, double radius_mm, bool in_plane, int threads) {
  const Volume<float> d = SquaredDistanceToMask(mask, in_plane, threads);
  LabelVolume out(mask.nx, mask.ny, mask.nz, mask.spacing);
  const float r2 = static_cast<float>(radius_mm * radius_mm);
  for (size_t v = 0; v < out.voxels.size(); ++v) out.voxels[v] = d.voxels[v] <= r2 ? 1 : 0;
  return out;
}

LabelVolume Erode(const LabelVolume& mask, double radius_mm, bool in_plane, int threads) {
  LabelVolume background(mask.nx, mask.ny, mask.nz, mask.spacing);
  for (size_t v = 0; v < mask.voxels.size(); ++v) background.voxels[v] = mask.voxels[v] ? 0 : 1;
  const Volume<float> d = SquaredDistanceToMask(background, in_plane, threads);
  LabelVolume out(mask.nx, mask.ny, mask.nz, mask.spacing);
  const float r2 = static_cast<float>(radius_mm * radius_mm);
  for (size_t v = 0; v < out.voxels.size(); ++v) {
    out.voxels[v] = mask.voxels[v] && d.voxels[v] > r2 ? 1 : 0;
  }
  return out;
}

LabelVolume Close(const LabelVolume& mask, double radius_mm, bool in_plane, int threads) {
  return Erode(Dilate(mask, radius_mm, in_plane, threads), radius_mm, in_plane, threads);
}

void FillHolesInSlices(LabelVolume& mask, int threads) {
  const int nx = mask.nx, ny = mask.ny;
  const size_t plane = static_cast<size_t>(nx) * ny;
  ParallelFor(0, mask.nz, threads, [&](int k0, int k1) {
    std::vector<uint8_t> outside(plane);
    std::vector<int> stack;
    for (int k = k0; k < k1; ++k) {
      uint8_t* s = mask.voxels.data() + k * plane;
      std::fill(outside.begin(), outside.end(), 0);
      stack.clear();
      auto push = [&](int idx) {
        if (!s[idx] && !outside[idx]) {
          outside[idx] = 1;
          stack.push_back(idx);
        }
      };
      for (int i = 0; i < nx; ++i) {
        push(i);
        push((ny - 1) * nx + i);
      }
      for (int j = 0; j < ny; ++j) {
        push(j * nx);
        push(j * nx + nx - 1);
      }
      while (!stack.empty()) {
        const int idx = stack.back();
        stack.pop_back();
        const int i = idx % nx, j = idx / nx;
        if (i > 0) push(idx - 1);
        if (i + 1 < nx) push(idx + 1);
        if (j > 0) push(idx - nx);
        if (j + 1 < ny) push(idx + nx);
      }
      for (size_t v = 0; v < plane; ++v) s[v] = outside[v] ? 0 : 1;
    }
  });
}

}  // namespace scancov::ct
