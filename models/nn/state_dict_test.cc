// Tests of the LibTorch internals: module <-> TensorSet conversion, the registry and the
// tabular networks. With local_trainer_test.cc, the only test translation unit that includes
// LibTorch (a unity build, see CMakeLists.txt).
#include "models/nn/state_dict.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/tabular_models.h"

namespace scancov::nn {
namespace {

using protocol::DType;
using protocol::Tensor;
using protocol::TensorSet;

TabularNetConfig MlpConfig() {
  TabularNetConfig config;
  config.input_dim = 5;
  config.hidden = {4, 3};
  config.dropout = 0.1;
  return config;
}

std::vector<std::string> Names(const TensorSet& set) {
  std::vector<std::string> names;
  for (const Tensor& t : set.tensors()) names.push_back(t.name);
  return names;
}

// Same names, layouts and bytes, in the same order.
void ExpectSameSet(const TensorSet& a, const TensorSet& b) {
  ASSERT_TRUE(a.CheckSameLayout(b).ok()) << a.CheckSameLayout(b);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.tensors()[i].bytes, b.tensors()[i].bytes) << a.tensors()[i].name;
  }
}

// Replaces one tensor of `set` by `replacement` (or drops it if replacement.name is empty).
TensorSet Replace(const TensorSet& set, const std::string& name, const Tensor& replacement) {
  TensorSet out;
  for (const Tensor& t : set.tensors()) {
    if (t.name != name) {
      EXPECT_TRUE(out.Add(t).ok());
    } else if (!replacement.name.empty()) {
      EXPECT_TRUE(out.Add(replacement).ok());
    }
  }
  return out;
}

TEST(StateDictTest, ExportsParametersThenBuffersWithDottedNames) {
  torch::manual_seed(1);
  SeverityMlp mlp(MlpConfig());
  absl::StatusOr<TensorSet> state = ExportState(mlp);
  ASSERT_TRUE(state.ok()) << state.status();
  // body: 0 Linear, 1 BatchNorm1d, 2 ReLU, 3 Dropout, 4 Linear, 5 BatchNorm1d, 6 ReLU, 7 Dropout.
  const std::vector<std::string> expected = {"body.0.weight",
                                             "body.0.bias",
                                             "body.1.weight",
                                             "body.1.bias",
                                             "body.4.weight",
                                             "body.4.bias",
                                             "body.5.weight",
                                             "body.5.bias",
                                             "head.weight",
                                             "head.bias",
                                             "body.1.running_mean",
                                             "body.1.running_var",
                                             "body.1.num_batches_tracked",
                                             "body.5.running_mean",
                                             "body.5.running_var",
                                             "body.5.num_batches_tracked"};
  EXPECT_EQ(Names(*state), expected);
  EXPECT_EQ(state->Find("body.0.weight")->shape, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(state->Find("head.weight")->shape, (std::vector<int64_t>{1, 3}));
  const Tensor* tracked = state->Find("body.5.num_batches_tracked");
  EXPECT_EQ(tracked->dtype, DType::kInt64);
  EXPECT_TRUE(tracked->shape.empty());
  EXPECT_EQ(protocol::ToDoubles(*state->Find("body.1.running_var")), std::vector<double>(4, 1.0));
}

TEST(StateDictTest, RoundTripRestoresParametersAndBatchNormStatistics) {
  torch::manual_seed(1);
  SeverityMlp trained(MlpConfig());
  trained.train();
  for (int i = 0; i < 3; ++i) trained.forward(torch::randn({8, 5}) * 3 + 1);
  absl::StatusOr<TensorSet> state = ExportState(trained);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(protocol::ToDoubles(*state->Find("body.1.num_batches_tracked")),
            std::vector<double>{3});

  torch::manual_seed(2);
  SeverityMlp fresh(MlpConfig());
  ASSERT_FALSE(torch::equal(fresh.named_parameters()["head.weight"],
                            trained.named_parameters()["head.weight"]));
  ASSERT_TRUE(ImportState(*state, &fresh).ok());
  for (const auto& item : trained.named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), fresh.named_parameters()[item.key()])) << item.key();
    EXPECT_TRUE(fresh.named_parameters()[item.key()].requires_grad()) << item.key();
  }
  for (const auto& item : trained.named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), fresh.named_buffers()[item.key()])) << item.key();
  }
  absl::StatusOr<TensorSet> again = ExportState(fresh);
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectSameSet(*state, *again);

  // Same state, same predictions in eval mode (BatchNorm uses the imported statistics).
  trained.eval();
  fresh.eval();
  const torch::Tensor x = torch::randn({6, 5});
  EXPECT_TRUE(torch::equal(trained.forward(x), fresh.forward(x)));
}

