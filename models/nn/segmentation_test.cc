// Tests of the LibTorch-free segmentation facade (segmentation.h) on tiny synthetic phantoms
// (sites/ct), CPU only. This translation unit includes no LibTorch header.
#include "models/nn/segmentation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/checkpoint.h"
#include "models/nn/local_training.h"
#include "models/nn/seg_probabilities.h"
#include "models/nn/weight_pins_test_util.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::nn {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

constexpr char kLungConfig[] = R"({"base_channels": 8, "depth": 4})";
constexpr char kLesionConfig[] = R"({"base_channels": 8, "depth": 4})";
constexpr char k3dConfig[] = R"({"base_channels": 4, "depth": 2, "patch": [8, 32, 32]})";

struct Phantom {
  SegmentationExample lungs;    // labels: 0 background, 1 right, 2 left
  SegmentationExample lesions;  // labels: 0 outside, 1 healthy, 2 GGO, 3 crazy, 4 consolidation
};

// A 64 x 64 x 16 phantom (6 mm pixels, 10 mm slices): small enough for CPU tests.
Phantom MakePhantom(uint64_t seed, double body_scale, double extent) {
  sites::PhantomSpec spec;
  spec.seed = seed;
  spec.patient.body_scale = body_scale;
  spec.disease.extent_right = extent;
  spec.disease.extent_left = extent * 0.7;
  spec.disease.ggo_fraction = 0.5;
  spec.disease.crazy_paving_fraction = 0.3;
  spec.disease.consolidation_fraction = 0.2;
  spec.scanner.rows = 64;
  spec.scanner.columns = 64;
  spec.scanner.pixel_spacing_mm = 6.0;
  spec.scanner.slice_thickness_mm = 10.0;
  spec.scanner.number_of_slices = 16;
  absl::StatusOr<sites::PhantomVolume> volume = sites::GeneratePhantomVolume(spec);
  EXPECT_TRUE(volume.ok()) << volume.status();
  const sites::PhantomGrid& g = volume->grid;
  Phantom phantom;
  HuVolume ct(g.nx, g.ny, g.nz, {g.dx, g.dy, g.dz});
  ct.voxels = volume->hu;
  phantom.lungs.ct = ct;
  phantom.lungs.labels = LabelVolume(g.nx, g.ny, g.nz, ct.spacing);
  phantom.lungs.labels.voxels = volume->lung_labels;
  phantom.lesions.ct = ct;
  phantom.lesions.labels = LabelVolume(g.nx, g.ny, g.nz, ct.spacing);
  phantom.lesions.labels.voxels = volume->lesion_labels;
  return phantom;
}

const std::vector<Phantom>& Phantoms() {
  static const auto* phantoms = new std::vector<Phantom>{
      MakePhantom(11, 0.95, 0.25), MakePhantom(12, 1.0, 0.3), MakePhantom(13, 0.9, 0.2),
      MakePhantom(14, 0.98, 0.25)};  // the last one is held out
  return *phantoms;
}

std::vector<SegmentationExample> LungTraining() {
  return {Phantoms()[0].lungs, Phantoms()[1].lungs, Phantoms()[2].lungs};
}

std::vector<SegmentationExample> LesionTraining() {
  return {Phantoms()[0].lesions, Phantoms()[1].lesions, Phantoms()[2].lesions};
}

SegTrainConfig Config(const std::string& model, const std::string& json) {
  SegTrainConfig config;
  config.model = model;
  config.model_config_json = json;
  config.epochs = 2;
  config.batch_size = 8;
  config.learning_rate = 3e-3;
  config.seed = 42;
  config.device = "cpu";
  return config;
}

TensorSet Init(const std::string& model, const std::string& json, uint64_t seed = 1) {
  absl::StatusOr<TensorSet> weights = InitSegmentationModel(model, json, seed);
  EXPECT_TRUE(weights.ok()) << weights.status();
  return *weights;
}

