// Tests of SegmentationPredictor (seg_predictor.h) against the one-off path it serves
// (PredictProbabilities, then ArgmaxLabels), on small random-weight networks, CPU only. This
// translation unit includes no LibTorch header.
#include "models/nn/seg_predictor.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/precision.h"
#include "models/nn/seg_probabilities.h"
#include "models/nn/segmentation.h"

namespace scancov::nn {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

struct Case {
  std::string model;
  std::string config;
};

// 2D with an odd slice size (padded inside the net), 2.5D, and 3D with overlapping tiles.
const Case kCases[] = {
    {"unet2d", R"({"base_channels": 4, "depth": 3})"},
    {"unet25d", R"({"base_channels": 4, "depth": 3})"},
    {"unet3d", R"({"base_channels": 4, "depth": 2, "patch": [4, 16, 16], "tile_overlap": 0.5})"},
};

// A body-like ellipse of soft tissue with darker "lungs" and noise, in air.
HuVolume MakeCt(int nx, int ny, int nz, uint32_t seed) {
  HuVolume ct(nx, ny, nz, {2.0, 2.0, 5.0}, -1000);
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 60.0);
  for (int k = 0; k < nz; ++k) {
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        const double x = 2.0 * i / nx - 1.0, y = 2.0 * j / ny - 1.0 - 0.03 * k;
        double hu = -1000;
        if (x * x / 0.8 + y * y / 0.5 <= 1.0) hu = 40;
        if (std::pow(std::fabs(x) - 0.4, 2) / 0.06 + y * y / 0.25 <= 1.0) hu = -800;
        ct.at(k, j, i) = static_cast<int16_t>(std::lround(hu + noise(rng)));
      }
    }
  }
  return ct;
}

// Freshly initialised weights with the head's bias at 0 and its weights 30x larger: a fresh
// head's bias alone picks one class everywhere, and then labels could not tell paths apart.
TensorSet Init(const Case& c, uint64_t seed) {
  absl::StatusOr<TensorSet> weights = InitSegmentationModel(c.model, c.config, seed);
  EXPECT_TRUE(weights.ok()) << weights.status();
  if (!weights.ok()) return TensorSet();
  TensorSet spread;
  for (Tensor t : weights->tensors()) {
    if (t.name == "head.weight" || t.name == "head.bias") {
      std::vector<double> values = protocol::ToDoubles(t);
      for (double& v : values) v = t.name == "head.bias" ? 0.0 : 30.0 * v;
      t = protocol::FromDoubles(t.name, t.shape, t.dtype, values);
    }
    EXPECT_TRUE(spread.Add(t).ok());
  }
  return spread;
}

// bfloat16 keeps 8 significant bits: probabilities within a few hundredths of fp32's, labels
// changed only at near-ties (measured: see the test below; docs/benchmarks.md for trained nets).
constexpr double kMaxBf16ProbabilityDiff = 0.1;
constexpr double kMinBf16LabelAgreement = 0.97;

// Non-zero in a band of rows: part of each slice is outside the "lungs".
LabelVolume MaskOf(const HuVolume& ct) {
  LabelVolume mask(ct.nx, ct.ny, ct.nz, ct.spacing, 0);
  for (int k = 0; k < ct.nz; ++k) {
    for (int j = ct.ny / 4; j < ct.ny - ct.ny / 3; ++j) {
      for (int i = 0; i < ct.nx; ++i) mask.at(k, j, i) = 1;
    }
  }
  return mask;
}

