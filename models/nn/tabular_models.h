// Networks over tabular admission features (internal; includes LibTorch). Both map a batch
// [N, input_dim] to one logit per row, [N].
//
//   logistic      one Linear(input_dim, 1): plain logistic regression.
//                 State: linear.weight [1, D], linear.bias [1].
//   severity_mlp  for each hidden width h: Linear -> BatchNorm1d (unless batch_norm is false)
//                 -> ReLU -> Dropout (always present, so names do not depend on the rate),
//                 then Linear(last, 1).
//                 State: body.<i>.weight/bias for Linear and BatchNorm layers,
//                 body.<i>.running_mean/running_var/num_batches_tracked, head.weight/bias
//                 (with batch_norm, hidden layer k is body.4k .. body.4k+3).
//
// Defined in local_training.cc with their training, so that the family is one LibTorch
// translation unit. Not thread-safe (torch::nn::Module).
#ifndef SCANCOV_MODELS_NN_TABULAR_MODELS_H_
#define SCANCOV_MODELS_NN_TABULAR_MODELS_H_

#include <cstdint>
#include <vector>

#include "models/nn/network.h"
#include "models/nn/tabular_config.h"

namespace scancov::nn {

class LogisticRegression : public Network {
 public:
  // `config` must pass ValidateTabularNetConfig and have no hidden layers and no dropout.
  explicit LogisticRegression(const TabularNetConfig& config);
  torch::Tensor forward(const torch::Tensor& input) override;
  absl::Status CheckInputShape(const std::vector<int64_t>& shape) const override;

 private:
  int64_t input_dim_;
  torch::nn::Linear linear_{nullptr};
};

class SeverityMlp : public Network {
 public:
  // `config` must pass ValidateTabularNetConfig and have at least one hidden layer.
  explicit SeverityMlp(const TabularNetConfig& config);
  torch::Tensor forward(const torch::Tensor& input) override;
  absl::Status CheckInputShape(const std::vector<int64_t>& shape) const override;

 private:
  int64_t input_dim_;
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_TABULAR_MODELS_H_