struct AllDTypes : torch::nn::Module {
  AllDTypes() {
    register_parameter("w64", torch::randn({2, 3}, torch::kFloat64));
    register_buffer("f32", torch::randn({4}));
    register_buffer("f16", torch::randn({3}).to(torch::kFloat16));
    register_buffer("bf16", torch::randn({3}).to(torch::kBFloat16));
    register_buffer("i64", torch::randint(-1000, 1000, {2, 2}, torch::kInt64));
    register_buffer("i32", torch::randint(-1000, 1000, {5}, torch::kInt32));
    register_buffer("u8", torch::randint(0, 256, {3}, torch::kUInt8));
    register_buffer("flag", torch::randint(0, 2, {4}).to(torch::kBool));
  }
};

TEST(StateDictTest, EveryWireDTypeRoundTrips) {
  torch::manual_seed(3);
  AllDTypes a;
  torch::manual_seed(4);
  AllDTypes b;
  absl::StatusOr<TensorSet> state = ExportState(a);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->Find("w64")->dtype, DType::kFloat64);
  EXPECT_EQ(state->Find("f16")->dtype, DType::kFloat16);
  EXPECT_EQ(state->Find("bf16")->dtype, DType::kBFloat16);
  EXPECT_EQ(state->Find("i32")->dtype, DType::kInt32);
  EXPECT_EQ(state->Find("u8")->dtype, DType::kUInt8);
  EXPECT_EQ(state->Find("flag")->dtype, DType::kBool);
  // The wire values are the module's values (decoded independently by protocol::ToDoubles).
  const torch::Tensor i64 = a.named_buffers()["i64"];
  const std::vector<double> wire = protocol::ToDoubles(*state->Find("i64"));
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(wire[i], static_cast<double>(i64.view({-1})[i].item<int64_t>()));
  }
  ASSERT_TRUE(ImportState(*state, &b).ok());
  for (const auto& item : a.named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), b.named_buffers()[item.key()])) << item.key();
  }
  EXPECT_TRUE(torch::equal(a.named_parameters()["w64"], b.named_parameters()["w64"]));
}

TEST(StateDictTest, ExportRefusesADTypeTheWireCannotCarry) {
  torch::nn::Module m;
  m.register_buffer("counts", torch::zeros({2}, torch::kInt16));
  absl::StatusOr<TensorSet> state = ExportState(m);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(state.status().message().find("'counts'"), std::string::npos) << state.status();
}

class ImportRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(5);
    source_ = std::make_unique<SeverityMlp>(MlpConfig());
    torch::manual_seed(6);
    target_ = std::make_unique<SeverityMlp>(MlpConfig());
    good_ = *ExportState(*source_);
    before_ = *ExportState(*target_);
  }

  // Imports `state`, expects InvalidArgument mentioning every piece of `fragments`, and checks
  // that the target module was left unchanged.
  void ExpectRefused(const TensorSet& state, const std::vector<std::string>& fragments) {
    absl::Status status = ImportState(state, target_.get());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    for (const std::string& fragment : fragments) {
      EXPECT_NE(status.message().find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << status;
    }
    ExpectSameSet(before_, *ExportState(*target_));
  }

  std::unique_ptr<SeverityMlp> source_;
  std::unique_ptr<SeverityMlp> target_;
  TensorSet good_;
  TensorSet before_;
};

TEST_F(ImportRefusalTest, WrongShape) {
  Tensor bad = protocol::MakeFloat32("body.4.weight", {3, 5}, std::vector<float>(15, 0.5f));
  ExpectRefused(Replace(good_, "body.4.weight", bad),
                {"'body.4.weight'", "expected [3, 4] float32", "got [3, 5] float32"});
}

TEST_F(ImportRefusalTest, WrongDType) {
  const Tensor& mean = *good_.Find("body.1.running_mean");
  Tensor bad =
      protocol::FromDoubles(mean.name, mean.shape, DType::kFloat64, protocol::ToDoubles(mean));
  ExpectRefused(Replace(good_, "body.1.running_mean", bad),
                {"'body.1.running_mean'", "expected [4] float32", "got [4] float64"});
}

