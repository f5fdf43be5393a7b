// Network: the base class of every model in the registry (internal; includes LibTorch).
//
// A Network is a torch::nn::Module whose forward() maps a batch (first dimension) to logits,
// and which can say, before any tensor is built, whether an input shape fits it. Its state
// (parameters and buffers, see state_dict.h) is what travels as a protocol::TensorSet.
// Like any torch::nn::Module it is not thread-safe; share it only read-only in eval mode.
#ifndef SCANCOV_MODELS_NN_NETWORK_H_
#define SCANCOV_MODELS_NN_NETWORK_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace scancov::nn {

class Network : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;

  // Logits for `input` (batch first). The output keeps the batch dimension first: [N] for a
  // binary classifier over rows, [N, 1, H, W] for a segmentation net.
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;

  // OK if an input of `shape` (batch first) fits; else InvalidArgument saying what fits.
  virtual absl::Status CheckInputShape(const std::vector<int64_t>& shape) const = 0;
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_NETWORK_H_
