#include "models/ct/preprocessing.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/ct/parallel.h"

namespace scancov::ct {
namespace {

absl::Status CheckVolume(const char* where, int nx, int ny, int nz, size_t n) {
  if (nx <= 0 || ny <= 0 || nz <= 0 || n != static_cast<size_t>(nx) * ny * nz) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": empty or inconsistent volume (", nx,
                                                   "x", ny, "x", nz, ", ", n, " voxels)"));
  }
  return absl::OkStatus();
}

absl::Status CheckWindow(const char* where, const HuWindow& w) {
  if (!(w.high > w.low) || !std::isfinite(w.low) || !std::isfinite(w.high)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": window [", w.low, ", ", w.high, "] must have high > low"));
  }
  return absl::OkStatus();
}

absl::Status CheckSpacing(const char* where, const std::array<double, 3>& s) {
  for (double v : s) {
    if (!(v > 0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": spacing ", s[0], " x ", s[1], " x ", s[2], " must be positive"));
    }
  }
  return absl::OkStatus();
}

// Per output index along one axis: the lower input index and the weight of the upper one.
struct AxisMap {
  std::vector<int> lo;
  std::vector<float> frac;
  std::vector<int> nearest;
};

AxisMap MakeAxisMap(int n_in, double s_in, double s_out) {
  const int n_out = ResampledSize(n_in, s_in, s_out);
  AxisMap m;
  m.lo.resize(n_out);
  m.frac.resize(n_out);
  m.nearest.resize(n_out);
  for (int o = 0; o < n_out; ++o) {
    const double x = std::clamp(o * s_out / s_in, 0.0, static_cast<double>(n_in - 1));
    const int lo = std::min(static_cast<int>(std::floor(x)), std::max(0, n_in - 2));
    m.lo[o] = lo;
    m.frac[o] = n_in > 1 ? static_cast<float>(x - lo) : 0.0f;
    m.nearest[o] = std::clamp(static_cast<int>(std::lround(x)), 0, n_in - 1);
  }
  return m;
}

template <typename Fn>
absl::StatusOr<FloatVolume> MapVoxels(const HuVolume& hu, int threads, Fn fn) {
  FloatVolume out(hu.nx, hu.ny, hu.nz, hu.spacing);
  const size_t plane = static_cast<size_t>(hu.nx) * hu.ny;
  ParallelFor(0, hu.nz, threads, [&](int k0, int k1) {
    for (size_t v = k0 * plane; v < static_cast<size_t>(k1) * plane; ++v) {
      out.voxels[v] = fn(hu.voxels[v]);
    }
  });
  return out;
}

}  // namespace

HuWindow WindowFromWidthLevel(double width, double level) {
  return HuWindow{level - 0.5 * width, level + 0.5 * width};
}

HuWindow LungWindow() { return WindowFromWidthLevel(1500, -550); }
HuWindow SeverityWindow() { return HuWindow{-1000, 600}; }
std::array<HuWindow, 3> SeverityChannelWindows() {
  return {HuWindow{-1000, 0}, HuWindow{0, 1000}, HuWindow{-1000, 4000}};
}

float WindowValue(double hu, const HuWindow& w) {
  return static_cast<float>(std::clamp((hu - w.low) / (w.high - w.low), 0.0, 1.0));
}

uint8_t WindowByte(double hu, const HuWindow& w) {
  return static_cast<uint8_t>(std::lround(255.0 * WindowValue(hu, w)));
}

absl::StatusOr<FloatVolume> ApplyWindow(const HuVolume& hu, const HuWindow& window, int threads) {
  absl::Status s = CheckVolume("ApplyWindow", hu.nx, hu.ny, hu.nz, hu.voxels.size());
  if (s.ok()) s = CheckWindow("ApplyWindow", window);
  if (!s.ok()) return s;
  const float low = static_cast<float>(window.low);
  const float scale = static_cast<float>(1.0 / window.width());
  return MapVoxels(hu, threads, [low, scale](int16_t v) {
    return std::clamp((static_cast<float>(v) - low) * scale, 0.0f, 1.0f);
  });
}

