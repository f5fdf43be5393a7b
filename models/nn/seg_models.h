// The segmentation networks (internal; includes LibTorch): one U-Net written once for 2D and
// 3D convolutions.
//
//   unet2d, unet25d  UNet<2>: input [N, 2k+1, H, W] (k = context_slices), logits [N, C, H, W].
//   unet3d           UNet<3>: input [N, 1, D, H, W], logits [N, C, D, H, W].
//
// Architecture (depth L, base channels b): L levels of two 3x3(x3) convolutions (each followed
// by BatchNorm when batch_norm, and ReLU; with residual, the second ReLU comes after adding a
// shortcut: identity, or a 1x1 convolution where the width changes), level l having b * 2^l
// channels; 2x max pooling between levels; the decoder upsamples with 2x2 transposed
// convolutions, concatenates the skip connection and applies a block; a 1x1 convolution gives
// the logits. Inputs whose sizes are not multiples of 2^(L-1) are padded with zeros (air in
// the seed's normalisation) and the logits cropped back, so any slice or patch size works.
//
// Tensor names (what travels in a TensorSet) are enc<l>.*, up<l>.*, dec<l>.*, head.*; they
// depend only on depth, batch_norm and residual. Not thread-safe (a torch::nn::Module).
#ifndef SCANCOV_MODELS_NN_SEG_MODELS_H_
#define SCANCOV_MODELS_NN_SEG_MODELS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/seg_config.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

// Builds the network a config describes (on the CPU, default initialisation).
std::shared_ptr<Network> MakeSegmentationNetwork(const SegNetConfig& config);

// The network of `config` on `device`, holding `weights` (in train mode, as built). Built under
// TorchGeneratorMutex (its discarded default initialisation draws from the shared generator).
// InvalidArgument for non-finite weights or weights of another layout (state_dict.h).
absl::StatusOr<std::shared_ptr<Network>> LoadSegmentationNetwork(const SegNetConfig& config,
                                                                 const protocol::TensorSet& weights,
                                                                 torch::Device device);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEG_MODELS_H_
