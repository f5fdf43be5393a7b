#include "models/nn/seg_batches.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/env.h"

namespace scancov::nn {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMaxAngleRad = 10.0 * kPi / 180.0;

// A uniform double in [0, 1) from the engine's raw output (not std::uniform_real_distribution,
// whose algorithm differs between standard libraries).
double Uniform01(Random& rng) { return static_cast<double>(rng.Next() >> 11) * 0x1.0p-53; }

double UniformIn(Random& rng, double lo, double hi) { return lo + (hi - lo) * Uniform01(rng); }

absl::Status InvalidExample(size_t e, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("example ", e, ": ", why));
}

// Bilinear sample of a plane at (fy, fx); `fill` outside.
float Bilinear(const float* plane, int h, int w, double fy, double fx, float fill) {
  const int y0 = static_cast<int>(std::floor(fy));
  const int x0 = static_cast<int>(std::floor(fx));
  const double ty = fy - y0, tx = fx - x0;
  double sum = 0.0;
  for (int dy = 0; dy < 2; ++dy) {
    for (int dx = 0; dx < 2; ++dx) {
      const int y = y0 + dy, x = x0 + dx;
      const double weight = (dy ? ty : 1.0 - ty) * (dx ? tx : 1.0 - tx);
      const float value = (y >= 0 && y < h && x >= 0 && x < w) ? plane[y * w + x] : fill;
      sum += weight * value;
    }
  }
  return static_cast<float>(sum);
}

}  // namespace

float NormalizeHu(int hu, HuNormalization normalization) {
  if (normalization == HuNormalization::kSeed) {
    return static_cast<float>(std::max(hu + 1024, 0)) / 1000.0f;
  }
  // Lung window W 1500 / L -550: [-1300, 200] onto [0, 1].
  const int clipped = std::clamp(hu, -1300, 200);
  return static_cast<float>(clipped + 1300) / 1500.0f;
}

std::vector<int> TileStarts(int n, int patch, double overlap) {
  if (n <= patch) return {0};
  const int stride = std::max(1, static_cast<int>(std::floor(patch * (1.0 - overlap))));
  std::vector<int> starts;
  for (int start = 0; start + patch < n; start += stride) starts.push_back(start);
  starts.push_back(n - patch);
  return starts;
}

uint64_t MixSeed(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = seed;
  for (uint64_t v : {a, b}) {
    z += 0x9e3779b97f4a7c15ull + v;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
  }
  return z;
}

SegAugment DrawAugment(uint64_t seed, int64_t epoch, int64_t position, bool is_3d,
                       const std::array<int64_t, 3>& patch, bool intensity) {
  Random rng(MixSeed(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(position)));
  SegAugment a;
  a.flip = Uniform01(rng) < 0.5;
  a.angle_rad = UniformIn(rng, -kMaxAngleRad, kMaxAngleRad);
  a.scale = UniformIn(rng, 0.9, 1.1);
  a.contrast = UniformIn(rng, 0.9, 1.1);
  a.brightness = UniformIn(rng, -0.05, 0.05);
  if (is_3d) {
    for (int axis = 0; axis < 3; ++axis) {
      const int reach = static_cast<int>(patch[axis] / 4);
      a.shift[axis] = static_cast<int>(std::floor(UniformIn(rng, -reach, reach + 1)));
    }
  }
  if (!intensity) {  // drawn anyway above, so the geometry is the same in both modes
    a.contrast = 1.0;
    a.brightness = 0.0;
  }
  return a;
}

absl::Status ValidateSegExamples(const SegNetConfig& config,
                                 const std::vector<SegmentationExample>& examples) {
  for (size_t e = 0; e < examples.size(); ++e) {
    const HuVolume& ct = examples[e].ct;
    const LabelVolume& labels = examples[e].labels;
    if (ct.nx < 1 || ct.ny < 1 || ct.nz < 1 || ct.voxels.size() != ct.size()) {
      return InvalidExample(e, "the CT volume is empty or inconsistent");
    }
    if (!labels.SameGrid(ct) || labels.voxels.size() != labels.size()) {
      return InvalidExample(e, "the label volume is not on the CT's grid");
    }
    if (!config.is_3d() && (ct.nx != examples[0].ct.nx || ct.ny != examples[0].ct.ny)) {
      return InvalidExample(
          e, absl::StrCat("slices of ", ct.ny, "x", ct.nx, ", example 0 has ", examples[0].ct.ny,
                          "x", examples[0].ct.nx, " (resample to one size)"));
    }
    for (size_t v = 0; v < labels.voxels.size(); ++v) {
      const uint8_t label = labels.voxels[v];
      if (label != kUnlabelled && label >= config.num_classes) {
        return InvalidExample(
            e, absl::StrCat("label ", static_cast<int>(label), " at voxel ", v, " is neither < ",
                            config.num_classes, " classes nor 255 (unlabelled)"));
      }
    }
  }
  return absl::OkStatus();
}

