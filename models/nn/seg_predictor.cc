#include "models/nn/seg_predictor.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "models/nn/autocast.h"
#include "models/nn/network.h"
#include "models/nn/precision.h"
#include "models/nn/seg_batches.h"
#include "models/nn/seg_config.h"
#include "models/nn/seg_models.h"
#include "models/nn/segmentation.h"
#include "models/nn/torch_runtime.h"

namespace scancov::nn {
namespace {

using protocol::TensorSet;

constexpr int64_t kMaxBatch = 64;
// Activation memory one forward pass may take. The node used 8 slices (2 tiles) for every
// size; 512 MiB keeps 8 for the seed's 256 x 256 lung U-Net (32 base channels) on the CPU, and
// fewer for larger slices, whose first-level maps would otherwise reach gigabytes. On CUDA,
// more per pass keeps the GPU busy.
constexpr int64_t kCpuBudgetBytes = int64_t{512} << 20;
constexpr int64_t kCudaBudgetBytes = int64_t{4} << 30;
// First-level feature maps alive at once at the peak of a U-Net pass (the decoder's last
// level: skip, upsampled, concatenation x 2, convolution and BatchNorm outputs; the deeper
// levels' skips add up to about one more).
constexpr int64_t kLiveFirstLevelMaps = 8;

absl::Status CheckVolume(const HuVolume& ct) {
  if (ct.nx < 1 || ct.ny < 1 || ct.nz < 1 || ct.voxels.size() != ct.size()) {
    return absl::InvalidArgumentError("the CT volume is empty or inconsistent");
  }
  return absl::OkStatus();
}

// Channels-last (the channels of a voxel side by side), for 4D (2D nets) and 5D (3D nets)
// tensors; others as they are. Used with bf16 only: oneDNN's bfloat16 convolutions run in it
// (the seed's U-Net at 256 px, 2 cores: 7.9-9.3 slices/s against 6.4-7.3 in the default
// layout); in fp32 it measured no faster here (4.2-4.5 against 4.8-5.8), so fp32 keeps the
// layout its results were validated in.
torch::Tensor ChannelsLast(const torch::Tensor& t) {
  if (t.dim() == 4) return t.contiguous(at::MemoryFormat::ChannelsLast);
  if (t.dim() == 5) return t.contiguous(at::MemoryFormat::ChannelsLast3d);
  return t;
}

// The network's weights in channels-last, in place (LibTorch's C++ Module::to has no memory
// format). The values are the same; only the strides change.
void ToChannelsLast(Network& net) {
  for (torch::Tensor& p : net.parameters()) p.set_data(ChannelsLast(p.data()));
  for (torch::Tensor& b : net.buffers()) b.set_data(ChannelsLast(b.data()));
}

// The batch's input on `device`, channels-last when the network is (from_blob aliases the
// batch, which outlives its use).
torch::Tensor InputOf(SegBatch& batch, torch::Device device, bool channels_last) {
  torch::Tensor x = torch::from_blob(batch.input.data(), batch.input_shape, torch::kFloat32);
  if (device.is_cuda()) x = x.pin_memory().to(device, /*non_blocking=*/true);
  return channels_last ? ChannelsLast(x) : x;
}

// The index of the largest of the classes >= `first` along `dim` (the lower class on ties, as
// ArgmaxLabels), as uint8 labels.
torch::Tensor ArgmaxFrom(const torch::Tensor& p, int64_t first, int64_t dim) {
  return (p.narrow(dim, first, p.size(dim) - first).argmax(dim) + first).to(torch::kUInt8);
}

}  // namespace

struct SegmentationPredictor::Impl {
  Impl(SegNetConfig c, torch::Device d, int b, Precision p, std::shared_ptr<Network> n)
      : config(std::move(c)), device(d), batch(b), precision(p), net(std::move(n)) {}

  // Calls take(part, p) for the samples of `ct` batch by batch, in PredictionSamples order,
  // with p the float32 softmax of the batch's logits, on the device.
  template <typename Take>
  void ForEachBatch(const HuVolume& ct, Take take) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const SegBatchBuilder builder(config, {&ct}, {nullptr});
    const std::vector<SegSample> samples = builder.PredictionSamples(0);
    const size_t step = static_cast<size_t>(Batch(ct.ny, ct.nx));
    for (size_t start = 0; start < samples.size(); start += step) {
      const std::vector<SegSample> part(samples.begin() + start,
                                        samples.begin() + std::min(samples.size(), start + step));
      SegBatch batch = builder.Build(part, {});
      torch::Tensor logits;
      {
        const Autocast autocast(device.type(), precision == Precision::kBFloat16);
        logits = net->forward(InputOf(batch, device, precision == Precision::kBFloat16));
      }
      take(part, torch::softmax(logits.to(torch::kFloat32), 1));
    }
  }

