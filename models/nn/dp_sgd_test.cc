// Tests of DP-SGD for the tabular networks (dp_sgd.h): the clipped sum against the gradient of
// the binary cross-entropy worked out by hand, the clipping bound, the noise's spread and the
// Poisson batch sizes against their formulas, and TrainLocal's refusals. Compiled into
// nn_torch_test's single translation unit (see CMakeLists.txt): helpers are prefixed Dp.
#include "models/nn/dp_sgd.h"

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/local_training.h"
#include "models/nn/tabular_models.h"

namespace scancov::nn {
namespace {

// A source of standard normals: seeded (std::mt19937_64) or all zeros.
std::function<absl::Status(absl::Span<double>)> DpNormals(uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine](absl::Span<double> out) {
    std::normal_distribution<double> normal;
    for (double& z : out) z = normal(*engine);
    return absl::OkStatus();
  };
}
absl::Status DpZeros(absl::Span<double> out) {
  for (double& z : out) z = 0.0;
  return absl::OkStatus();
}

DpSgdSettings DpSettings(double clip, double sigma, double q) {
  DpSgdSettings s;
  s.clip_norm = clip;
  s.noise_multiplier = sigma;
  s.sample_rate = q;
  s.steps_per_epoch = static_cast<int64_t>(std::llround(1.0 / q));
  s.standard_normal = DpZeros;
  return s;
}

// logistic over 3 features with weight w and bias b.
std::unique_ptr<LogisticRegression> DpLogistic(const std::vector<float>& w, float b) {
  TabularNetConfig config;
  config.input_dim = 3;
  auto net = std::make_unique<LogisticRegression>(config);
  torch::NoGradGuard no_grad;
  auto params = net->named_parameters();
  params["linear.weight"].copy_(torch::tensor(w).reshape({1, 3}));
  params["linear.bias"].fill_(b);
  return net;
}

torch::Tensor DpRows(const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat).reshape({static_cast<int64_t>(rows.size()), 3});
}

double DpNorm(const std::vector<torch::Tensor>& tensors) {
  double s = 0.0;
  for (const torch::Tensor& t : tensors) s += t.to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(s);
}

// With zero noise, one step's gradient is (sum over rows of clip_C((p_i - y_i) (x_i, 1))) / (qN):
// the BCE gradient of a logistic model, computed here from its formula, not by autograd.
TEST(DpSgdTest, ZeroNoiseStepIsTheSumOfClippedPerExampleBceGradientsOverQN) {
  const std::vector<float> w = {0.5f, -1.0f, 0.25f};
  const float b = 0.1f;
  const std::vector<std::vector<float>> x = {{1, 2, 3}, {-0.5f, 0.2f, 0.1f}, {4, -3, 2}};
  const std::vector<float> y = {1, 0, 0};
  const double clip = 1.5, q = 0.01, n = 300;
  std::vector<double> expected(4, 0.0);  // weight 0..2, bias
  for (size_t i = 0; i < x.size(); ++i) {
    const double logit = w[0] * x[i][0] + w[1] * x[i][1] + w[2] * x[i][2] + b;
    const double r = 1.0 / (1.0 + std::exp(-logit)) - y[i];
    const std::vector<double> g = {r * x[i][0], r * x[i][1], r * x[i][2], r};
    const double norm =
        std::abs(r) * std::sqrt(x[i][0] * x[i][0] + x[i][1] * x[i][1] + x[i][2] * x[i][2] + 1.0);
    const double factor = std::min(1.0, clip / (norm + 1e-6));
    for (int k = 0; k < 4; ++k) expected[k] += g[k] * factor;
  }
  auto net = DpLogistic(w, b);
  const ClippedGradients clipped = ClippedGradientSum(*net, DpRows(x), torch::tensor(y), clip);
  EXPECT_GT(clipped.norms[0].item<double>(), clip) << "row 0 is clipped: the test covers it";
  EXPECT_GT(clipped.norms[2].item<double>(), clip) << "row 2 is clipped: the test covers it";
  EXPECT_LT(clipped.norms[1].item<double>(), clip) << "row 1 is not";
  SetNoisyGradients(net->parameters(), clipped, DpSettings(clip, 1.0, q), q * n);
  const torch::Tensor gw = net->named_parameters()["linear.weight"].grad().reshape({3});
  const torch::Tensor gb = net->named_parameters()["linear.bias"].grad();
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(gw[k].item<double>(), expected[k] / (q * n), 1e-6);
  EXPECT_NEAR(gb[0].item<double>(), expected[3] / (q * n), 1e-6);
}

