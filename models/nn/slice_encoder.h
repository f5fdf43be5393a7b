// The AI-severity slice encoder `slice_encoder` (internal; includes LibTorch): a small VGG-style
// CNN that embeds one lung-masked, windowed axial slice, with a linear head for training.
//
//   input [N, C, S, S] (C = 1 for the "single" window, 3 for "three"; S = slice_size)
//   block<l>, l < depth: conv 3x3 -> BatchNorm -> ReLU -> conv 3x3 -> BatchNorm -> ReLU
//                        (base_channels * 2^l channels; biased convolutions without BatchNorm),
//                        2x max pooling after every block but the last
//   global average pooling -> embed: linear to embedding_dim   (Embed(): [N, embedding_dim])
//   head: linear to one logit                                    (forward(): [N])
//
// Tensor names (what travels in a TensorSet) are block<l>.<i>.*, embed.*, head.*; they depend
// only on depth and batch_norm. Not thread-safe (a torch::nn::Module).
#ifndef SCANCOV_MODELS_NN_SLICE_ENCODER_H_
#define SCANCOV_MODELS_NN_SLICE_ENCODER_H_

#include <cstdint>
#include <vector>

#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/severity_config.h"

namespace scancov::nn {

class SliceEncoder : public Network {
 public:
  // Builds the network (on the CPU, default initialisation) for a valid config.
  explicit SliceEncoder(const SliceEncoderConfig& config);

  // Severity logit of each slice: head(Embed(input)), shape [N].
  torch::Tensor forward(const torch::Tensor& input) override;
  // Embedding of each slice, shape [N, embedding_dim].
  torch::Tensor Embed(const torch::Tensor& input);

  absl::Status CheckInputShape(const std::vector<int64_t>& shape) const override;

  const SliceEncoderConfig& config() const { return config_; }

 private:
  SliceEncoderConfig config_;
  std::vector<torch::nn::Sequential> blocks_;
  torch::nn::Linear embed_{nullptr}, head_{nullptr};
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SLICE_ENCODER_H_