absl::StatusOr<std::vector<FloatVolume>> ApplyWindows(const HuVolume& hu,
                                                      const std::vector<HuWindow>& windows,
                                                      int threads) {
  if (windows.empty()) return absl::InvalidArgumentError("ApplyWindows: no window given");
  std::vector<FloatVolume> out;
  out.reserve(windows.size());
  for (const HuWindow& w : windows) {
    absl::StatusOr<FloatVolume> v = ApplyWindow(hu, w, threads);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
  }
  return out;
}

absl::StatusOr<FloatVolume> NormalizeAiSegment(const HuVolume& hu, int threads) {
  absl::Status s = CheckVolume("NormalizeAiSegment", hu.nx, hu.ny, hu.nz, hu.voxels.size());
  if (!s.ok()) return s;
  return MapVoxels(hu, threads, [](int16_t v) {
    return std::max(static_cast<float>(v) + 1024.0f, 0.0f) / 1000.0f;
  });
}

int ResampledSize(int n_in, double in_spacing, double out_spacing) {
  if (n_in <= 1) return std::max(n_in, 0);
  return static_cast<int>(std::floor((n_in - 1) * in_spacing / out_spacing + 1e-6)) + 1;
}

absl::StatusOr<HuVolume> ResampleHu(const HuVolume& hu, const std::array<double, 3>& spacing,
                                    int threads) {
  absl::Status s = CheckVolume("ResampleHu", hu.nx, hu.ny, hu.nz, hu.voxels.size());
  if (s.ok()) s = CheckSpacing("ResampleHu", spacing);
  if (s.ok()) s = CheckSpacing("ResampleHu (input)", hu.spacing);
  if (!s.ok()) return s;
  const AxisMap mx = MakeAxisMap(hu.nx, hu.spacing[0], spacing[0]);
  const AxisMap my = MakeAxisMap(hu.ny, hu.spacing[1], spacing[1]);
  const AxisMap mz = MakeAxisMap(hu.nz, hu.spacing[2], spacing[2]);
  HuVolume out(static_cast<int>(mx.lo.size()), static_cast<int>(my.lo.size()),
               static_cast<int>(mz.lo.size()), spacing);
  out.PlaceLike(hu);  // voxel (0, 0, 0) stays where it was
  // Clamped upper neighbours so that a one-voxel axis works (its weight is 0 then).
  auto up = [](int lo, int n) { return std::min(lo + 1, n - 1); };
  ParallelFor(0, out.nz, threads, [&](int k0, int k1) {
    for (int k = k0; k < k1; ++k) {
      const int z0 = mz.lo[k], z1 = up(z0, hu.nz);
      const float fz = mz.frac[k];
      for (int j = 0; j < out.ny; ++j) {
        const int y0 = my.lo[j], y1 = up(y0, hu.ny);
        const float fy = my.frac[j];
        for (int i = 0; i < out.nx; ++i) {
          const int x0 = mx.lo[i], x1 = up(x0, hu.nx);
          const float fx = mx.frac[i];
          auto plane = [&](int z) {
            const float a = hu.at(z, y0, x0) + fx * (hu.at(z, y0, x1) - hu.at(z, y0, x0));
            const float b = hu.at(z, y1, x0) + fx * (hu.at(z, y1, x1) - hu.at(z, y1, x0));
            return a + fy * (b - a);
          };
          const float p0 = plane(z0);
          const float v = p0 + fz * (plane(z1) - p0);
          out.at(k, j, i) = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
        }
      }
    }
  });
  return out;
}