  // 3D: the mean of the probabilities of the tiles covering each voxel, [C, nz, ny, nx] on the
  // device. Summed tile by tile in sample order and divided once, as float32, so that it equals
  // the host loop it replaced to the bit.
  torch::Tensor TileMean(const HuVolume& ct) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    torch::Tensor sum = torch::zeros({config.num_classes, ct.nz, ct.ny, ct.nx}, options);
    torch::Tensor covered = torch::zeros({ct.nz, ct.ny, ct.nx}, options);
    ForEachBatch(ct, [&](const std::vector<SegSample>& part, const torch::Tensor& p) {
      for (size_t b = 0; b < part.size(); ++b) {
        const SegSample& s = part[b];
        const int64_t dz = std::min<int64_t>(config.patch[0], ct.nz - s.z),
                      dy = std::min<int64_t>(config.patch[1], ct.ny - s.y),
                      dx = std::min<int64_t>(config.patch[2], ct.nx - s.x);
        sum.narrow(1, s.z, dz)
            .narrow(2, s.y, dy)
            .narrow(3, s.x, dx)
            .add_(p[static_cast<int64_t>(b)].narrow(1, 0, dz).narrow(2, 0, dy).narrow(3, 0, dx));
        covered.narrow(0, s.z, dz).narrow(1, s.y, dy).narrow(2, s.x, dx).add_(1.0);
      }
    });
    return sum.div_(covered);
  }

  int64_t Batch(int ny, int nx) const {
    if (batch > 0) return batch;
    const int64_t voxels =
        config.is_3d() ? config.patch[0] * config.patch[1] * config.patch[2] : int64_t{ny} * nx;
    const int64_t per_sample =
        voxels * config.base_channels * kLiveFirstLevelMaps * static_cast<int64_t>(sizeof(float));
    const int64_t budget = device.is_cuda() ? kCudaBudgetBytes : kCpuBudgetBytes;
    return std::clamp<int64_t>(budget / std::max<int64_t>(per_sample, 1), 1, kMaxBatch);
  }

  const SegNetConfig config;
  const torch::Device device;
  const int batch;
  const Precision precision;
  absl::Mutex mu;
  const std::shared_ptr<Network> net ABSL_PT_GUARDED_BY(mu);
};

SegmentationPredictor::SegmentationPredictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentationPredictor::SegmentationPredictor(SegmentationPredictor&&) noexcept = default;
SegmentationPredictor& SegmentationPredictor::operator=(SegmentationPredictor&&) noexcept = default;
SegmentationPredictor::~SegmentationPredictor() = default;

absl::StatusOr<SegmentationPredictor> SegmentationPredictor::Create(
    const TensorSet& weights, absl::string_view model, absl::string_view config_json,
    const SegPredictOptions& options) {
  return Guarded("SegmentationPredictor", [&]() -> absl::StatusOr<SegmentationPredictor> {
    SCV_ASSIGN_OR_RETURN(SegNetConfig config, ParseSegNetConfig(model, config_json));
    if (options.batch < 0 || options.batch > kMaxBatch) {
      return absl::InvalidArgumentError(absl::StrCat("batch ", options.batch, " not 0..64"));
    }
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(options.device));
    SCV_ASSIGN_OR_RETURN(const Precision precision,
                         ResolvePrecision(options.precision, device.is_cuda()));
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                         LoadSegmentationNetwork(config, weights, device));
    net->eval();
    if (precision == Precision::kBFloat16) ToChannelsLast(*net);
    return SegmentationPredictor(std::make_unique<Impl>(std::move(config), device, options.batch,
                                                        precision, std::move(net)));
  });
}