TEST(SegPredictorTest, LabelsAreTheArgmaxOfTheProbabilities) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.model);
    const TensorSet weights = Init(c, 3);
    absl::StatusOr<SegmentationPredictor> predictor =
        SegmentationPredictor::Create(weights, c.model, c.config, {"cpu", 0});
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    // Two volumes through one predictor: the second must not see the first.
    for (const HuVolume& ct : {MakeCt(37, 29, 9, 1), MakeCt(40, 32, 11, 2)}) {
      absl::StatusOr<SegProbabilities> p =
          PredictProbabilities(weights, c.model, c.config, ct, "cpu");
      ASSERT_TRUE(p.ok()) << p.status();
      const LabelVolume mask = MaskOf(ct);
      for (const LabelVolume* lung_mask : {static_cast<const LabelVolume*>(nullptr), &mask}) {
        absl::StatusOr<LabelVolume> expected = ArgmaxLabels(*p, lung_mask);
        absl::StatusOr<LabelVolume> labels = predictor->PredictLabels(ct, lung_mask);
        ASSERT_TRUE(expected.ok() && labels.ok()) << labels.status();
        EXPECT_TRUE(labels->SameGrid(*expected));
        EXPECT_EQ(labels->voxels, expected->voxels);
        // More than one class (inside the mask: more than one tissue class), so that the
        // comparison can fail.
        std::set<uint8_t> classes(labels->voxels.begin(), labels->voxels.end());
        classes.erase(lung_mask != nullptr ? 0 : 255);
        EXPECT_GE(classes.size(), 2u);
      }
      absl::StatusOr<SegProbabilities> again = predictor->Predict(ct);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(again->SameLayout(*p));
      EXPECT_EQ(again->values, p->values);
    }
  }
}

TEST(SegPredictorTest, SmallerThanATileAndTheBatchSize) {
  const Case& c = kCases[2];
  const TensorSet weights = Init(c, 5);
  const HuVolume tiny = MakeCt(12, 10, 3, 4);  // smaller than the 4 x 16 x 16 patch
  absl::StatusOr<SegmentationPredictor> predictor =
      SegmentationPredictor::Create(weights, c.model, c.config, {"cpu", 0});
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  absl::StatusOr<SegProbabilities> p =
      PredictProbabilities(weights, c.model, c.config, tiny, "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<LabelVolume> labels = predictor->PredictLabels(tiny);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->voxels, ArgmaxLabels(*p)->voxels);

  // One slice a pass against the automatic batch: the same up to the kernels' rounding.
  const Case& flat = kCases[0];
  const TensorSet flat_weights = Init(flat, 6);
  const HuVolume ct = MakeCt(24, 20, 7, 7);
  absl::StatusOr<SegmentationPredictor> one =
      SegmentationPredictor::Create(flat_weights, flat.model, flat.config, {"cpu", 1});
  absl::StatusOr<SegmentationPredictor> automatic =
      SegmentationPredictor::Create(flat_weights, flat.model, flat.config, {"cpu", 0});
  ASSERT_TRUE(one.ok() && automatic.ok());
  EXPECT_EQ(one->PredictionBatch(20, 24), 1);
  EXPECT_GT(automatic->PredictionBatch(20, 24), 7);
  absl::StatusOr<SegProbabilities> a = one->Predict(ct), b = automatic->Predict(ct);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->values.size(), b->values.size());
  for (size_t v = 0; v < a->values.size(); ++v) ASSERT_NEAR(a->values[v], b->values[v], 1e-5) << v;
}

TEST(SegPredictorTest, BatchFollowsTheSliceSize) {
  const Case seed_lungs{"unet2d", R"({"base_channels": 32, "depth": 2})"};
  absl::StatusOr<SegmentationPredictor> predictor = SegmentationPredictor::Create(
      Init(seed_lungs, 1), seed_lungs.model, seed_lungs.config, {"cpu", 0});
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ(predictor->PredictionBatch(256, 256), 8);  // the node's former fixed batch
  EXPECT_EQ(predictor->PredictionBatch(512, 512), 2);
  EXPECT_EQ(predictor->PredictionBatch(4096, 4096), 1);
  EXPECT_EQ(predictor->device(), "cpu");
  EXPECT_EQ(predictor->num_classes(), 3);
}

