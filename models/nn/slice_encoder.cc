#include "models/nn/slice_encoder.h"

#include <torch/torch.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {
namespace {

torch::nn::Sequential Block(int64_t in, int64_t out, bool batch_norm) {
  torch::nn::Sequential block;
  for (int64_t width : {in, out}) {
    block->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(width, out, 3).padding(1).bias(!batch_norm)));
    if (batch_norm) block->push_back(torch::nn::BatchNorm2d(out));
    block->push_back(torch::nn::ReLU());
  }
  return block;
}

absl::StatusOr<std::shared_ptr<Network>> MakeSliceEncoder(absl::string_view config_json) {
  SCV_ASSIGN_OR_RETURN(SliceEncoderConfig config, ParseSliceEncoderConfig(config_json));
  return std::make_shared<SliceEncoder>(config);
}

}  // namespace

SliceEncoder::SliceEncoder(const SliceEncoderConfig& config)
    : Network("SliceEncoder"), config_(config) {
  int64_t in = config.in_channels();
  for (int64_t l = 0; l < config.depth; ++l) {
    const int64_t out = config.base_channels << l;
    blocks_.push_back(register_module(absl::StrCat("block", l), Block(in, out, config.batch_norm)));
    in = out;
  }
  embed_ = register_module("embed", torch::nn::Linear(in, config.embedding_dim));
  head_ = register_module("head", torch::nn::Linear(config.embedding_dim, 1));
}

torch::Tensor SliceEncoder::Embed(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (size_t l = 0; l < blocks_.size(); ++l) {
    x = blocks_[l]->forward(x);
    if (l + 1 < blocks_.size()) x = torch::max_pool2d(x, {2, 2});
  }
  // Global average pooling: [N, C, h, w] -> [N, C].
  return embed_->forward(x.mean({2, 3}));
}

torch::Tensor SliceEncoder::forward(const torch::Tensor& input) {
  return head_->forward(Embed(input)).squeeze(-1);
}

absl::Status SliceEncoder::CheckInputShape(const std::vector<int64_t>& shape) const {
  // The last block must see at least 2 x 2 pixels (see ValidateSliceEncoderConfig).
  const int64_t smallest = int64_t{2} << (config_.depth - 1);
  if (shape.size() == 4 && shape[0] >= 1 && shape[1] == config_.in_channels() &&
      shape[2] >= smallest && shape[3] >= smallest) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("slice_encoder: expected input [N, ", config_.in_channels(),
                   ", H, W] with H, W >= ", smallest, ", got ", protocol::ShapeString(shape)));
}

void RegisterSeverityModels(ModelRegistry* registry) {
  // The name is fresh in a new registry, so Register cannot fail here.
  registry->Register("slice_encoder", MakeSliceEncoder).IgnoreError();
}

}  // namespace scancov::nn