SegTrainResult Train(const TensorSet& global, const std::vector<SegmentationExample>& examples,
                     const SegTrainConfig& config) {
  absl::StatusOr<SegTrainResult> result = TrainSegmentation(global, examples, config);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : SegTrainResult();
}

bool SameBytes(const TensorSet& a, const TensorSet& b) {
  if (!a.CheckSameLayout(b).ok()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.tensors()[i].bytes != b.tensors()[i].bytes) return false;
  }
  return true;
}

// Largest |a - b| over the floating tensors of two sets of the same layout.
double MaxAbsDiff(const TensorSet& a, const TensorSet& b) {
  double worst = 0.0;
  for (const Tensor& t : a.tensors()) {
    if (!protocol::IsFloating(t.dtype)) continue;
    const std::vector<double> x = protocol::ToDoubles(t);
    const std::vector<double> y = protocol::ToDoubles(*b.Find(t.name));
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  }
  return worst;
}

double Dice(const LabelVolume& predicted, const LabelVolume& truth, uint8_t label) {
  int64_t both = 0, p = 0, t = 0;
  for (size_t v = 0; v < truth.voxels.size(); ++v) {
    const bool in_p = predicted.voxels[v] == label, in_t = truth.voxels[v] == label;
    both += in_p && in_t;
    p += in_p;
    t += in_t;
  }
  return p + t > 0 ? 2.0 * both / (p + t) : 1.0;
}

