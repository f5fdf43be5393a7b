// Conversion between a LibTorch module's state and protocol::TensorSet (internal; includes
// LibTorch). The state is every parameter followed by every buffer (BatchNorm running_mean,
// running_var, num_batches_tracked), named as named_parameters() / named_buffers() name them
// (dotted paths such as "body.1.running_mean"), in that order.
//
// Both functions are thread-compatible: they must not race with other uses of the module.
#ifndef SCANCOV_MODELS_NN_STATE_DICT_H_
#define SCANCOV_MODELS_NN_STATE_DICT_H_

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

// The wire dtype of a LibTorch scalar type; Unimplemented for types the wire has no name for.
absl::StatusOr<protocol::DType> ToWireDType(c10::ScalarType type);
// The LibTorch scalar type of a wire dtype (every wire dtype has one).
c10::ScalarType ToTorchDType(protocol::DType dtype);

// Copies the module's parameters and buffers (from any device) into a TensorSet: contiguous,
// little-endian, on the CPU. Fails (Unimplemented) on a dtype the wire cannot carry.
absl::StatusOr<protocol::TensorSet> ExportState(const torch::nn::Module& module);

// Copies `state` into the module's parameters and buffers, on the device each of them lives
// on, without recording gradients. The set must hold exactly the module's tensor names (any
// order) with the same shapes and dtypes; otherwise InvalidArgument names the first offending
// tensor (in the module's order) with the expected and actual layout, and the module is left
// unchanged. `module` is not owned and must be non-null.
absl::Status ImportState(const protocol::TensorSet& state, torch::nn::Module* module);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_STATE_DICT_H_