TEST_F(ImportRefusalTest, MissingTensor) {
  ExpectRefused(Replace(good_, "body.5.num_batches_tracked", Tensor{}),
                {"'body.5.num_batches_tracked'", "missing"});
}

TEST_F(ImportRefusalTest, ExtraTensor) {
  TensorSet extra = good_;
  ASSERT_TRUE(extra.Add(protocol::MakeFloat32("head.scale", {1}, {2.0f})).ok());
  ExpectRefused(extra, {"'head.scale'", "unexpected"});
}

TEST_F(ImportRefusalTest, EmptySet) { ExpectRefused(TensorSet(), {"'body.0.weight'", "missing"}); }

TEST_F(ImportRefusalTest, AcceptsTheSameTensorsInAnotherOrder) {
  TensorSet reversed;
  for (auto it = good_.tensors().rbegin(); it != good_.tensors().rend(); ++it) {
    ASSERT_TRUE(reversed.Add(*it).ok());
  }
  ASSERT_TRUE(ImportState(reversed, target_.get()).ok());
  ExpectSameSet(good_, *ExportState(*target_));
}

TEST(ModelRegistryTest, DefaultHasTheTabularModels) {
  const std::vector<std::string> names = ModelRegistry::Default().Names();
  EXPECT_NE(std::find(names.begin(), names.end(), "logistic"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "severity_mlp"), names.end());

  auto logistic = ModelRegistry::Default().Create("logistic", R"({"input_dim": 7})");
  ASSERT_TRUE(logistic.ok()) << logistic.status();
  EXPECT_EQ(Names(*ExportState(**logistic)),
            (std::vector<std::string>{"linear.weight", "linear.bias"}));
  EXPECT_EQ((*logistic)->forward(torch::zeros({3, 7})).sizes(), torch::IntArrayRef({3}));
  EXPECT_TRUE((*logistic)->CheckInputShape({10, 7}).ok());
  absl::Status wrong = (*logistic)->CheckInputShape({10, 6});
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.message().find("[N, 7]"), std::string::npos) << wrong;

  auto mlp = ModelRegistry::Default().Create("severity_mlp", R"({"input_dim": 5,
      "hidden": [4, 3], "dropout": 0.1})");
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  EXPECT_EQ(ExportState(**mlp)->size(), 16u);
  (*mlp)->eval();
  EXPECT_EQ((*mlp)->forward(torch::zeros({2, 5})).sizes(), torch::IntArrayRef({2}));

  auto plain = ModelRegistry::Default().Create(
      "severity_mlp", R"({"input_dim": 5, "hidden": [4], "batch_norm": false})");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(Names(*ExportState(**plain)),
            (std::vector<std::string>{"body.0.weight", "body.0.bias", "head.weight", "head.bias"}));
}

TEST(ModelRegistryTest, RefusesUnknownModelsAndConfigsThatDoNotFit) {
  auto unknown = ModelRegistry::Default().Create("resnet", R"({"input_dim": 5})");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("severity_mlp"), std::string::npos) << unknown.status();
  EXPECT_EQ(ModelRegistry::Default()
                .Create("logistic", R"({"input_dim": 5, "hidden": [3]})")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelRegistry::Default().Create("severity_mlp", R"({"input_dim": 5})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelRegistry::Default().Create("severity_mlp", "not json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ModelRegistryTest, RegistersNewFamiliesAndRefusesDuplicates) {
  ModelRegistry registry;
  RegisterTabularModels(&registry);
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"logistic", "severity_mlp"}));
  NetworkFactory factory = [](absl::string_view) -> absl::StatusOr<std::shared_ptr<Network>> {
    TabularNetConfig config;
    config.input_dim = 2;
    return std::make_shared<LogisticRegression>(config);
  };
  EXPECT_TRUE(registry.Register("tiny", factory).ok());
  EXPECT_EQ(registry.Register("tiny", factory).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Register("", factory).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("null", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.Create("tiny", "").ok());

  // A factory that throws (as LibTorch does) yields a Status, not an exception.
  ASSERT_TRUE(registry
                  .Register("throws",
                            [](absl::string_view) -> absl::StatusOr<std::shared_ptr<Network>> {
                              torch::zeros({2}).view({3});
                              return nullptr;
                            })
                  .ok());
  EXPECT_EQ(registry.Create("throws", "").status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace scancov::nn
