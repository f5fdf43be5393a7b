// Tests of the LibTorch-free facade (local_training.h, tabular_config.h, tabular_data.h).
// This translation unit includes no LibTorch header, as the node's code does not.
#include "models/nn/local_training.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/env.h"
#include "core/progress.h"
#include "gtest/gtest.h"
#include "models/nn/tabular_config.h"
#include "models/nn/tabular_data.h"
#include "models/nn/weight_pins_test_util.h"

namespace scancov::nn {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

constexpr char kMlpConfig[] = R"({"input_dim": 6, "hidden": [16, 8], "dropout": 0.1})";
constexpr char kLogisticConfig[] = R"({"input_dim": 6})";

// Rows with standard-normal features labelled by the sign of a fixed linear score: linearly
// separable by construction.
TabularData Separable(int64_t rows, uint64_t seed) {
  const std::vector<double> w = {1.5, -2.0, 0.8, 0.0, 1.2, -0.6};
  Random rng(seed);
  TabularData data;
  data.rows = rows;
  data.cols = static_cast<int64_t>(w.size());
  for (int64_t r = 0; r < rows; ++r) {
    double score = 0.3;
    for (double wj : w) {
      const double x = rng.Normal();
      data.x.push_back(static_cast<float>(x));
      score += wj * x;
    }
    data.y.push_back(score > 0 ? 1.0f : 0.0f);
  }
  return data;
}

TrainConfig Config(const std::string& model, const std::string& json) {
  TrainConfig config;
  config.model = model;
  config.model_config_json = json;
  config.epochs = 15;
  config.batch_size = 32;
  config.learning_rate = 0.01;
  config.seed = 42;
  config.device = "cpu";
  return config;
}

bool SameBytes(const TensorSet& a, const TensorSet& b) {
  if (!a.CheckSameLayout(b).ok()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.tensors()[i].bytes != b.tensors()[i].bytes) return false;
  }
  return true;
}

// Largest |a - b| over the floating tensors of two sets of the same layout.
double MaxAbsDiff(const TensorSet& a, const TensorSet& b, bool parameters_only) {
  double worst = 0.0;
  for (const Tensor& t : a.tensors()) {
    if (!protocol::IsFloating(t.dtype)) continue;
    if (parameters_only && t.name.find("running_") != std::string::npos) continue;
    const std::vector<double> x = protocol::ToDoubles(t);
    const std::vector<double> y = protocol::ToDoubles(*b.Find(t.name));
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  }
  return worst;
}

void ExpectInvalid(const absl::Status& status, const std::string& fragment) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(fragment), std::string::npos)
      << "'" << fragment << "' not in: " << status;
}

TEST(TabularConfigTest, ParsesAndRoundTrips) {
  absl::StatusOr<TabularNetConfig> config =
      ParseTabularNetConfig(R"({"input_dim": 12, "hidden": [32, 16], "dropout": 0.1})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->input_dim, 12);
  EXPECT_EQ(config->hidden, (std::vector<int64_t>{32, 16}));
  EXPECT_DOUBLE_EQ(config->dropout, 0.1);
  EXPECT_TRUE(config->batch_norm);
  absl::StatusOr<TabularNetConfig> again = ParseTabularNetConfig(TabularNetConfigToJson(*config));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->input_dim, 12);
  EXPECT_EQ(again->hidden, config->hidden);
  EXPECT_DOUBLE_EQ(again->dropout, 0.1);

  absl::StatusOr<TabularNetConfig> minimal = ParseTabularNetConfig(R"({"input_dim": 3})");
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_TRUE(minimal->hidden.empty());
  EXPECT_EQ(minimal->dropout, 0.0);
}