// bf16 runs the forward pass in bfloat16 (the probabilities change: autocast was on) and keeps
// the labels of fp32 except where two classes are within its rounding of each other. On a CPU
// without native bfloat16 it is emulated: the same numbers, slower.
TEST(SegPredictorTest, Bf16KeepsTheLabelsOfFp32) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.model);
    const TensorSet weights = Init(c, 8);
    SegPredictOptions fp32{"cpu", 0, "fp32"}, bf16{"cpu", 0, "bf16"};
    absl::StatusOr<SegmentationPredictor> a = SegmentationPredictor::Create(weights, c.model,
                                                                            c.config, fp32),
                                          b = SegmentationPredictor::Create(weights, c.model,
                                                                            c.config, bf16);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->precision(), "fp32");
    EXPECT_EQ(b->precision(), "bf16");
    const HuVolume ct = MakeCt(40, 32, 11, 9);
    absl::StatusOr<SegProbabilities> pa = a->Predict(ct), pb = b->Predict(ct);
    ASSERT_TRUE(pa.ok() && pb.ok());
    ASSERT_TRUE(pa->SameLayout(*pb));
    double max_diff = 0.0;
    for (size_t v = 0; v < pa->values.size(); ++v) {
      max_diff = std::max(max_diff, std::fabs(double{pa->values[v]} - pb->values[v]));
    }
    EXPECT_GT(max_diff, 0.0);  // bfloat16 arithmetic did run
    EXPECT_LT(max_diff, kMaxBf16ProbabilityDiff);
    const LabelVolume mask = MaskOf(ct);
    absl::StatusOr<LabelVolume> la = a->PredictLabels(ct, &mask), lb = b->PredictLabels(ct, &mask);
    ASSERT_TRUE(la.ok() && lb.ok());
    size_t same = 0;
    for (size_t v = 0; v < la->voxels.size(); ++v) same += la->voxels[v] == lb->voxels[v];
    EXPECT_GE(static_cast<double>(same) / la->voxels.size(), kMinBf16LabelAgreement);
    // Its labels are still the argmax of its own probabilities.
    EXPECT_EQ(lb->voxels, ArgmaxLabels(*pb, &mask)->voxels);
  }
}

TEST(SegPredictorTest, PrecisionNames) {
  EXPECT_EQ(ResolvePrecision("fp32", false).value(), Precision::kFloat32);
  EXPECT_EQ(ResolvePrecision("bf16", true).value(), Precision::kBFloat16);
  // "auto" is bf16 exactly where the processor has the instructions.
  EXPECT_EQ(ResolvePrecision("auto", false).value(),
            NativeBFloat16(false) ? Precision::kBFloat16 : Precision::kFloat32);
  const absl::Status bad = ResolvePrecision("fp16", false).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("\"fp32\", \"bf16\" or \"auto\", not \"fp16\""),
            absl::string_view::npos)
      << bad;
  const Case& c = kCases[0];
  EXPECT_EQ(SegmentationPredictor::Create(Init(c, 1), c.model, c.config, {"cpu", 0, "half"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<SegmentationPredictor> automatic =
      SegmentationPredictor::Create(Init(c, 1), c.model, c.config, {"cpu", 0, "auto"});
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->precision(), NativeBFloat16(false) ? "bf16" : "fp32");
}

TEST(SegPredictorTest, Refusals) {
  const Case& c = kCases[0];
  const TensorSet weights = Init(c, 1);
  EXPECT_EQ(SegmentationPredictor::Create(weights, c.model, c.config, {"cpu", -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SegmentationPredictor::Create(weights, c.model, c.config, {"cpu", 65}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SegmentationPredictor::Create(weights, "logistic", "", {"cpu", 0}).status().code(),
            absl::StatusCode::kNotFound);
  // Weights of the 2.5D net (3 input channels) for the 2D one.
  EXPECT_EQ(SegmentationPredictor::Create(Init(kCases[1], 1), c.model, c.config, {"cpu", 0})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<SegmentationPredictor> predictor =
      SegmentationPredictor::Create(weights, c.model, c.config, {"cpu", 0});
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  const HuVolume ct = MakeCt(16, 16, 3, 1);
  const LabelVolume other_grid(16, 16, 4, ct.spacing, 1);
  EXPECT_EQ(predictor->PredictLabels(ct, &other_grid).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor->PredictLabels(HuVolume()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(predictor->Predict(HuVolume()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(predictor->PredictLabels(ct).ok());  // still usable after a refusal
}

}  // namespace
}  // namespace scancov::nn
