// Tests of the LibTorch-free AI-severity encoder facade (severity_encoder.h) on tiny phantoms
// whose lesion extent follows a simulated outcome, CPU only. This translation unit includes no
// LibTorch header.
#include "models/nn/severity_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/local_training.h"
#include "models/nn/severity_test_scans.h"
#include "models/nn/weight_pins_test_util.h"

namespace scancov::nn {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

constexpr char kSingle[] =
    R"({"slice_size": 32, "base_channels": 8, "depth": 3, "embedding_dim": 16})";
constexpr char kThree[] =
    R"({"window": "three", "slice_size": 32, "base_channels": 8, "depth": 3,
        "embedding_dim": 16, "pooling": "mean_max"})";

// 12 training scans and 12 held-out scans (6 severe each), built once.
const std::vector<SeverityScan>& Training() {
  static const auto* scans = new std::vector<SeverityScan>(MakeSeverityCohort(1000, 12));
  return *scans;
}
const std::vector<SeverityScan>& HeldOut() {
  static const auto* scans = new std::vector<SeverityScan>(MakeSeverityCohort(2000, 12));
  return *scans;
}

TensorSet Init(const std::string& json, uint64_t seed = 1) {
  absl::StatusOr<TensorSet> weights = InitSeverityEncoder(json, seed);
  EXPECT_TRUE(weights.ok()) << weights.status();
  return weights.ok() ? *std::move(weights) : TensorSet();
}

SeverityTrainConfig TrainConfig(const std::string& json, int epochs = 15) {
  SeverityTrainConfig config;
  config.model_config_json = json;
  config.epochs = epochs;
  config.batch_size = 16;
  config.learning_rate = 1e-3;
  config.seed = 42;
  config.device = "cpu";
  return config;
}

SeverityTrainResult Train(const TensorSet& global, const std::vector<SeverityScan>& scans,
                          const SeverityTrainConfig& config) {
  absl::StatusOr<SeverityTrainResult> result = TrainSeverityEncoder(global, scans, config);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : SeverityTrainResult();
}

// Trained once per window setting and shared by the tests that only read it.
const SeverityTrainResult& Trained(const std::string& json) {
  static const auto* single =
      new SeverityTrainResult(Train(Init(kSingle), Training(), TrainConfig(kSingle)));
  static const auto* three =
      new SeverityTrainResult(Train(Init(kThree), Training(), TrainConfig(kThree)));
  return json == kSingle ? *single : *three;
}

std::vector<std::vector<float>> Embed(const TensorSet& weights, const std::string& json,
                                      const std::vector<SeverityScan>& scans) {
  absl::StatusOr<std::vector<std::vector<float>>> embeddings =
      EmbedScans(weights, json, scans, "cpu");
  EXPECT_TRUE(embeddings.ok()) << embeddings.status();
  return embeddings.ok() ? *std::move(embeddings) : std::vector<std::vector<float>>();
}

bool SameBytes(const TensorSet& a, const TensorSet& b) {
  if (!a.CheckSameLayout(b).ok()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.tensors()[i].bytes != b.tensors()[i].bytes) return false;
  }
  return true;
}

// Squared distance between the parameters of two sets of the same layout (BatchNorm buffers,
// which FedProx does not hold back, left out).
double ParameterDistance(const TensorSet& a, const TensorSet& b) {
  double sum = 0.0;
  for (const Tensor& t : a.tensors()) {
    if (t.name.find("running_") != std::string::npos ||
        t.name.find("num_batches_tracked") != std::string::npos) {
      continue;
    }
    const std::vector<double> x = protocol::ToDoubles(t);
    const std::vector<double> y = protocol::ToDoubles(*b.Find(t.name));
    for (size_t i = 0; i < x.size(); ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
  }
  return sum;
}

// AUC (Mann-Whitney, ties count one half) of scores against 0/1 labels.
double Auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  double wins = 0.0;
  int64_t pairs = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[i] != 1 || labels[j] != 0) continue;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
      ++pairs;
    }
  }
  return wins / static_cast<double>(pairs);
}

// Held-out AUC of the simplest scan-level classifier on embeddings: the projection on the
// difference between the mean severe and the mean non-severe training embedding.
double HeldOutAuc(const TensorSet& weights, const std::string& json) {
  const auto train = Embed(weights, json, Training());
  const auto test = Embed(weights, json, HeldOut());
  if (train.empty() || test.empty()) return 0.0;
  std::vector<double> direction(train.front().size(), 0.0);
  for (size_t s = 0; s < train.size(); ++s) {
    const double sign = Training()[s].label == 1 ? 1.0 : -1.0;
    for (size_t d = 0; d < direction.size(); ++d) direction[d] += sign * train[s][d];
  }
  std::vector<double> scores;
  std::vector<int> labels;
  for (size_t s = 0; s < test.size(); ++s) {
    double score = 0.0;
    for (size_t d = 0; d < direction.size(); ++d) score += direction[d] * test[s][d];
    scores.push_back(score);
    labels.push_back(HeldOut()[s].label);
  }
  return Auc(scores, labels);
}