TEST(TabularConfigTest, RefusesMalformedConfigs) {
  ExpectInvalid(ParseTabularNetConfig("{").status(), "not valid JSON");
  ExpectInvalid(ParseTabularNetConfig("[1, 2]").status(), "JSON object");
  ExpectInvalid(ParseTabularNetConfig(R"({"hidden": [4]})").status(), "input_dim");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 0})").status(), "input_dim");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 2.5})").status(), "input_dim");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 3, "hidden": [4, -1]})").status(),
                "\"hidden\"[1]");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 3, "hidden": 4})").status(), "hidden");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 3, "dropout": 1.0})").status(), "dropout");
  ExpectInvalid(ParseTabularNetConfig(R"({"input_dim": 3, "dropuot": 0.1})").status(),
                "unknown key \"dropuot\"");
}

TEST(TabularDataTest, RefusesInconsistentOrInvalidData) {
  TabularData good = Separable(4, 1);
  EXPECT_TRUE(ValidateTabularData(good).ok());

  TabularData short_x = good;
  short_x.x.pop_back();
  ExpectInvalid(ValidateTabularData(short_x), "rows * cols");
  TabularData short_y = good;
  short_y.y.pop_back();
  ExpectInvalid(ValidateTabularData(short_y), "labels");
  TabularData bad_label = good;
  bad_label.y[2] = 0.5f;
  ExpectInvalid(ValidateTabularData(bad_label), "label at row 2");
  TabularData nan_feature = good;
  nan_feature.x[1 * 6 + 4] = std::nanf("");
  ExpectInvalid(ValidateTabularData(nan_feature), "row 1, column 4");
  TabularData empty;
  ExpectInvalid(ValidateTabularData(empty), "at least one row");
}

TEST(LocalTrainingTest, ListsTheRegisteredModels) {
  const std::vector<std::string> models = RegisteredModels();
  EXPECT_NE(std::find(models.begin(), models.end(), "logistic"), models.end());
  EXPECT_NE(std::find(models.begin(), models.end(), "severity_mlp"), models.end());
}

TEST(LocalTrainingTest, InitModelIsDeterministicPerSeed) {
  absl::StatusOr<TensorSet> a = InitModel("severity_mlp", kMlpConfig, 7);
  absl::StatusOr<TensorSet> b = InitModel("severity_mlp", kMlpConfig, 7);
  absl::StatusOr<TensorSet> c = InitModel("severity_mlp", kMlpConfig, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status() << b.status() << c.status();
  EXPECT_EQ(a->size(), 16u);  // 10 parameters + 3 buffers per BatchNorm layer
  EXPECT_NE(a->Find("body.1.running_mean"), nullptr);
  EXPECT_TRUE(SameBytes(*a, *b));
  EXPECT_FALSE(SameBytes(*a, *c));
  EXPECT_TRUE(a->CheckSameLayout(*c).ok());
  // The dropout rate is a training choice: it does not change the weight layout.
  absl::StatusOr<TensorSet> no_dropout =
      InitModel("severity_mlp", R"({"input_dim": 6, "hidden": [16, 8]})", 7);
  ASSERT_TRUE(no_dropout.ok()) << no_dropout.status();
  EXPECT_TRUE(SameBytes(*a, *no_dropout));

  EXPECT_EQ(InitModel("unet9", kMlpConfig, 7).status().code(), absl::StatusCode::kNotFound);
  ExpectInvalid(InitModel("severity_mlp", R"({"input_dim": 6})", 7).status(), "hidden");
}

TEST(LocalTrainingTest, MlpLearnsASeparableProblem) {
  const TabularData train = Separable(400, 1);
  const TabularData test = Separable(200, 2);
  absl::StatusOr<TensorSet> global = InitModel("severity_mlp", kMlpConfig, 3);
  ASSERT_TRUE(global.ok()) << global.status();
  absl::StatusOr<TrainResult> result =
      TrainLocal(*global, train, Config("severity_mlp", kMlpConfig));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->num_samples, 400);
  EXPECT_EQ(result->metrics.epochs, 15);
  EXPECT_EQ(result->metrics.steps, 15 * 13);  // ceil(400 / 32) batches per epoch
  EXPECT_EQ(result->metrics.device, "cpu");
  EXPECT_LT(result->metrics.loss_end, 0.5 * result->metrics.loss_start);
  EXPECT_TRUE(result->weights.CheckSameLayout(*global).ok());
  // The BatchNorm statistics moved with training and came back with the weights.
  EXPECT_NE(result->weights.Find("body.1.running_mean")->bytes,
            global->Find("body.1.running_mean")->bytes);

  absl::StatusOr<EvalResult> eval =
      Evaluate(result->weights, test, "severity_mlp", kMlpConfig, "cpu");
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_GT(eval->accuracy, 0.9);
  EXPECT_EQ(eval->num_samples, 200);
  absl::StatusOr<EvalResult> before = Evaluate(*global, test, "severity_mlp", kMlpConfig, "cpu");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_LT(eval->loss, before->loss);
}