TEST(DpSgdTest, EveryPerExampleGradientIsClippedToC) {
  TabularNetConfig config;
  config.input_dim = 3;
  config.hidden = {8, 4};
  config.dropout = 0.0;  // the same network for the guess below and the gradients
  config.batch_norm = false;
  torch::manual_seed(3);
  SeverityMlp net(config);
  net.train();
  const double clip = 0.5;
  // The last row's features are huge: its gradient is far above C before clipping.
  const torch::Tensor x = DpRows({{1, 2, 3}, {0.1f, 0.0f, -0.2f}, {-2, 1, 0}, {1e4f, -2e4f, 3e4f}});
  // The huge row's label is the opposite of the network's guess, so that p - y is near 1.
  const float guess = net.forward(x.narrow(0, 3, 1)).item<float>() > 0 ? 1.0f : 0.0f;
  const torch::Tensor y = torch::tensor(std::vector<float>{1, 0, 1, 1 - guess});
  for (int64_t i = 0; i < x.size(0); ++i) {
    const ClippedGradients one =
        ClippedGradientSum(net, x.narrow(0, i, 1), y.narrow(0, i, 1), clip);
    EXPECT_LE(DpNorm(one.sum), clip * (1 + 1e-6)) << "row " << i;
    if (one.norms[0].item<double>() > clip) {
      EXPECT_NEAR(DpNorm(one.sum), clip, 1e-4) << "row " << i << " is scaled to C";
    } else {
      EXPECT_NEAR(DpNorm(one.sum), one.norms[0].item<double>(), 1e-5) << "row " << i;
    }
  }
  const ClippedGradients huge = ClippedGradientSum(net, x.narrow(0, 3, 1), y.narrow(0, 3, 1), clip);
  EXPECT_GT(huge.norms[0].item<double>(), 100 * clip);
  const ClippedGradients all = ClippedGradientSum(net, x, y, clip);
  EXPECT_LE(DpNorm(all.sum), 4 * clip * (1 + 1e-6)) << "a sum of 4 clipped gradients";
}

// sigma C / (qN) = 1.5 x 0.7 / (0.02 x 1000) = 0.0525 on each of ~22,000 coordinates: the
// sample sd has relative standard error 1 / sqrt(2 x 22,000) = 0.5%; the tolerance is 3%.
TEST(DpSgdTest, NoiseSdIsSigmaCOverQN) {
  TabularNetConfig config;
  config.input_dim = 20;
  config.hidden = {256, 64};
  config.batch_norm = false;
  SeverityMlp net(config);
  DpSgdSettings s = DpSettings(0.7, 1.5, 0.02);
  s.standard_normal = DpNormals(11);
  const torch::Tensor none = torch::zeros({0, 20});
  const ClippedGradients clipped = ClippedGradientSum(net, none, torch::zeros({0}), 0.7);
  SetNoisyGradients(net.parameters(), clipped, s, 0.02 * 1000);
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : net.parameters()) grads.push_back(p.grad().flatten());
  const torch::Tensor g = torch::cat(grads).to(torch::kFloat64);
  ASSERT_GT(g.numel(), 20000);
  EXPECT_NEAR(g.std().item<double>(), 0.0525, 0.03 * 0.0525);
  EXPECT_NEAR(g.mean().item<double>(), 0.0, 4 * 0.0525 / std::sqrt(g.numel()));
}

// 400 steps over 2,000 rows at q = 0.05: the mean batch size is qN = 100 with standard error
// sqrt(qN(1-q) / 400) = 0.49; the tolerance is 2.5 (5 standard errors).
TEST(DpSgdTest, PoissonBatchSizesAverageQN) {
  DpSgdSettings s = DpSettings(1.0, 1.0, 0.05);
  s.standard_normal = DpNormals(5);
  double total = 0.0;
  std::vector<int> hits(2000, 0);
  for (int step = 0; step < 400; ++step) {
    for (int64_t row : PoissonRows(2000, s)) {
      ++hits[row];
      total += 1;
    }
  }
  EXPECT_NEAR(total / 400, 100.0, 2.5);
  int never = 0;
  for (int h : hits) never += h == 0;
  // P(a row is never drawn) = 0.95^400 ~ 1e-9.
  EXPECT_EQ(never, 0);
  s.sample_rate = 1.0;
  EXPECT_EQ(PoissonRows(50, s).size(), 50u) << "q = 1: every row";
}

TabularData DpTable(int64_t rows) {
  TabularData d;
  d.rows = rows;
  d.cols = 3;
  std::mt19937_64 engine(7);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < rows; ++i) {
    float s = 0;
    for (int c = 0; c < 3; ++c) {
      d.x.push_back(normal(engine));
      s += d.x.back();
    }
    d.y.push_back(s > 0 ? 1.0f : 0.0f);
  }
  return d;
}

TEST(DpSgdTest, TrainLocalTakesEpochsTimesStepsPerEpochAndLearns) {
  const TabularData data = DpTable(400);
  auto global = InitModel("logistic", R"({"input_dim": 3})", 1);
  ASSERT_TRUE(global.ok()) << global.status();
  TrainConfig config;
  config.model = "logistic";
  config.model_config_json = R"({"input_dim": 3})";
  config.epochs = 3;
  config.learning_rate = 0.05;
  config.device = "cpu";
  config.dp_sgd = DpSettings(1.0, 0.5, 0.05);
  config.dp_sgd->standard_normal = DpNormals(9);
  auto trained = TrainLocal(*global, data, config);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ(trained->metrics.steps, 3 * 20);
  EXPECT_EQ(trained->num_samples, 400);
  EXPECT_LT(trained->metrics.loss_end, trained->metrics.loss_start - 0.1);
}

TEST(DpSgdTest, TrainLocalRefusesBatchNormAndBadSettings) {
  const TabularData data = DpTable(40);
  const std::string bn = R"({"input_dim": 3, "hidden": [4], "batch_norm": true})";
  auto global = InitModel("severity_mlp", bn, 1);
  ASSERT_TRUE(global.ok()) << global.status();
  TrainConfig config;
  config.model = "severity_mlp";
  config.model_config_json = bn;
  config.device = "cpu";
  config.dp_sgd = DpSettings(1.0, 1.0, 0.1);
  auto refused = TrainLocal(*global, data, config);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("BatchNorm"), std::string::npos) << refused.status();
  config.dp_sgd->standard_normal = nullptr;
  EXPECT_EQ(TrainLocal(*global, data, config).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::nn
