// Tests of the shared local-training loop (local_trainer.h) on a one-parameter network whose
// Adam steps can be computed by hand. Compiled into nn_torch_test's single translation unit
// with state_dict_test.cc (see CMakeLists.txt).
#include "models/nn/local_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/network.h"

namespace scancov::nn {
namespace {

// forward(x) = w * x with one float64 parameter w, so that the loss mean(w * x) has gradient
// mean(x) and every step can be followed on paper.
class ScaleNet : public Network {
 public:
  explicit ScaleNet(double w) {
    w_ = register_parameter("w", torch::full({1}, w, torch::kFloat64));
  }
  torch::Tensor forward(const torch::Tensor& input) override { return input * w_; }
  absl::Status CheckInputShape(const std::vector<int64_t>&) const override {
    return absl::OkStatus();
  }
  double w() const { return w_.item<double>(); }

 private:
  torch::Tensor w_;
};

TrainingBatch Ones(int64_t n) {
  return TrainingBatch{torch::ones({n}, torch::kFloat64), torch::Tensor(), n};
}

torch::Tensor MeanOutput(const torch::Tensor& output, const TrainingBatch&) {
  return output.mean();
}

TEST(LocalTrainerTest, ProximalTermMatchesAHandComputedValue) {
  // ||(1, -2) - (0.5, 0)||^2 = 0.25 + 4 = 4.25 and ||3 - 1||^2 = 4: mu / 2 * 8.25 = 0.825.
  const torch::Tensor a = torch::tensor({1.0, -2.0}, torch::kFloat64).requires_grad_();
  const torch::Tensor b = torch::tensor({{3.0}}, torch::kFloat64).requires_grad_();
  const std::vector<torch::Tensor> anchor = {torch::tensor({0.5, 0.0}, torch::kFloat64),
                                             torch::tensor({{1.0}}, torch::kFloat64)};
  torch::Tensor term = ProximalTerm({a, b}, anchor, 0.2);
  EXPECT_NEAR(term.item<double>(), 0.825, 1e-15);
  // Its gradient is mu * (p - anchor): (0.1, -0.4) and 0.4.
  term.backward();
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.1, 1e-15);
  EXPECT_NEAR(a.grad()[1].item<double>(), -0.4, 1e-15);
  EXPECT_NEAR(b.grad()[0][0].item<double>(), 0.4, 1e-15);
  // At the anchor, and without parameters, it is 0.
  EXPECT_EQ(ProximalTerm(anchor, anchor, 5.0).item<double>(), 0.0);
  EXPECT_EQ(ProximalTerm({}, {}, 5.0).item<double>(), 0.0);
}

// Two Adam steps (lr 0.1, betas 0.9 / 0.999, eps 1e-8) on mean(w * 1), whose gradient is 1:
//   step 1: the FedProx gradient is 0 at the global weight: m = 0.1, v = 0.001, and
//           w1 = w0 - 0.1 * (0.1 / 0.1) / (sqrt(0.001 / 0.001) + 1e-8) = w0 - 0.1 (to 1e-9);
//   step 2: g = 1 + mu * (w1 - w0) = 1 - 0.1 mu, m = 0.09 + 0.1 g, v = 0.000999 + 0.001 g^2,
//           w2 = w1 - 0.1 * (m / 0.19) / (sqrt(v / 0.001999) + 1e-8).
double HandComputedTwoSteps(double w0, double mu) {
  const double w1 = w0 - 0.1 / (1.0 + 1e-8);
  const double g = 1.0 + mu * (w1 - w0);
  const double m = 0.9 * 0.1 + 0.1 * g, v = 0.999 * 0.001 + 0.001 * g * g;
  return w1 - 0.1 * (m / (1.0 - 0.81)) / (std::sqrt(v / (1.0 - 0.998001)) + 1e-8);
}

TEST(LocalTrainerTest, FedProxPullsTowardsTheWeightsHeldOnEntry) {
  for (double mu : {0.0, 2.0}) {
    ScaleNet net(2.0);
    LocalTrainingOptions options;
    options.epochs = 2;
    options.batches_per_epoch = 1;
    options.learning_rate = 0.1;
    options.proximal_mu = mu;
    const LocalTrainingStats stats = TrainLocally(
        net, options, [](int, int64_t) { return Ones(3); }, MeanOutput);
    EXPECT_EQ(stats.steps, 2);
    EXPECT_NEAR(net.w(), HandComputedTwoSteps(2.0, mu), 1e-12) << "mu " << mu;
  }
  // mu = 2 holds the second step back: 2 - 0.1 - 0.0988... instead of 2 - 0.2.
  EXPECT_NEAR(HandComputedTwoSteps(2.0, 0.0), 1.8, 1e-7);
  EXPECT_NEAR(HandComputedTwoSteps(2.0, 2.0), 1.80119, 1e-5);
}

TEST(LocalTrainerTest, WalksTheBatchesInOrderSkipsEmptyOnesAndReportsEpochMeans) {
  ScaleNet net(1.0);
  LocalTrainingOptions options;
  options.epochs = 3;
  options.batches_per_epoch = 3;
  options.learning_rate = 0.05;
  std::vector<std::pair<int, int64_t>> calls;
  auto batches = [&calls](int epoch, int64_t index) {
    calls.emplace_back(epoch, index);
    // The middle batch of each epoch has no loss terms: skipped without a step.
    return index == 1 ? TrainingBatch{torch::ones({2}, torch::kFloat64), torch::Tensor(), 0}
                      : Ones(2);
  };
  std::vector<std::vector<double>> losses(options.epochs);
  int loss_calls = 0;
  auto loss = [&](const torch::Tensor& output, const TrainingBatch& batch) {
    EXPECT_GT(batch.terms, 0);
    const torch::Tensor value = output.mean();
    losses[calls.back().first].push_back(value.item<double>());
    ++loss_calls;
    return value;
  };
  const LocalTrainingStats stats = TrainLocally(net, options, batches, loss);
  const std::vector<std::pair<int, int64_t>> expected = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1},
                                                         {1, 2}, {2, 0}, {2, 1}, {2, 2}};
  EXPECT_EQ(calls, expected);
  EXPECT_EQ(stats.steps, 6);
  EXPECT_EQ(loss_calls, 6);
  ASSERT_EQ(losses[0].size(), 2u);
  ASSERT_EQ(losses[2].size(), 2u);
  EXPECT_NEAR(stats.first_epoch_loss, (losses[0][0] + losses[0][1]) / 2, 1e-12);
  EXPECT_NEAR(stats.last_epoch_loss, (losses[2][0] + losses[2][1]) / 2, 1e-12);
  EXPECT_LT(stats.last_epoch_loss, stats.first_epoch_loss);  // w falls, and so does mean(w)
  EXPECT_TRUE(net.is_training());
}