TEST(LocalTrainingTest, LogisticLearnsASeparableProblem) {
  const TabularData train = Separable(400, 1);
  absl::StatusOr<TensorSet> global = InitModel("logistic", kLogisticConfig, 3);
  ASSERT_TRUE(global.ok()) << global.status();
  absl::StatusOr<TrainResult> result =
      TrainLocal(*global, train, Config("logistic", kLogisticConfig));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(result->metrics.loss_end, result->metrics.loss_start);
  absl::StatusOr<EvalResult> eval =
      Evaluate(result->weights, Separable(200, 2), "logistic", kLogisticConfig, "auto");
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_GT(eval->accuracy, 0.9);
}

TEST(LocalTrainingTest, SameSeedGivesIdenticalWeights) {
  const TabularData train = Separable(150, 4);
  const TensorSet global = *InitModel("severity_mlp", kMlpConfig, 5);
  TrainConfig config = Config("severity_mlp", kMlpConfig);
  config.epochs = 3;
  absl::StatusOr<TrainResult> a = TrainLocal(global, train, config);
  absl::StatusOr<TrainResult> b = TrainLocal(global, train, config);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_TRUE(SameBytes(a->weights, b->weights));
  EXPECT_EQ(a->metrics.loss_end, b->metrics.loss_end);
  config.seed += 1;  // another shuffle and other Dropout masks
  absl::StatusOr<TrainResult> c = TrainLocal(global, train, config);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(SameBytes(a->weights, c->weights));
}

TEST(LocalTrainingTest, LargeProximalTermKeepsWeightsNearTheGlobalOnes) {
  const TabularData train = Separable(200, 6);
  const TensorSet global = *InitModel("severity_mlp", kMlpConfig, 9);
  TrainConfig config = Config("severity_mlp", kMlpConfig);
  config.epochs = 5;
  absl::StatusOr<TrainResult> free = TrainLocal(global, train, config);
  config.proximal_mu = 1e4;
  absl::StatusOr<TrainResult> tied = TrainLocal(global, train, config);
  ASSERT_TRUE(free.ok() && tied.ok()) << free.status() << tied.status();
  const double free_drift = MaxAbsDiff(free->weights, global, /*parameters_only=*/true);
  const double tied_drift = MaxAbsDiff(tied->weights, global, /*parameters_only=*/true);
  EXPECT_GT(free_drift, 0.1);
  EXPECT_LT(tied_drift, 0.2 * free_drift);
}

// One short FedProx round of the MLP (Dropout, BatchNorm, a last single row merged into the
// previous batch) gives the weights recorded before the training loop was shared by the three
// network families.
TEST(LocalTrainingTest, OneRoundGivesThePinnedWeights) {
  const TabularData train = Separable(49, 8);
  const TensorSet global = *InitModel("severity_mlp", kMlpConfig, 5);
  TrainConfig config = Config("severity_mlp", kMlpConfig);
  config.epochs = 2;
  config.batch_size = 16;
  config.proximal_mu = 0.5;
  absl::StatusOr<TrainResult> result = TrainLocal(global, train, config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metrics.steps, 6);
  std::vector<double> pins =
      WeightPins(result->weights, {"body.0.weight", "body.1.running_mean", "head.bias"});
  pins.push_back(result->metrics.loss_end);
  ExpectPins(pins, {0.258954644, -0.317876875, -0.077915512, -0.0564060174, -0.240195483,
                    38.7321327, 45.1138848, 0.671096589});
}

