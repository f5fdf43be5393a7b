#include "models/nn/tabular_models.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/nn/model_registry.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {
namespace {

absl::Status CheckRowsOf(const std::vector<int64_t>& shape, int64_t input_dim,
                         absl::string_view model) {
  if (shape.size() == 2 && shape[0] >= 0 && shape[1] == input_dim) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(model, ": expected input [N, ", input_dim,
                                                 "], got ", protocol::ShapeString(shape)));
}

absl::StatusOr<std::shared_ptr<Network>> MakeLogistic(absl::string_view config_json) {
  SCV_ASSIGN_OR_RETURN(TabularNetConfig config, ParseTabularNetConfig(config_json));
  if (!config.hidden.empty() || config.dropout != 0.0) {
    return absl::InvalidArgumentError(
        "logistic: takes no \"hidden\" layers and no \"dropout\" (use severity_mlp)");
  }
  return std::make_shared<LogisticRegression>(config);
}

absl::StatusOr<std::shared_ptr<Network>> MakeSeverityMlp(absl::string_view config_json) {
  SCV_ASSIGN_OR_RETURN(TabularNetConfig config, ParseTabularNetConfig(config_json));
  if (config.hidden.empty()) {
    return absl::InvalidArgumentError(
        "severity_mlp: needs at least one \"hidden\" layer (use logistic for none)");
  }
  return std::make_shared<SeverityMlp>(config);
}

}  // namespace

LogisticRegression::LogisticRegression(const TabularNetConfig& config)
    : Network("LogisticRegression"), input_dim_(config.input_dim) {
  linear_ = register_module("linear", torch::nn::Linear(config.input_dim, 1));
}

torch::Tensor LogisticRegression::forward(const torch::Tensor& input) {
  return linear_->forward(input).squeeze(-1);
}

absl::Status LogisticRegression::CheckInputShape(const std::vector<int64_t>& shape) const {
  return CheckRowsOf(shape, input_dim_, "logistic");
}

SeverityMlp::SeverityMlp(const TabularNetConfig& config)
    : Network("SeverityMlp"), input_dim_(config.input_dim) {
  torch::nn::Sequential body;
  int64_t width = config.input_dim;
  for (int64_t hidden : config.hidden) {
    body->push_back(torch::nn::Linear(width, hidden));
    if (config.batch_norm) body->push_back(torch::nn::BatchNorm1d(hidden));
    body->push_back(torch::nn::ReLU());
    // Always present (identity at p = 0) so that tensor names do not depend on the dropout
    // rate: sites that train with different rates still share one weight layout.
    body->push_back(torch::nn::Dropout(config.dropout));
    width = hidden;
  }
  body_ = register_module("body", body);
  head_ = register_module("head", torch::nn::Linear(width, 1));
}

torch::Tensor SeverityMlp::forward(const torch::Tensor& input) {
  return head_->forward(body_->forward(input)).squeeze(-1);
}

absl::Status SeverityMlp::CheckInputShape(const std::vector<int64_t>& shape) const {
  return CheckRowsOf(shape, input_dim_, "severity_mlp");
}

void RegisterTabularModels(ModelRegistry* registry) {
  // Both names are fresh in a new registry, so Register cannot fail here.
  registry->Register("logistic", MakeLogistic).IgnoreError();
  registry->Register("severity_mlp", MakeSeverityMlp).IgnoreError();
}

}  // namespace scancov::nn