absl::StatusOr<LabelVolume> ResampleLabels(const LabelVolume& labels,
                                           const std::array<double, 3>& spacing, int threads) {
  absl::Status s =
      CheckVolume("ResampleLabels", labels.nx, labels.ny, labels.nz, labels.voxels.size());
  if (s.ok()) s = CheckSpacing("ResampleLabels", spacing);
  if (s.ok()) s = CheckSpacing("ResampleLabels (input)", labels.spacing);
  if (!s.ok()) return s;
  const AxisMap mx = MakeAxisMap(labels.nx, labels.spacing[0], spacing[0]);
  const AxisMap my = MakeAxisMap(labels.ny, labels.spacing[1], spacing[1]);
  const AxisMap mz = MakeAxisMap(labels.nz, labels.spacing[2], spacing[2]);
  LabelVolume out(static_cast<int>(mx.lo.size()), static_cast<int>(my.lo.size()),
                  static_cast<int>(mz.lo.size()), spacing);
  out.PlaceLike(labels);
  ParallelFor(0, out.nz, threads, [&](int k0, int k1) {
    for (int k = k0; k < k1; ++k) {
      for (int j = 0; j < out.ny; ++j) {
        for (int i = 0; i < out.nx; ++i) {
          out.at(k, j, i) = labels.at(mz.nearest[k], my.nearest[j], mx.nearest[i]);
        }
      }
    }
  });
  return out;
}

absl::StatusOr<HuVolume> MaskOutside(const HuVolume& hu, const LabelVolume& mask, int16_t fill) {
  if (!hu.SameGrid(mask) || hu.voxels.size() != mask.voxels.size()) {
    return absl::InvalidArgumentError("MaskOutside: HU volume and mask are on different grids");
  }
  HuVolume out = hu;
  for (size_t v = 0; v < out.voxels.size(); ++v) {
    if (mask.voxels[v] == 0) out.voxels[v] = fill;
  }
  return out;
}

namespace {

template <typename T>
Volume<T> CenterCropPad(const Volume<T>& v, int size, T fill) {
  Volume<T> out(size, size, v.nz, v.spacing, fill);
  const int ox = (v.nx - size) / 2, oy = (v.ny - size) / 2;
  out.PlaceLike(v);
  out.origin = v.PointAt(0, oy, ox);  // outside the input when padding (ox, oy < 0)
  for (int k = 0; k < v.nz; ++k) {
    for (int j = 0; j < size; ++j) {
      const int sj = j + oy;
      if (sj < 0 || sj >= v.ny) continue;
      for (int i = 0; i < size; ++i) {
        const int si = i + ox;
        if (si >= 0 && si < v.nx) out.at(k, j, i) = v.at(k, sj, si);
      }
    }
  }
  return out;
}

std::array<double, 3> InPlaneSpacing(const std::array<double, 3>& s, int nx, int ny, int size) {
  const double fov = std::max(nx * s[0], ny * s[1]);
  return {fov / size, fov / size, s[2]};
}

}  // namespace

absl::StatusOr<HuVolume> FitInPlaneHu(const HuVolume& hu, int size, int threads) {
  if (size < 8) return absl::InvalidArgumentError("FitInPlaneHu: size must be >= 8");
  absl::StatusOr<HuVolume> r =
      ResampleHu(hu, InPlaneSpacing(hu.spacing, hu.nx, hu.ny, size), threads);
  if (!r.ok()) return r.status();
  return CenterCropPad<int16_t>(*r, size, -1024);
}

absl::StatusOr<LabelVolume> FitInPlaneLabels(const LabelVolume& labels, int size, int threads) {
  if (size < 8) return absl::InvalidArgumentError("FitInPlaneLabels: size must be >= 8");
  absl::StatusOr<LabelVolume> r =
      ResampleLabels(labels, InPlaneSpacing(labels.spacing, labels.nx, labels.ny, size), threads);
  if (!r.ok()) return r.status();
  return CenterCropPad<uint8_t>(*r, size, 0);
}

}  // namespace scancov::ct