TEST(LocalTrainingTest, EvaluateMatchesAManualLogisticComputation) {
  const TabularData data = Separable(50, 11);
  const TensorSet weights = *InitModel("logistic", kLogisticConfig, 12);
  const std::vector<double> w = protocol::ToDoubles(*weights.Find("linear.weight"));
  const std::vector<double> b = protocol::ToDoubles(*weights.Find("linear.bias"));
  ASSERT_EQ(w.size(), 6u);
  ASSERT_EQ(b.size(), 1u);
  absl::StatusOr<EvalResult> eval = Evaluate(weights, data, "logistic", kLogisticConfig, "cpu");
  ASSERT_TRUE(eval.ok()) << eval.status();
  ASSERT_EQ(eval->probabilities.size(), 50u);
  double loss = 0.0;
  int correct = 0;
  for (int64_t r = 0; r < data.rows; ++r) {
    double z = b[0];
    for (int64_t j = 0; j < data.cols; ++j) z += w[j] * data.x[r * data.cols + j];
    const double p = 1.0 / (1.0 + std::exp(-z));
    EXPECT_GT(eval->probabilities[r], 0.0);
    EXPECT_LT(eval->probabilities[r], 1.0);
    EXPECT_NEAR(eval->probabilities[r], p, 1e-6) << "row " << r;
    loss -= data.y[r] == 1.0f ? std::log(p) : std::log(1.0 - p);
    correct += (p >= 0.5) == (data.y[r] == 1.0f);
  }
  EXPECT_NEAR(eval->loss, loss / 50.0, 1e-6);
  EXPECT_DOUBLE_EQ(eval->accuracy, correct / 50.0);
}