TEST(SeverityEncoderTest, IsRegistered) {
  const std::vector<std::string> models = RegisteredModels();
  EXPECT_NE(std::find(models.begin(), models.end(), "slice_encoder"), models.end());
}

TEST(SeverityEncoderTest, InitIsDeterministicPerSeed) {
  const TensorSet a = Init(kSingle, 7), b = Init(kSingle, 7), c = Init(kSingle, 8);
  EXPECT_TRUE(SameBytes(a, b));
  EXPECT_FALSE(SameBytes(a, c));
  EXPECT_NE(a.Find("block0.1.running_var"), nullptr);  // buffers travel too
  EXPECT_NE(a.Find("embed.weight"), nullptr);
  EXPECT_NE(a.Find("head.weight"), nullptr);
  EXPECT_EQ(InitSeverityEncoder(R"({"depth": 0})", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InitSeverityEncoder(R"({"unknown": 1})", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SeverityEncoderTest, WindowSettingsHaveOneOrThreeInputChannels) {
  const TensorSet single_weights = Init(kSingle), three_weights = Init(kThree);
  const Tensor* single = single_weights.Find("block0.0.weight");
  const Tensor* three = three_weights.Find("block0.0.weight");
  ASSERT_NE(single, nullptr);
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(single->shape, (std::vector<int64_t>{8, 1, 3, 3}));
  EXPECT_EQ(three->shape, (std::vector<int64_t>{8, 3, 3, 3}));
  // Weights of one setting do not load into the other.
  const absl::Status wrong = EmbedScan(three_weights, kSingle, HeldOut()[0], "cpu").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.message().find("block0.0.weight"), absl::string_view::npos) << wrong;
}

TEST(SeverityEncoderTest, TrainingReducesTheLoss) {
  for (const char* json : {kSingle, kThree}) {
    const SeverityTrainResult& result = Trained(json);
    const SeverityTrainMetrics& m = result.metrics;
    EXPECT_EQ(m.scans, 12);
    EXPECT_EQ(m.severe_scans, 6);
    EXPECT_EQ(m.unlabelled_scans, 0);
    EXPECT_EQ(result.num_samples, m.slices);
    EXPECT_GT(m.slices, 12 * 8);
    EXPECT_EQ(m.steps, 15 * ((m.slices + 15) / 16));
    EXPECT_EQ(m.device, "cpu");
    EXPECT_LT(m.loss_end, 0.5 * m.loss_start);
    EXPECT_LT(m.train_loss_last_epoch, m.train_loss_first_epoch);
    EXPECT_TRUE(result.weights.CheckSameLayout(Init(json)).ok());
    std::printf("%s: %lld slices, %lld steps, loss %.3f -> %.3f (train %.3f -> %.3f), %.2f s\n",
                json == kSingle ? "single" : "three", static_cast<long long>(m.slices),
                static_cast<long long>(m.steps), m.loss_start, m.loss_end, m.train_loss_first_epoch,
                m.train_loss_last_epoch, m.train_seconds);
  }
}

TEST(SeverityEncoderTest, EmbeddingsSeparateSevereScansOnHeldOutPhantoms) {
  for (const char* json : {kSingle, kThree}) {
    const double auc = HeldOutAuc(Trained(json).weights, json);
    std::printf("%s: held-out AUC %.3f (untrained encoder %.3f)\n",
                json == kSingle ? "single" : "three", auc, HeldOutAuc(Init(json), json));
    EXPECT_GT(auc, 0.8) << json;
  }
}

TEST(SeverityEncoderTest, EmbeddingHasThePooledLengthAndIsDeterministic) {
  const auto single = Embed(Trained(kSingle).weights, kSingle, {HeldOut()[0], HeldOut()[1]});
  const auto three = Embed(Trained(kThree).weights, kThree, {HeldOut()[0]});
  ASSERT_EQ(single.size(), 2u);
  EXPECT_EQ(single[0].size(), 16u);  // mean
  ASSERT_EQ(three.size(), 1u);
  EXPECT_EQ(three[0].size(), 32u);  // mean then max
  for (size_t d = 0; d < 16; ++d) EXPECT_GE(three[0][16 + d] + 1e-6f, three[0][d]);  // max >= mean
  absl::StatusOr<std::vector<float>> again =
      EmbedScan(Trained(kSingle).weights, kSingle, HeldOut()[0], "cpu");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, single[0]);
  EXPECT_NE(single[0], single[1]);
}

TEST(SeverityEncoderTest, DevicesOutsideTheLungsDoNotChangeTheEmbedding) {
  for (const char* json : {kSingle, kThree}) {
    const SeverityScan& scan = HeldOut()[1];
    absl::StatusOr<std::vector<float>> plain = EmbedScan(Trained(json).weights, json, scan, "cpu");
    absl::StatusOr<std::vector<float>> with_device =
        EmbedScan(Trained(json).weights, json, WithDeviceOutsideLungs(scan, 3000), "cpu");
    ASSERT_TRUE(plain.ok()) << plain.status();
    ASSERT_TRUE(with_device.ok()) << with_device.status();
    EXPECT_EQ(*plain, *with_device);  // exactly
    // The check can fail: the same device inside the lungs does change it.
    SeverityScan inside = scan;
    for (size_t v = 0; v < inside.ct.voxels.size(); v += 7) {
      if (inside.lungs.voxels[v] != 0) inside.ct.voxels[v] = 3000;
    }
    absl::StatusOr<std::vector<float>> changed =
        EmbedScan(Trained(json).weights, json, inside, "cpu");
    ASSERT_TRUE(changed.ok()) << changed.status();
    EXPECT_NE(*plain, *changed);
  }
}

TEST(SeverityEncoderTest, TrainingIsDeterministicAndFedProxHoldsBack) {
  const TensorSet global = Init(kSingle);
  const std::vector<SeverityScan> scans(Training().begin(), Training().begin() + 4);
  SeverityTrainConfig config = TrainConfig(kSingle, 2);
  const SeverityTrainResult a = Train(global, scans, config);
  const SeverityTrainResult b = Train(global, scans, config);
  EXPECT_TRUE(SameBytes(a.weights, b.weights));
  config.seed = 43;
  EXPECT_FALSE(SameBytes(a.weights, Train(global, scans, config).weights));
  config.seed = 42;
  config.proximal_mu = 100.0;
  const SeverityTrainResult prox = Train(global, scans, config);
  EXPECT_LT(ParameterDistance(prox.weights, global), 0.5 * ParameterDistance(a.weights, global));
  // Zero epochs: only the loss is measured; the weights come back unchanged.
  const SeverityTrainResult none = Train(global, scans, TrainConfig(kSingle, 0));
  EXPECT_EQ(none.metrics.steps, 0);
  EXPECT_EQ(none.metrics.loss_start, none.metrics.loss_end);
  EXPECT_TRUE(SameBytes(none.weights, global));
}

// One short FedProx round gives the weights recorded before the training loop was shared by
// the three network families.
TEST(SeverityEncoderTest, OneRoundGivesThePinnedWeights) {
  const std::vector<SeverityScan> scans(Training().begin(), Training().begin() + 4);
  SeverityTrainConfig config = TrainConfig(kSingle, 2);
  config.proximal_mu = 0.5;
  const SeverityTrainResult result = Train(Init(kSingle), scans, config);
  std::vector<double> pins =
      WeightPins(result.weights, {"block0.0.weight", "block0.1.running_mean", "head.bias"});
  pins.push_back(result.metrics.loss_end);
  pins.push_back(result.metrics.train_loss_first_epoch);
  pins.push_back(result.metrics.train_loss_last_epoch);
  ExpectPins(pins, {0.174627289, -0.144742072, 0.00185135903, 0.000691412191, -0.115774207,
                    178.66315, 195.243989, 0.69673542, 0.682648897, 0.635004401});
}

// Prepared once and the CT dropped (what the node keeps): training and embedding give the same
// bytes as from the scans; slices prepared for another config are refused, naming the scan.
TEST(SeverityEncoderTest, PreparedScansGiveTheSameModelAndEmbeddings) {
  const TensorSet global = Init(kSingle);
  const std::vector<SeverityScan> scans(Training().begin(), Training().begin() + 4);
  absl::StatusOr<SliceEncoderConfig> config = ParseSliceEncoderConfig(kSingle);
  ASSERT_TRUE(config.ok());
  std::vector<SeveritySlices> prepared;
  for (const SeverityScan& scan : scans) {
    absl::StatusOr<SeveritySlices> slices = PrepareSeveritySlices(scan, *config);
    ASSERT_TRUE(slices.ok()) << slices.status();
    prepared.push_back(*std::move(slices));
  }
  std::vector<SeverityScan> labelled = scans;
  labelled[3].label = -1;  // unknown outcome: embedded, not trained on
  std::vector<int> labels;
  for (const SeverityScan& scan : labelled) labels.push_back(scan.label);
  std::vector<const SeveritySlices*> slices;
  for (const SeveritySlices& p : prepared) slices.push_back(&p);
  const SeverityTrainConfig train = TrainConfig(kSingle, 2);
  absl::StatusOr<SeverityTrainResult> from_slices =
      TrainSeverityEncoder(global, slices, labels, train);
  ASSERT_TRUE(from_slices.ok()) << from_slices.status();
  const SeverityTrainResult from_scans = Train(global, labelled, train);
  EXPECT_TRUE(SameBytes(from_slices->weights, from_scans.weights));
  EXPECT_EQ(from_slices->num_samples, from_scans.num_samples);
  EXPECT_EQ(from_slices->metrics.unlabelled_scans, 1);
  absl::StatusOr<std::vector<std::vector<float>>> embedded =
      EmbedPreparedScans(from_scans.weights, kSingle, slices, "cpu");
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_EQ(*embedded, Embed(from_scans.weights, kSingle, scans));

  absl::Status other = EmbedPreparedScans(Init(kThree), kThree, slices, "cpu").status();
  EXPECT_EQ(other.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(other.message().find("scan 0: prepared slices are 1 x 32^2, the config 3 x 32^2"),
            absl::string_view::npos)
      << other;
  SeverityTrainConfig three = TrainConfig(kThree, 1);
  EXPECT_EQ(TrainSeverityEncoder(Init(kThree), slices, labels, three).status().code(),
            absl::StatusCode::kInvalidArgument);
  labels.pop_back();
  EXPECT_EQ(TrainSeverityEncoder(global, slices, labels, train).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SeverityEncoderTest, RefusesBadInput) {
  const TensorSet global = Init(kSingle);
  const SeverityTrainConfig config = TrainConfig(kSingle, 1);
  std::vector<SeverityScan> scans(Training().begin(), Training().begin() + 3);

  std::vector<SeverityScan> unlabelled = scans;
  for (SeverityScan& scan : unlabelled) scan.label = -1;
  absl::Status status = TrainSeverityEncoder(global, unlabelled, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no labelled scan"), absl::string_view::npos) << status;
  unlabelled[0].label = 1;  // one labelled scan is enough; the others are skipped
  absl::StatusOr<SeverityTrainResult> partly = TrainSeverityEncoder(global, unlabelled, config);
  ASSERT_TRUE(partly.ok()) << partly.status();
  EXPECT_EQ(partly->metrics.scans, 1);
  EXPECT_EQ(partly->metrics.unlabelled_scans, 2);

  std::vector<SeverityScan> bad_label = scans;
  bad_label[2].label = 2;
  status = TrainSeverityEncoder(global, bad_label, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("scan 2"), absl::string_view::npos) << status;

  std::vector<SeverityScan> mismatched = scans;
  mismatched[1].lungs = LabelVolume(8, 8, 8, mismatched[1].ct.spacing, 1);
  status = TrainSeverityEncoder(global, mismatched, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("scan 1"), absl::string_view::npos) << status;
  status = EmbedScans(global, kSingle, mismatched, "cpu").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("scan 1"), absl::string_view::npos) << status;

  SeverityScan no_lung = scans[0];
  std::fill(no_lung.lungs.voxels.begin(), no_lung.lungs.voxels.end(), 0);
  status = EmbedScan(global, kSingle, no_lung, "cpu").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no lung voxel"), absl::string_view::npos) << status;
  status = TrainSeverityEncoder(global, {scans[0], no_lung}, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);

  SeverityTrainConfig bad = config;
  bad.batch_size = 0;
  EXPECT_EQ(TrainSeverityEncoder(global, scans, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.learning_rate = std::nan("");
  EXPECT_EQ(TrainSeverityEncoder(global, scans, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = config;
  bad.device = "tpu";
  EXPECT_EQ(TrainSeverityEncoder(global, scans, bad).status().code(),
            absl::StatusCode::kInvalidArgument);

  TensorSet nan_weights;
  for (const Tensor& t : global.tensors()) {
    if (t.name != "head.bias") {
      ASSERT_TRUE(nan_weights.Add(t).ok());
      continue;
    }
    ASSERT_TRUE(
        nan_weights.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, {std::nan("")})).ok());
  }
  EXPECT_FALSE(TrainSeverityEncoder(nan_weights, scans, config).ok());
  EXPECT_FALSE(EmbedScan(nan_weights, kSingle, scans[0], "cpu").ok());
}

}  // namespace
}  // namespace scancov::nn