SegBatchBuilder::SegBatchBuilder(const SegNetConfig& config, std::vector<const HuVolume*> cts,
                                 std::vector<const LabelVolume*> labels)
    : config_(config), cts_(std::move(cts)), labels_(std::move(labels)) {
  labels_.resize(cts_.size(), nullptr);
  if (config_.is_3d()) {
    in_planes_ = target_planes_ = static_cast<int>(config_.patch[0]);
    height_ = static_cast<int>(config_.patch[1]);
    width_ = static_cast<int>(config_.patch[2]);
  } else {
    in_planes_ = static_cast<int>(config_.in_channels());
    target_planes_ = 1;
    if (!cts_.empty()) {
      height_ = cts_[0]->ny;
      width_ = cts_[0]->nx;
    }
  }
}

int64_t SegBatchBuilder::SlicesPerSample() const { return target_planes_; }

std::vector<SegSample> SegBatchBuilder::LabelledSamples() const {
  std::vector<SegSample> samples;
  for (int e = 0; e < static_cast<int>(cts_.size()); ++e) {
    const LabelVolume* labels = labels_[e];
    if (labels == nullptr) continue;
    auto labelled = [&](int z0, int z1, int y0, int y1, int x0, int x1) {
      for (int k = z0; k < z1; ++k) {
        for (int j = y0; j < y1; ++j) {
          for (int i = x0; i < x1; ++i) {
            if (labels->at(k, j, i) != kUnlabelled) return true;
          }
        }
      }
      return false;
    };
    if (!config_.is_3d()) {
      for (int k = 0; k < labels->nz; ++k) {
        if (labelled(k, k + 1, 0, labels->ny, 0, labels->nx)) samples.push_back({e, k, 0, 0});
      }
      continue;
    }
    const auto& p = config_.patch;
    for (int z : TileStarts(labels->nz, static_cast<int>(p[0]), 0.0)) {
      for (int y : TileStarts(labels->ny, static_cast<int>(p[1]), 0.0)) {
        for (int x : TileStarts(labels->nx, static_cast<int>(p[2]), 0.0)) {
          if (labelled(z, std::min<int>(labels->nz, z + p[0]), y,
                       std::min<int>(labels->ny, y + p[1]), x,
                       std::min<int>(labels->nx, x + p[2]))) {
            samples.push_back({e, z, y, x});
          }
        }
      }
    }
  }
  return samples;
}

std::vector<SegSample> SegBatchBuilder::PredictionSamples(int e) const {
  const HuVolume& ct = *cts_[e];
  std::vector<SegSample> samples;
  if (!config_.is_3d()) {
    for (int k = 0; k < ct.nz; ++k) samples.push_back({e, k, 0, 0});
    return samples;
  }
  const auto& p = config_.patch;
  const double overlap = config_.tile_overlap;
  for (int z : TileStarts(ct.nz, static_cast<int>(p[0]), overlap)) {
    for (int y : TileStarts(ct.ny, static_cast<int>(p[1]), overlap)) {
      for (int x : TileStarts(ct.nx, static_cast<int>(p[2]), overlap)) {
        samples.push_back({e, z, y, x});
      }
    }
  }
  return samples;
}

void SegBatchBuilder::Crop(const SegSample& s, float* input, uint8_t* target) const {
  const HuVolume& ct = *cts_[s.example];
  const LabelVolume* labels = labels_[s.example];
  const float air = NormalizeHu(-1024, config_.normalization);
  const size_t plane = static_cast<size_t>(height_) * width_;
  // Source slice of input plane p, or -1 for padding.
  auto source_slice = [&](int p) {
    if (!config_.is_3d()) {
      return std::clamp(s.z - static_cast<int>(config_.context_slices) + p, 0, ct.nz - 1);
    }
    return s.z + p < ct.nz ? s.z + p : -1;
  };
  for (int p = 0; p < in_planes_; ++p) {
    const int k = source_slice(p);
    float* out = input + p * plane;
    for (int r = 0; r < height_; ++r) {
      for (int c = 0; c < width_; ++c) {
        const int j = s.y + r, i = s.x + c;
        out[r * width_ + c] = (k >= 0 && j < ct.ny && i < ct.nx)
                                  ? NormalizeHu(ct.at(k, j, i), config_.normalization)
                                  : air;
      }
    }
  }
  if (target == nullptr) return;
  for (int p = 0; p < target_planes_; ++p) {
    const int k = config_.is_3d() ? source_slice(p) : s.z;
    uint8_t* out = target + p * plane;
    for (int r = 0; r < height_; ++r) {
      for (int c = 0; c < width_; ++c) {
        const int j = s.y + r, i = s.x + c;
        out[r * width_ + c] =
            (k >= 0 && j < labels->ny && i < labels->nx) ? labels->at(k, j, i) : kUnlabelled;
      }
    }
  }
}