TEST(LocalTrainingTest, RefusesBadInputs) {
  const TabularData train = Separable(40, 13);
  const TensorSet global = *InitModel("severity_mlp", kMlpConfig, 1);
  const TrainConfig good = Config("severity_mlp", kMlpConfig);

  TabularData nan_feature = train;
  nan_feature.x[7] = std::nanf("");
  ExpectInvalid(TrainLocal(global, nan_feature, good).status(), "row 1, column 1");
  TabularData bad_label = train;
  bad_label.y[3] = 2.0f;
  ExpectInvalid(TrainLocal(global, bad_label, good).status(), "label at row 3");
  ExpectInvalid(Evaluate(global, bad_label, "severity_mlp", kMlpConfig).status(), "row 3");
  TabularData one_row = train;
  one_row.rows = 1;
  one_row.x.resize(6);
  one_row.y.resize(1);
  ExpectInvalid(TrainLocal(global, one_row, good).status(), "at least 2 rows");
  EXPECT_TRUE(Evaluate(global, one_row, "severity_mlp", kMlpConfig, "cpu").ok());
  TrainConfig single = good;
  single.batch_size = 1;
  ExpectInvalid(TrainLocal(global, train, single).status(), "batch_size >= 2");
  // Without BatchNorm, one row and batches of one are fine.
  single.model = "logistic";
  single.model_config_json = kLogisticConfig;
  absl::StatusOr<TrainResult> logistic =
      TrainLocal(*InitModel("logistic", kLogisticConfig, 1), one_row, single);
  ASSERT_TRUE(logistic.ok()) << logistic.status();
  EXPECT_EQ(logistic->metrics.steps, single.epochs);

  TrainConfig narrow = good;  // five columns of data for a six-input model
  TabularData five = train;
  five.cols = 5;
  five.x.resize(40 * 5);
  ExpectInvalid(TrainLocal(global, five, narrow).status(), "expected input [N, 6]");

  TrainConfig bad = good;
  bad.batch_size = 0;
  ExpectInvalid(TrainLocal(global, train, bad).status(), "batch_size");
  bad = good;
  bad.learning_rate = -1;
  ExpectInvalid(TrainLocal(global, train, bad).status(), "learning_rate");
  bad = good;
  bad.proximal_mu = std::nan("");
  ExpectInvalid(TrainLocal(global, train, bad).status(), "proximal_mu");
  bad = good;
  bad.device = "tpu";
  ExpectInvalid(TrainLocal(global, train, bad).status(), "unknown device 'tpu'");
  if (DeviceInfo() == "cpu") {
    bad.device = "cuda";
    EXPECT_EQ(TrainLocal(global, train, bad).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

TEST(LocalTrainingTest, RefusesWeightsThatDoNotFitTheModel) {
  const TabularData train = Separable(40, 14);
  const TrainConfig config = Config("severity_mlp", kMlpConfig);
  // Weights of another architecture: the first differing tensor is named.
  const TensorSet other = *InitModel("severity_mlp", R"({"input_dim": 6, "hidden": [16, 4]})", 1);
  absl::Status status = TrainLocal(other, train, config).status();
  ExpectInvalid(status, "'body.4.weight'");
  EXPECT_NE(status.message().find("expected [8, 16] float32, got [4, 16] float32"),
            std::string::npos)
      << status;
  ExpectInvalid(Evaluate(other, train, "severity_mlp", kMlpConfig).status(), "'body.4.weight'");
  // Weights of another model.
  const TensorSet logistic = *InitModel("logistic", kLogisticConfig, 1);
  ExpectInvalid(TrainLocal(logistic, train, config).status(), "'body.0.weight'");
  // Non-finite weights.
  TensorSet poisoned;
  const TensorSet fresh = *InitModel("severity_mlp", kMlpConfig, 1);
  for (const Tensor& t : fresh.tensors()) {
    if (t.name != "head.bias") {
      ASSERT_TRUE(poisoned.Add(t).ok());
    } else {
      ASSERT_TRUE(poisoned.Add(protocol::MakeFloat32(t.name, t.shape, {std::nanf("")})).ok());
    }
  }
  ExpectInvalid(TrainLocal(poisoned, train, config).status(), "'head.bias'");
}

// The loop reports epochs and batches, and a cancelled progress (the aggregator no longer
// counts the task) stops it between batches: no weights come back.
TEST(LocalTrainingTest, ReportsEpochsAndStopsOnceCancelled) {
  const TabularData train = Separable(200, 3);
  absl::StatusOr<TensorSet> global = InitModel("severity_mlp", kMlpConfig, 7);
  ASSERT_TRUE(global.ok()) << global.status();
  FakeClock clock;
  Progress progress(&clock);
  std::vector<std::string> lines;
  progress.PrintEvery(absl::ZeroDuration(), [&](const std::string& line) {
    lines.push_back(line);
    if (line.rfind("epoch 3/15, batch 2/", 0) == 0) progress.Cancel("the round closed");
  });
  TrainConfig config = Config("severity_mlp", kMlpConfig);
  config.progress = &progress;
  absl::StatusOr<TrainResult> stopped = TrainLocal(*global, train, config);
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled) << stopped.status();
  EXPECT_TRUE(absl::EndsWith(stopped.status().message(), "the round closed")) << stopped.status();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "epoch 0/15");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "epoch 1/15, batch 1/7"), lines.end());
  EXPECT_EQ(lines.back().rfind("epoch 3/15, batch 2/7", 0), 0u) << lines.back();

  Progress untouched(&clock);
  config.progress = &untouched;
  ASSERT_TRUE(TrainLocal(*global, train, config).ok());
  EXPECT_EQ(untouched.Text(), "epoch 15/15");
}

TEST(LocalTrainingTest, ReportsTheDevice) {
  const std::string info = DeviceInfo();
  EXPECT_TRUE(info == "cpu" || info.rfind("cuda:", 0) == 0) << info;
}

TEST(LocalTrainingTest, SetsLibTorchThreads) {
  const int before = TorchThreads();
  SetTorchThreads(1);
  EXPECT_EQ(TorchThreads(), 1);
  SetTorchThreads(2);
  EXPECT_EQ(TorchThreads(), 2);
  SetTorchThreads(0);  // leaves the count as it is
  EXPECT_EQ(TorchThreads(), 2);
  SetTorchThreads(before);
}

}  // namespace
}  // namespace scancov::nn
