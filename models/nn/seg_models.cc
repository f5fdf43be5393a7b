#include "models/nn/seg_models.h"

#include <torch/torch.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "models/nn/state_dict.h"
#include "models/nn/torch_runtime.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {
namespace {

// The LibTorch layers of each dimensionality, so that the U-Net is written once.
template <int D>
struct Layers;

template <>
struct Layers<2> {
  using Conv = torch::nn::Conv2d;
  using ConvT = torch::nn::ConvTranspose2d;
  using Norm = torch::nn::BatchNorm2d;
  static torch::Tensor Pool(const torch::Tensor& x) { return torch::max_pool2d(x, {2, 2}); }
};

template <>
struct Layers<3> {
  using Conv = torch::nn::Conv3d;
  using ConvT = torch::nn::ConvTranspose3d;
  using Norm = torch::nn::BatchNorm3d;
  static torch::Tensor Pool(const torch::Tensor& x) { return torch::max_pool3d(x, {2, 2, 2}); }
};

// Two convolutions with BatchNorm and ReLU; optionally ResNet-style with a shortcut.
template <int D>
class SegBlock : public torch::nn::Module {
 public:
  using L = Layers<D>;

  SegBlock(int64_t in, int64_t out, bool batch_norm, bool residual) : residual_(residual) {
    conv1_ = register_module(
        "conv1",
        typename L::Conv(torch::nn::ConvOptions<D>(in, out, 3).padding(1).bias(!batch_norm)));
    conv2_ = register_module(
        "conv2",
        typename L::Conv(torch::nn::ConvOptions<D>(out, out, 3).padding(1).bias(!batch_norm)));
    if (batch_norm) {
      norm1_ = register_module("norm1", typename L::Norm(out));
      norm2_ = register_module("norm2", typename L::Norm(out));
    }
    if (residual && in != out) {
      skip_ = register_module(
          "skip", typename L::Conv(torch::nn::ConvOptions<D>(in, out, 1).bias(!batch_norm)));
      if (batch_norm) skip_norm_ = register_module("skip_norm", typename L::Norm(out));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = conv1_->forward(x);
    if (!norm1_.is_empty()) y = norm1_->forward(y);
    y = torch::relu(y);
    y = conv2_->forward(y);
    if (!norm2_.is_empty()) y = norm2_->forward(y);
    if (residual_) {
      torch::Tensor shortcut = x;
      if (!skip_.is_empty()) {
        shortcut = skip_->forward(x);
        if (!skip_norm_.is_empty()) shortcut = skip_norm_->forward(shortcut);
      }
      y = y + shortcut;
    }
    return torch::relu(y);
  }

 private:
  bool residual_;
  typename L::Conv conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  typename L::Norm norm1_{nullptr}, norm2_{nullptr}, skip_norm_{nullptr};
};

template <int D>
class UNet : public Network {
 public:
  using L = Layers<D>;

  explicit UNet(const SegNetConfig& config)
      : Network(D == 2 ? "UNet2d" : "UNet3d"), config_(config) {
    const int64_t levels = config.depth;
    auto width = [&](int64_t level) { return config.base_channels << level; };
    for (int64_t l = 0; l < levels; ++l) {
      const int64_t in = l == 0 ? config.in_channels() : width(l - 1);
      enc_.push_back(register_module(
          absl::StrCat("enc", l),
          std::make_shared<SegBlock<D>>(in, width(l), config.batch_norm, config.residual)));
    }
    for (int64_t l = 0; l + 1 < levels; ++l) {
      up_.push_back(register_module(
          absl::StrCat("up", l),
          typename L::ConvT(
              torch::nn::ConvTransposeOptions<D>(width(l + 1), width(l), 2).stride(2))));
      dec_.push_back(register_module(
          absl::StrCat("dec", l), std::make_shared<SegBlock<D>>(
                                      2 * width(l), width(l), config.batch_norm, config.residual)));
    }
    head_ = register_module(
        "head", typename L::Conv(torch::nn::ConvOptions<D>(width(0), config.num_classes, 1)));
  }

  torch::Tensor forward(const torch::Tensor& input) override {
    // Pad every spatial size up to a multiple of 2^(depth-1); F::pad lists the last dim first.
    const int64_t multiple = int64_t{1} << (config_.depth - 1);
    std::vector<int64_t> pads;
    bool padded = false;
    for (int64_t d = input.dim() - 1; d >= 2; --d) {
      const int64_t pad = (multiple - input.size(d) % multiple) % multiple;
      pads.push_back(0);
      pads.push_back(pad);
      padded = padded || pad > 0;
    }
    torch::Tensor x =
        padded ? torch::nn::functional::pad(input, torch::nn::functional::PadFuncOptions(pads))
               : input;
    std::vector<torch::Tensor> skips;
    for (size_t l = 0; l < enc_.size(); ++l) {
      x = enc_[l]->forward(x);
      if (l + 1 < enc_.size()) {
        skips.push_back(x);
        x = L::Pool(x);
      }
    }
    for (size_t l = up_.size(); l-- > 0;) {
      x = up_[l]->forward(x);
      x = dec_[l]->forward(torch::cat({skips[l], x}, 1));
    }
    x = head_->forward(x);
    if (padded) {
      for (int64_t d = 2; d < input.dim(); ++d) x = x.narrow(d, 0, input.size(d));
    }
    return x;
  }

  absl::Status CheckInputShape(const std::vector<int64_t>& shape) const override {
    bool ok = shape.size() == static_cast<size_t>(D + 2) && shape[0] >= 1 &&
              shape[1] == config_.in_channels();
    for (size_t d = 2; ok && d < shape.size(); ++d) ok = shape[d] >= 1;
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(SegNetKindName(config_.kind), ": expected input [N, ", config_.in_channels(),
                     D == 2 ? ", H, W]" : ", D, H, W]", ", got ", protocol::ShapeString(shape)));
  }

 private:
  SegNetConfig config_;
  std::vector<std::shared_ptr<SegBlock<D>>> enc_, dec_;
  std::vector<typename L::ConvT> up_;
  typename L::Conv head_{nullptr};
};

NetworkFactory FactoryFor(std::string model) {
  return [model](absl::string_view config_json) -> absl::StatusOr<std::shared_ptr<Network>> {
    SCV_ASSIGN_OR_RETURN(SegNetConfig config, ParseSegNetConfig(model, config_json));
    return MakeSegmentationNetwork(config);
  };
}

}  // namespace

std::shared_ptr<Network> MakeSegmentationNetwork(const SegNetConfig& config) {
  if (config.is_3d()) return std::make_shared<UNet<3>>(config);
  return std::make_shared<UNet<2>>(config);
}

absl::StatusOr<std::shared_ptr<Network>> LoadSegmentationNetwork(const SegNetConfig& config,
                                                                 const protocol::TensorSet& weights,
                                                                 torch::Device device) {
  SCV_RETURN_IF_ERROR(protocol::CheckAllFinite(weights));
  std::shared_ptr<Network> net;
  {
    absl::MutexLock lock(&TorchGeneratorMutex());
    net = MakeSegmentationNetwork(config);
  }
  net->to(device);
  SCV_RETURN_IF_ERROR(ImportState(weights, net.get()));
  return net;
}

void RegisterSegmentationModels(ModelRegistry* registry) {
  // The names are fresh in a new registry, so Register cannot fail here.
  for (const char* model : {"unet2d", "unet25d", "unet3d"}) {
    registry->Register(model, FactoryFor(model)).IgnoreError();
  }
}

}  // namespace scancov::nn