void SegBatchBuilder::FillSample(const SegSample& sample, const SegAugment* a, float* input,
                                 uint8_t* target) const {
  if (a == nullptr) {
    Crop(sample, input, target);
    return;
  }
  SegSample moved = sample;
  if (config_.is_3d()) {
    const HuVolume& ct = *cts_[sample.example];
    const int limits[3] = {std::max(0, ct.nz - in_planes_), std::max(0, ct.ny - height_),
                           std::max(0, ct.nx - width_)};
    moved.z = std::clamp(sample.z + a->shift[0], 0, limits[0]);
    moved.y = std::clamp(sample.y + a->shift[1], 0, limits[1]);
    moved.x = std::clamp(sample.x + a->shift[2], 0, limits[2]);
  }
  const size_t plane = static_cast<size_t>(height_) * width_;
  std::vector<float> raw_input(plane * in_planes_);
  std::vector<uint8_t> raw_target(target != nullptr ? plane * target_planes_ : 0);
  Crop(moved, raw_input.data(), target != nullptr ? raw_target.data() : nullptr);

  // Output pixel -> source position: flip (mirror the column), then the inverse rotation and
  // scale about the plane's centre.
  const double cy = (height_ - 1) / 2.0, cx = (width_ - 1) / 2.0;
  const double cos_a = std::cos(a->angle_rad) / a->scale, sin_a = std::sin(a->angle_rad) / a->scale;
  const float air = NormalizeHu(-1024, config_.normalization);
  const bool swap = a->flip && config_.lateral_labels;
  for (int r = 0; r < height_; ++r) {
    for (int c = 0; c < width_; ++c) {
      const double dy = r - cy, dx = (a->flip ? (width_ - 1 - c) : c) - cx;
      const double fy = cy + cos_a * dy + sin_a * dx;
      const double fx = cx - sin_a * dy + cos_a * dx;
      const size_t out = static_cast<size_t>(r) * width_ + c;
      for (int p = 0; p < in_planes_; ++p) {
        const float v = Bilinear(raw_input.data() + p * plane, height_, width_, fy, fx, air);
        input[p * plane + out] = static_cast<float>(v * a->contrast + a->brightness);
      }
      if (target == nullptr) continue;
      const int ny = static_cast<int>(std::lround(fy)), nx = static_cast<int>(std::lround(fx));
      const bool inside = ny >= 0 && ny < height_ && nx >= 0 && nx < width_;
      for (int p = 0; p < target_planes_; ++p) {
        uint8_t label = inside ? raw_target[p * plane + ny * width_ + nx] : kUnlabelled;
        if (swap && (label == 1 || label == 2)) label = static_cast<uint8_t>(3 - label);
        target[p * plane + out] = label;
      }
    }
  }
}

SegBatch SegBatchBuilder::Build(const std::vector<SegSample>& samples,
                                const std::vector<SegAugment>& augments) const {
  const int64_t n = static_cast<int64_t>(samples.size());
  const bool with_target = !samples.empty() && labels_[samples[0].example] != nullptr;
  SegBatch batch;
  if (config_.is_3d()) {
    batch.input_shape = {n, 1, in_planes_, height_, width_};
    batch.target_shape = {n, target_planes_, height_, width_};
  } else {
    batch.input_shape = {n, in_planes_, height_, width_};
    batch.target_shape = {n, height_, width_};
  }
  const size_t plane = static_cast<size_t>(height_) * width_;
  const size_t in_size = plane * in_planes_, target_size = plane * target_planes_;
  batch.input.resize(in_size * n);
  if (with_target) batch.target.resize(target_size * n);
  for (int64_t b = 0; b < n; ++b) {
    FillSample(samples[b], augments.empty() ? nullptr : &augments[b],
               batch.input.data() + b * in_size,
               with_target ? batch.target.data() + b * target_size : nullptr);
  }
  for (uint8_t label : batch.target) batch.labelled += label != kUnlabelled ? 1 : 0;
  return batch;
}

}  // namespace scancov::nn