absl::StatusOr<SegProbabilities> SegmentationPredictor::Predict(const HuVolume& ct) {
  return Guarded("SegmentationPredictor::Predict", [&]() -> absl::StatusOr<SegProbabilities> {
    SCV_RETURN_IF_ERROR(CheckVolume(ct));
    absl::MutexLock lock(&impl_->mu);
    c10::InferenceMode inference;
    SegProbabilities out;
    out.num_classes = static_cast<int>(impl_->config.num_classes);
    out.nx = ct.nx;
    out.ny = ct.ny;
    out.nz = ct.nz;
    out.spacing = ct.spacing;
    out.values.resize(out.VoxelCount() * out.num_classes);
    if (impl_->config.is_3d()) {
      const torch::Tensor mean = impl_->TileMean(ct).to(torch::kCPU).contiguous();
      std::memcpy(out.values.data(), mean.data_ptr<float>(), out.values.size() * sizeof(float));
      return out;
    }
    // Sample b of a batch is slice part[b].z: its class planes go to the (class, slice) layout.
    const size_t plane = static_cast<size_t>(out.nx) * out.ny;
    impl_->ForEachBatch(ct, [&](const std::vector<SegSample>& part, const torch::Tensor& p) {
      const torch::Tensor host = p.to(torch::kCPU).contiguous();
      const float* values = host.data_ptr<float>();
      for (size_t b = 0; b < part.size(); ++b) {
        for (int c = 0; c < out.num_classes; ++c) {
          std::copy_n(values + (b * out.num_classes + c) * plane, plane,
                      out.values.begin() + out.Index(c, part[b].z, 0, 0));
        }
      }
    });
    return out;
  });
}

absl::StatusOr<LabelVolume> SegmentationPredictor::PredictLabels(const HuVolume& ct,
                                                                 const LabelVolume* lung_mask) {
  return Guarded("SegmentationPredictor::PredictLabels", [&]() -> absl::StatusOr<LabelVolume> {
    SCV_RETURN_IF_ERROR(CheckVolume(ct));
    LabelVolume labels(ct.nx, ct.ny, ct.nz, ct.spacing, 0);
    if (lung_mask != nullptr &&
        (!lung_mask->SameGrid(labels) || lung_mask->voxels.size() != labels.size())) {
      return absl::InvalidArgumentError("the lung mask is on another grid");
    }
    // As ArgmaxLabels: inside a lung mask only the tissue classes (>= 1) compete.
    const int64_t first = lung_mask != nullptr && impl_->config.num_classes > 1 ? 1 : 0;
    absl::MutexLock lock(&impl_->mu);
    c10::InferenceMode inference;
    if (impl_->config.is_3d()) {
      const torch::Tensor l =
          ArgmaxFrom(impl_->TileMean(ct), first, 0).to(torch::kCPU).contiguous();
      std::memcpy(labels.voxels.data(), l.data_ptr<uint8_t>(), labels.voxels.size());
    } else {
      const size_t plane = static_cast<size_t>(ct.nx) * ct.ny;
      impl_->ForEachBatch(ct, [&](const std::vector<SegSample>& part, const torch::Tensor& p) {
        const torch::Tensor l = ArgmaxFrom(p, first, 1).to(torch::kCPU).contiguous();
        const uint8_t* values = l.data_ptr<uint8_t>();
        for (size_t b = 0; b < part.size(); ++b) {
          std::copy_n(values + b * plane, plane, labels.voxels.begin() + part[b].z * plane);
        }
      });
    }
    if (lung_mask != nullptr) {
      for (size_t v = 0; v < labels.voxels.size(); ++v) {
        if (lung_mask->voxels[v] == 0) labels.voxels[v] = 0;
      }
    }
    return labels;
  });
}

int SegmentationPredictor::num_classes() const {
  return static_cast<int>(impl_->config.num_classes);
}

std::string SegmentationPredictor::device() const {
  return impl_->device.is_cuda() ? "cuda" : "cpu";
}

std::string SegmentationPredictor::precision() const { return PrecisionName(impl_->precision); }

int64_t SegmentationPredictor::PredictionBatch(int ny, int nx) const {
  return impl_->Batch(ny, nx);
}

absl::StatusOr<SegProbabilities> PredictProbabilities(const TensorSet& weights,
                                                      absl::string_view model,
                                                      absl::string_view config_json,
                                                      const HuVolume& ct,
                                                      absl::string_view device) {
  // A volume that cannot be predicted is refused before the network is built.
  SCV_RETURN_IF_ERROR(Annotate(CheckVolume(ct), "PredictProbabilities"));
  SegPredictOptions options;
  options.device = std::string(device);
  SCV_ASSIGN_OR_RETURN(SegmentationPredictor predictor,
                       SegmentationPredictor::Create(weights, model, config_json, options));
  return predictor.Predict(ct);
}

}  // namespace scancov::nn