void ExpectSumsToOne(const SegProbabilities& p) {
  const size_t voxels = p.VoxelCount();
  double worst = 0.0;
  for (size_t v = 0; v < voxels; ++v) {
    double sum = 0.0;
    for (int c = 0; c < p.num_classes; ++c) {
      const float value = p.values[c * voxels + v];
      ASSERT_GE(value, 0.0f);
      sum += value;
    }
    worst = std::max(worst, std::abs(sum - 1.0));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(SegmentationTest, ModelsAreRegistered) {
  const std::vector<std::string> models = RegisteredModels();
  for (const char* name : {"unet2d", "unet25d", "unet3d", "logistic"}) {
    EXPECT_NE(std::find(models.begin(), models.end(), name), models.end()) << name;
  }
}

TEST(SegmentationTest, InitIsDeterministicPerSeed) {
  for (const char* model : {"unet2d", "unet25d", "unet3d"}) {
    const TensorSet a = Init(model, "", 7);
    const TensorSet b = Init(model, "", 7);
    const TensorSet c = Init(model, "", 8);
    EXPECT_TRUE(SameBytes(a, b)) << model;
    EXPECT_FALSE(SameBytes(a, c)) << model;
    EXPECT_NE(a.Find("enc0.norm1.running_var"), nullptr) << model;  // buffers travel too
    EXPECT_NE(a.Find("head.weight"), nullptr) << model;
  }
  const TensorSet residual = Init("unet3d", "");
  EXPECT_NE(residual.Find("enc0.skip.weight"), nullptr);
  EXPECT_EQ(InitSegmentationModel("logistic", R"({"input_dim": 3})", 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(InitSegmentationModel("unet2d", R"({"depth": 0})", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SegmentationTest, LungUnetLearnsLungsAndSides) {
  SegTrainConfig config = Config("unet2d", kLungConfig);
  config.epochs = 20;
  const SegTrainResult result = Train(Init("unet2d", kLungConfig), LungTraining(), config);
  EXPECT_EQ(result.num_samples, 3 * 16);
  EXPECT_EQ(result.metrics.steps, 20 * 6);
  EXPECT_EQ(result.metrics.device, "cpu");
  EXPECT_LT(result.metrics.loss_end, 0.5 * result.metrics.loss_start);
  std::printf("unet2d 64x64: %lld steps, loss %.3f -> %.3f, %.1f slices/s\n",
              static_cast<long long>(result.metrics.steps), result.metrics.loss_start,
              result.metrics.loss_end, result.metrics.slices_per_second);

  const Phantom& held_out = Phantoms()[3];
  absl::StatusOr<SegProbabilities> p =
      PredictProbabilities(result.weights, "unet2d", kLungConfig, held_out.lungs.ct, "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->num_classes, 3);
  ExpectSumsToOne(*p);
  absl::StatusOr<LabelVolume> labels = ArgmaxLabels(*p);
  ASSERT_TRUE(labels.ok()) << labels.status();
  const LabelVolume& truth = held_out.lungs.labels;
  int64_t agree = 0;
  for (size_t v = 0; v < truth.voxels.size(); ++v) {
    agree += (labels->voxels[v] > 0) == (truth.voxels[v] > 0);
  }
  const double accuracy = static_cast<double>(agree) / truth.voxels.size();
  const double right = Dice(*labels, truth, 1), left = Dice(*labels, truth, 2);
  std::printf("held out: lung vs background accuracy %.4f, Dice right %.3f left %.3f\n", accuracy,
              right, left);
  EXPECT_GT(accuracy, 0.95);
  EXPECT_GT(right, 0.8);
  EXPECT_GT(left, 0.8);
}

TEST(SegmentationTest, SameSeedSameWeightsWhateverTheWorkers) {
  SegTrainConfig config = Config("unet25d", kLesionConfig);
  config.augment = true;
  const TensorSet global = Init("unet25d", kLesionConfig);
  const std::vector<SegmentationExample> examples = {Phantoms()[0].lesions};
  const SegTrainResult a = Train(global, examples, config);
  config.num_workers = 2;
  const SegTrainResult b = Train(global, examples, config);
  EXPECT_TRUE(SameBytes(a.weights, b.weights));
  EXPECT_EQ(a.metrics.loss_end, b.metrics.loss_end);
  config.seed = 43;
  const SegTrainResult c = Train(global, examples, config);
  EXPECT_FALSE(SameBytes(a.weights, c.weights));
  // Mixed precision is a CUDA feature: on the CPU it changes nothing.
  config.seed = 42;
  config.num_workers = 0;
  config.mixed_precision = true;
  const SegTrainResult d = Train(global, examples, config);
  EXPECT_FALSE(d.metrics.mixed_precision);
  EXPECT_TRUE(SameBytes(a.weights, d.weights));
}

// One short augmented FedProx round of the 2.5D and the 3D net gives the weights recorded
// before the training loop was shared by the three network families.
TEST(SegmentationTest, OneRoundGivesThePinnedWeights) {
  SegTrainConfig config = Config("unet25d", kLesionConfig);
  config.augment = true;
  config.proximal_mu = 0.5;
  const SegTrainResult flat =
      Train(Init("unet25d", kLesionConfig), {Phantoms()[0].lesions}, config);
  std::vector<double> pins =
      WeightPins(flat.weights, {"enc0.conv1.weight", "enc0.norm1.running_mean", "head.bias"});
  pins.push_back(flat.metrics.loss_end);
  pins.push_back(flat.metrics.train_loss_first_epoch);
  pins.push_back(flat.metrics.train_loss_last_epoch);
  ExpectPins(pins, {0.08971899, -0.0947083831, -0.00188649073, -0.0137158111, -0.0944358259,
                    -0.0245805718, 623.718706, 687.086538, 1.53598225, 1.4910357, 1.39466119});

  config = Config("unet3d", k3dConfig);
  config.epochs = 1;
  config.batch_size = 2;
  config.augment = true;
  config.proximal_mu = 0.5;
  const SegTrainResult cube = Train(Init("unet3d", k3dConfig), {Phantoms()[1].lesions}, config);
  pins = WeightPins(cube.weights, {"enc0.conv1.weight", "head.bias"});
  pins.push_back(cube.metrics.loss_end);
  pins.push_back(cube.metrics.train_loss_first_epoch);
  ExpectPins(pins, {0.109165356, -0.0763605461, -0.190925553, 0.249711901, 78.1734721, 93.3684765,
                    1.61498928, 1.63461494});
}

TEST(SegmentationTest, LesionUnet25dLossDecreases) {
  SegTrainConfig config = Config("unet25d", kLesionConfig);
  config.epochs = 8;
  config.learning_rate = 1e-2;
  config.augment = true;
  config.num_workers = 1;
  const SegTrainResult result = Train(Init("unet25d", kLesionConfig), LesionTraining(), config);
  EXPECT_EQ(result.num_samples, 3 * 16);
  std::printf("unet25d 64x64: %lld steps, loss %.3f -> %.3f (train %.3f -> %.3f), %.1f slices/s\n",
              static_cast<long long>(result.metrics.steps), result.metrics.loss_start,
              result.metrics.loss_end, result.metrics.train_loss_first_epoch,
              result.metrics.train_loss_last_epoch, result.metrics.slices_per_second);
  EXPECT_LT(result.metrics.loss_end, 0.5 * result.metrics.loss_start);
  EXPECT_LT(result.metrics.train_loss_last_epoch, result.metrics.train_loss_first_epoch);

  absl::StatusOr<SegLossResult> held_out = EvaluateSegmentationLoss(
      result.weights, "unet25d", kLesionConfig, {Phantoms()[3].lesions}, "cpu");
  ASSERT_TRUE(held_out.ok()) << held_out.status();
  EXPECT_LT(held_out->loss, result.metrics.loss_start);
}

// The loss is the mean over labelled voxels: with complementary halves of a volume unlabelled,
// n1 * loss1 + n2 * loss2 = n * loss; and it equals the cross-entropy computed here from the
// predicted probabilities over the labelled voxels only.
TEST(SegmentationTest, LossCountsOnlyLabelledVoxels) {
  const TensorSet weights = Init("unet2d", kLungConfig, 3);
  const Phantom& phantom = Phantoms()[0];
  SegmentationExample top = phantom.lungs, bottom = phantom.lungs;
  const LabelVolume& labels = phantom.lungs.labels;
  for (int k = 0; k < labels.nz; ++k) {
    for (int j = 0; j < labels.ny; ++j) {
      for (int i = 0; i < labels.nx; ++i) {
        (j < labels.ny / 2 ? top : bottom).labels.at(k, j, i) = kUnlabelled;
      }
    }
  }
  auto loss = [&](const SegmentationExample& example) {
    absl::StatusOr<SegLossResult> r =
        EvaluateSegmentationLoss(weights, "unet2d", kLungConfig, {example}, "cpu");
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  };
  const SegLossResult full = loss(phantom.lungs), a = loss(top), b = loss(bottom);
  EXPECT_EQ(a.labelled_voxels + b.labelled_voxels, full.labelled_voxels);
  EXPECT_NEAR(a.loss * a.labelled_voxels + b.loss * b.labelled_voxels,
              full.loss * full.labelled_voxels, 1e-4 * full.labelled_voxels);
  EXPECT_GT(a.labelled_voxels, 0);
  EXPECT_GT(b.labelled_voxels, 0);

  absl::StatusOr<SegProbabilities> p =
      PredictProbabilities(weights, "unet2d", kLungConfig, top.ct, "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  double total = 0.0;
  int64_t count = 0;
  for (size_t v = 0; v < top.labels.voxels.size(); ++v) {
    const uint8_t label = top.labels.voxels[v];
    if (label == kUnlabelled) continue;
    total -= std::log(p->values[label * top.labels.voxels.size() + v]);
    ++count;
  }
  EXPECT_EQ(count, a.labelled_voxels);
  EXPECT_NEAR(total / count, a.loss, 1e-4);
}

// Training on a partially annotated slice follows only its labelled voxels: one example whose
// slice is annotated in two complementary halves, split over two examples and trained in one
// batch, gives the weights of the fully annotated slice; whereas putting garbage labels where
// 255 was changes them.
TEST(SegmentationTest, TrainingIgnoresUnlabelledVoxels) {
  const char* config_json = R"({"base_channels": 4, "depth": 3, "batch_norm": false})";
  const TensorSet global = Init("unet2d", config_json, 5);
  const Phantom& phantom = Phantoms()[1];
  const int slice = 8;
  SegmentationExample full = phantom.lungs;
  for (int k = 0; k < full.labels.nz; ++k) {
    if (k == slice) continue;
    for (int j = 0; j < full.labels.ny; ++j) {
      for (int i = 0; i < full.labels.nx; ++i) full.labels.at(k, j, i) = kUnlabelled;
    }
  }
  SegmentationExample left_half = full, right_half = full, garbage = full;
  for (int j = 0; j < full.labels.ny; ++j) {
    for (int i = 0; i < full.labels.nx; ++i) {
      (i < full.labels.nx / 2 ? right_half : left_half).labels.at(slice, j, i) = kUnlabelled;
      if (i < full.labels.nx / 2) garbage.labels.at(slice, j, i) = (i + j) % 3;
    }
  }
  SegTrainConfig config = Config("unet2d", config_json);
  config.epochs = 3;
  config.batch_size = 2;
  const SegTrainResult whole = Train(global, {full}, config);
  const SegTrainResult halves = Train(global, {left_half, right_half}, config);
  EXPECT_EQ(whole.num_samples, 1);
  EXPECT_EQ(halves.num_samples, 2);
  EXPECT_EQ(halves.metrics.labelled_voxels, whole.metrics.labelled_voxels);
  EXPECT_NEAR(halves.metrics.loss_start, whole.metrics.loss_start, 1e-5);
  EXPECT_LT(MaxAbsDiff(whole.weights, halves.weights), 1e-5);

  const SegTrainResult with_garbage = Train(global, {left_half, garbage}, config);
  EXPECT_GT(MaxAbsDiff(whole.weights, with_garbage.weights), 1e-4);
}

TEST(SegmentationTest, Unet3dTilesReconstructTheVolume) {
  const Phantom& phantom = Phantoms()[0];
  SegTrainConfig config = Config("unet3d", k3dConfig);
  config.epochs = 1;
  config.batch_size = 2;
  config.augment = true;
  const SegTrainResult result = Train(Init("unet3d", k3dConfig), {phantom.lesions}, config);
  // Covering patches of 8 x 32 x 32 over 16 x 64 x 64: 2 x 2 x 2, all with labels.
  EXPECT_EQ(result.num_samples, 8);
  EXPECT_EQ(result.metrics.steps, 4);
  std::printf("unet3d 8x32x32 patches: %.1f slices/s\n", result.metrics.slices_per_second);

  // A grid that is no multiple of the patch or of the pooling: 13 x 45 x 50.
  HuVolume ct(50, 45, 13, {6.0, 6.0, 10.0});
  for (int k = 0; k < ct.nz; ++k) {
    for (int j = 0; j < ct.ny; ++j) {
      for (int i = 0; i < ct.nx; ++i) ct.at(k, j, i) = phantom.lesions.ct.at(k, j + 5, i + 3);
    }
  }
  absl::StatusOr<SegProbabilities> p =
      PredictProbabilities(result.weights, "unet3d", k3dConfig, ct, "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->num_classes, 5);
  EXPECT_EQ(p->nx, 50);
  EXPECT_EQ(p->ny, 45);
  EXPECT_EQ(p->nz, 13);
  EXPECT_EQ(p->spacing, ct.spacing);
  EXPECT_EQ(p->values.size(), 5u * 50 * 45 * 13);
  ExpectSumsToOne(*p);

  // Smaller than one patch along every axis: padded.
  HuVolume tiny(20, 10, 3, {1.0, 1.0, 1.0}, -800);
  absl::StatusOr<SegProbabilities> small =
      PredictProbabilities(result.weights, "unet3d", k3dConfig, tiny, "cpu");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->values.size(), 5u * 20 * 10 * 3);
  ExpectSumsToOne(*small);
}

// The seed's AI-segment: lung mask from unet2d, lesion probabilities of unet25d and unet3d
// averaged, argmax, voxels outside the lungs set to background.
TEST(SegmentationTest, EnsemblePipelineWithLungMask) {
  const Phantom& phantom = Phantoms()[3];
  const HuVolume& ct = phantom.lesions.ct;
  absl::StatusOr<SegProbabilities> lungs =
      PredictProbabilities(Init("unet2d", kLungConfig), "unet2d", kLungConfig, ct, "cpu");
  absl::StatusOr<SegProbabilities> slab =
      PredictProbabilities(Init("unet25d", kLesionConfig), "unet25d", kLesionConfig, ct, "cpu");
  absl::StatusOr<SegProbabilities> patches =
      PredictProbabilities(Init("unet3d", k3dConfig), "unet3d", k3dConfig, ct, "cpu");
  ASSERT_TRUE(lungs.ok() && slab.ok() && patches.ok());
  absl::StatusOr<SegProbabilities> mean = EnsembleAverage({*slab, *patches});
  ASSERT_TRUE(mean.ok()) << mean.status();
  ExpectSumsToOne(*mean);
  EXPECT_FALSE(EnsembleAverage({*lungs, *slab}).ok());  // 3 classes vs 5

  // The true lung mask stands in for an untrained unet2d's.
  const LabelVolume& mask = phantom.lungs.labels;
  absl::StatusOr<LabelVolume> lesions = ArgmaxLabels(*mean, &mask);
  ASSERT_TRUE(lesions.ok()) << lesions.status();
  for (size_t v = 0; v < mask.voxels.size(); ++v) {
    if (mask.voxels[v] == 0) {
      ASSERT_EQ(lesions->voxels[v], 0) << v;
    } else {
      ASSERT_GE(lesions->voxels[v], 1) << v;
      ASSERT_LE(lesions->voxels[v], 4) << v;
    }
  }
}

TEST(SegmentationTest, RefusesWeightsOfAnotherLayout) {
  const std::vector<SegmentationExample> examples = {Phantoms()[0].lungs};
  const SegTrainConfig config = Config("unet2d", kLungConfig);
  const TensorSet wider = Init("unet2d", R"({"base_channels": 16, "depth": 4})");
  absl::Status status = TrainSegmentation(wider, examples, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("enc0.conv1.weight"), std::string::npos) << status;

  const TensorSet lesion = Init("unet25d", R"({"base_channels": 8, "depth": 4})");
  status = PredictProbabilities(lesion, "unet2d", kLungConfig, examples[0].ct, "cpu").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;

  const TensorSet good = Init("unet2d", kLungConfig);
  TensorSet missing;
  for (const Tensor& t : good.tensors()) {
    if (t.name != "head.bias") {
      ASSERT_TRUE(missing.Add(t).ok());
    }
  }
  status = TrainSegmentation(missing, examples, config).status();
  EXPECT_NE(status.message().find("head.bias"), std::string::npos) << status;

  TensorSet with_nan;
  for (Tensor t : good.tensors()) {
    if (t.name == "head.weight") {
      std::vector<double> values = protocol::ToDoubles(t);
      values[0] = std::nan("");
      t = protocol::FromDoubles(t.name, t.shape, t.dtype, values);
    }
    ASSERT_TRUE(with_nan.Add(t).ok());
  }
  EXPECT_EQ(TrainSegmentation(with_nan, examples, config).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SegmentationTest, RefusesBadInputs) {
  const TensorSet weights = Init("unet2d", kLungConfig);
  SegmentationExample example = Phantoms()[0].lungs;
  SegTrainConfig config = Config("unet2d", kLungConfig);
  auto code = [&](const std::vector<SegmentationExample>& examples) {
    return TrainSegmentation(weights, examples, config).status().code();
  };
  EXPECT_EQ(code({}), absl::StatusCode::kInvalidArgument);
  SegmentationExample unlabelled = example;
  std::fill(unlabelled.labels.voxels.begin(), unlabelled.labels.voxels.end(), kUnlabelled);
  EXPECT_EQ(code({unlabelled}), absl::StatusCode::kInvalidArgument);
  SegmentationExample lesion_labels = Phantoms()[0].lesions;  // labels up to 4 for 3 classes
  EXPECT_EQ(code({lesion_labels}), absl::StatusCode::kInvalidArgument);

  config.batch_size = 0;
  EXPECT_EQ(code({example}), absl::StatusCode::kInvalidArgument);
  config = Config("unet2d", kLungConfig);
  config.device = "tpu";
  EXPECT_EQ(code({example}), absl::StatusCode::kInvalidArgument);
  if (DeviceInfo() == "cpu") {
    config.device = "cuda";
    EXPECT_EQ(code({example}), absl::StatusCode::kFailedPrecondition);
  }
  config = Config("unet2d", R"({"depth": 9})");
  EXPECT_EQ(code({example}), absl::StatusCode::kInvalidArgument);
  HuVolume empty;
  EXPECT_EQ(PredictProbabilities(weights, "unet2d", kLungConfig, empty, "cpu").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SegmentationTest, OddSlicesAndCheckpointedWeightsPredictTheSame) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR") : "/tmp") +
      "/unet2d.ckpt";
  const TensorSet weights = Init("unet2d", kLungConfig, 9);
  ASSERT_TRUE(SaveCheckpoint(path, {"unet2d", kLungConfig, weights}).ok());
  absl::StatusOr<Checkpoint> loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->model, "unet2d");

  HuVolume ct(37, 29, 3, {1.0, 1.0, 1.0}, -900);  // 29 x 37 slices: padded to 32 x 40 inside
  ct.at(1, 10, 10) = 40;
  absl::StatusOr<SegProbabilities> a =
      PredictProbabilities(weights, "unet2d", kLungConfig, ct, "cpu");
  absl::StatusOr<SegProbabilities> b =
      PredictProbabilities(loaded->weights, loaded->model, loaded->model_config_json, ct, "cpu");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->values, b->values);
  EXPECT_EQ(a->values.size(), 3u * 37 * 29 * 3);
  ExpectSumsToOne(*a);
}

TEST(SegmentationTest, ProximalTermKeepsWeightsNearTheGlobalModel) {
  const TensorSet global = Init("unet2d", kLungConfig);
  const std::vector<SegmentationExample> examples = {Phantoms()[2].lungs};
  SegTrainConfig config = Config("unet2d", kLungConfig);
  const SegTrainResult free = Train(global, examples, config);
  config.proximal_mu = 100.0;
  const SegTrainResult held = Train(global, examples, config);
  double free_distance = 0.0, held_distance = 0.0;
  for (const Tensor& t : global.tensors()) {
    if (t.name.find("running") != std::string::npos || !protocol::IsFloating(t.dtype)) continue;
    const std::vector<double> g = protocol::ToDoubles(t);
    const std::vector<double> f = protocol::ToDoubles(*free.weights.Find(t.name));
    const std::vector<double> h = protocol::ToDoubles(*held.weights.Find(t.name));
    for (size_t i = 0; i < g.size(); ++i) {
      free_distance += (f[i] - g[i]) * (f[i] - g[i]);
      held_distance += (h[i] - g[i]) * (h[i] - g[i]);
    }
  }
  EXPECT_LT(held_distance, free_distance);
}

}  // namespace
}  // namespace scancov::nn