TEST(LocalTrainerTest, ZeroEpochsTouchNothing) {
  ScaleNet net(1.5);
  LocalTrainingOptions options;
  options.epochs = 0;
  options.batches_per_epoch = 4;
  int calls = 0;
  const LocalTrainingStats stats = TrainLocally(
      net, options,
      [&calls](int, int64_t) {
        ++calls;
        return Ones(1);
      },
      MeanOutput);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(stats.steps, 0);
  EXPECT_EQ(stats.first_epoch_loss, 0.0);
  EXPECT_EQ(net.w(), 1.5);
}

TEST(LocalTrainerTest, EpochOrderIsAPermutationDrawnFromSeedAndEpoch) {
  const std::vector<int64_t> order = EpochOrder(50, 1, 7);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(order, EpochOrder(50, 1, 7));
  EXPECT_NE(order, EpochOrder(50, 2, 7));
  EXPECT_NE(order, EpochOrder(50, 1, 8));
  EXPECT_TRUE(EpochOrder(0, 0, 7).empty());
}

TEST(LocalTrainerTest, ExportTrainedRefusesNonFiniteWeightsOrLoss) {
  ScaleNet net(0.5);
  absl::StatusOr<protocol::TensorSet> weights = ExportTrained(net, 0.3);
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(protocol::ToDoubles(*weights->Find("w")), std::vector<double>{0.5});
  absl::Status diverged = ExportTrained(net, std::nan("")).status();
  EXPECT_EQ(diverged.code(), absl::StatusCode::kInternal);
  EXPECT_NE(diverged.message().find("training diverged"), std::string::npos) << diverged;
  ScaleNet broken(std::numeric_limits<double>::infinity());
  diverged = ExportTrained(broken, 0.3).status();
  EXPECT_EQ(diverged.code(), absl::StatusCode::kInternal);
  EXPECT_NE(diverged.message().find("'w'"), std::string::npos) << diverged;
}

TEST(LocalTrainerTest, CheckTrainingSettingsNamesTheCallerAndTheField) {
  EXPECT_TRUE(CheckTrainingSettings("X", 0, 1, 1e-3, 0.0).ok());
  EXPECT_EQ(CheckTrainingSettings("X", -1, 1, 1e-3, 0.0).message(), "X: epochs must be >= 0");
  EXPECT_EQ(CheckTrainingSettings("X", 1, 0, 1e-3, 0.0).message(), "X: batch_size must be >= 1");
  EXPECT_EQ(CheckTrainingSettings("X", 1, 1, 0.0, 0.0).message(),
            "X: learning_rate must be finite and > 0");
  EXPECT_EQ(CheckTrainingSettings("X", 1, 1, 1e-3, std::nan("")).message(),
            "X: proximal_mu must be finite and >= 0");
}

}  // namespace
}  // namespace scancov::nn
