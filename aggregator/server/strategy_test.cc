// FedAvg, the accumulator protocol, the kernels' conversions and MakeStrategy. FedAdam/FedYogi:
// strategy_fedopt_test.cc; median, trimmed mean, Krum: strategy_robust_test.cc.
#include "aggregator/server/strategy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using protocol::DType;
using protocol::FromDoubles;
using protocol::MakeFloat32;
using protocol::Tensor;
using protocol::TensorSet;
using protocol::ToDoubles;
using testing::MakeSet;
using testing::RandomLike;
using testing::RunStrategy;
using testing::Ulps;
using testing::Values;

TensorSet Model(float w0, float w1, double tracked) {
  return MakeSet({{"w", {2}, DType::kFloat32, {w0, w1}},
                  {"bn.num_batches_tracked", {}, DType::kInt64, {tracked}}});
}

// A layout with every dtype and a float32 tensor long enough to be split over threads.
TensorSet MixedLayout() {
  const size_t big = 3 * kernels::kMinElementsPerThread + 123;
  return MakeSet(
      {{"conv", {static_cast<int64_t>(big)}, DType::kFloat32, std::vector<double>(big, 0.0)},
       {"fc", {3, 5}, DType::kFloat64, std::vector<double>(15, 0.0)},
       {"half", {7}, DType::kFloat16, std::vector<double>(7, 0.0)},
       {"brain", {9}, DType::kBFloat16, std::vector<double>(9, 0.0)},
       {"tracked", {}, DType::kInt64, {0}},
       {"counts", {4}, DType::kInt32, std::vector<double>(4, 0.0)},
       {"mask", {3}, DType::kUInt8, std::vector<double>(3, 0.0)}});
}

TEST(FedAvgTest, WeightsBySampleCount) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 10, 3), b = Model(3, 20, 4), c = Model(5, 30, 8);
  auto out = RunStrategy("fedavg", global, {{"a", 100, &a}, {"b", 300, &b}, {"c", 600, &c}});
  ASSERT_TRUE(out.ok()) << out.status();
  // By hand: (100*1 + 300*3 + 600*5) / 1000 = 4.0; (100*10 + 300*20 + 600*30) / 1000 = 25.0
  EXPECT_EQ(Values(out->global, "w"), (std::vector<double>{4.0, 25.0}));
  // (0.1*3 + 0.3*4 + 0.6*8) = 6.3 -> rounded to 6 for the integer buffer
  EXPECT_EQ(Values(out->global, "bn.num_batches_tracked")[0], 6.0);
  EXPECT_EQ(out->global.Find("w")->dtype, DType::kFloat32);
  EXPECT_TRUE(out->state.empty());
}

// FedAvg's next model is the updates' weighted mean alone: it closes a round without the input
// model (the aggregator then never decodes it); a server optimiser steps from the input model
// and refuses to finish without it.
TEST(FedAvgTest, FinishesWithoutTheInputModelWhichFedAdamNeeds) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 10, 3), b = Model(3, 20, 4);
  for (const char* name : {"fedavg", "fedadam"}) {
    auto strategy = MakeStrategy(name);
    ASSERT_TRUE(strategy.ok());
    std::unique_ptr<RoundAccumulator> acc = (*strategy)->Begin(global);
    ASSERT_TRUE(acc->Add({"a", 100, &a}).ok());
    ASSERT_TRUE(acc->Add({"b", 300, &b}).ok());
    auto out = acc->Finish(TensorSet(), {});
    if ((*strategy)->NeedsGlobal()) {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << name;
      EXPECT_THAT(std::string(out.status().message()), ::testing::HasSubstr("input model"));
      continue;
    }
    ASSERT_TRUE(out.ok()) << out.status();
    auto with_input = RunStrategy(name, global, {{"a", 100, &a}, {"b", 300, &b}});
    ASSERT_TRUE(with_input.ok());
    EXPECT_EQ(Values(out->global, "w"), Values(with_input->global, "w"));
    EXPECT_EQ(Values(out->global, "w"), (std::vector<double>{2.5, 17.5}));
  }
  EXPECT_FALSE((*MakeStrategy("fedavg"))->NeedsGlobal());
  EXPECT_TRUE((*MakeStrategy("fedadam"))->NeedsGlobal());
}

// The reference is written differently from the strategy: normalised weights first, in long
// double, summed from the last update to the first.
TEST(FedAvgTest, EqualsAnIndependentWeightedMeanForEveryDType) {
  const TensorSet layout = MixedLayout();
  std::mt19937_64 rng(13);
  std::vector<TensorSet> models;
  std::vector<ClientUpdate> updates;
  for (int i = 0; i < 7; ++i) models.push_back(RandomLike(layout, rng, 3.0, 2.0));
  const uint64_t samples[] = {1, 17, 250, 3, 99999, 42, 7};
  for (int i = 0; i < 7; ++i) updates.push_back({"s" + std::to_string(i), samples[i], &models[i]});
  auto out = RunStrategy("fedavg", layout, updates);
  ASSERT_TRUE(out.ok()) << out.status();
  long double total = 0;
  for (const ClientUpdate& u : updates) total += u.num_samples;
  for (const Tensor& t : layout.tensors()) {
    std::vector<long double> ref(static_cast<size_t>(t.NumElements()), 0.0L);
    for (size_t c = updates.size(); c-- > 0;) {
      const long double p = updates[c].num_samples / total;
      const std::vector<double> x = Values(models[c], t.name);
      for (size_t i = 0; i < ref.size(); ++i) ref[i] += p * x[i];
    }
    const std::vector<double> got = Values(out->global, t.name);
    if (t.dtype == DType::kFloat32) {
      int64_t worst = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        worst = std::max(worst, Ulps(static_cast<float>(got[i]), static_cast<float>(ref[i])));
      }
      EXPECT_LE(worst, 1) << t.name;
    } else {
      std::vector<double> narrowed(ref.begin(), ref.end());
      const std::vector<double> want = ToDoubles(FromDoubles(t.name, t.shape, t.dtype, narrowed));
      for (size_t i = 0; i < ref.size(); ++i) {
        if (t.dtype == DType::kFloat64) {
          EXPECT_NEAR(got[i], want[i], 1e-14 * std::fabs(want[i])) << t.name << "[" << i << "]";
        } else {
          EXPECT_EQ(got[i], want[i]) << t.name << "[" << i << "]";
        }
      }
    }
  }
}

TEST(FedAvgTest, ArrivalOrderChangesFloat32ByAtMostOneUlp) {
  const TensorSet layout = MixedLayout();
  std::mt19937_64 rng(5);
  std::vector<TensorSet> models;
  for (int i = 0; i < 9; ++i) models.push_back(RandomLike(layout, rng, 0.0, 1.0));
  std::vector<ClientUpdate> updates;
  for (int i = 0; i < 9; ++i)
    updates.push_back({"s" + std::to_string(i), 10u + 37u * i, &models[i]});
  auto first = RunStrategy("fedavg", layout, updates);
  std::shuffle(updates.begin(), updates.end(), rng);
  auto second = RunStrategy("fedavg", layout, updates);
  ASSERT_TRUE(first.ok() && second.ok());
  const std::vector<double> a = Values(first->global, "conv"), b = Values(second->global, "conv");
  int64_t worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, Ulps(static_cast<float>(a[i]), static_cast<float>(b[i])));
  }
  EXPECT_LE(worst, 1);
}

// AddTensor with the tensors of each update in any order, and on one thread or two, gives what
// Add gives, bit for bit.
TEST(FedAvgTest, AddTensorInAnyOrderAndThreadCountEqualsAdd) {
  const TensorSet layout = MixedLayout();
  std::mt19937_64 rng(21);
  std::vector<TensorSet> models;
  for (int i = 0; i < 4; ++i) models.push_back(RandomLike(layout, rng, 1.0, 3.0));
  auto strategy = MakeStrategy("fedavg");
  ASSERT_TRUE(strategy.ok());

  kernels::SetThreads(2);
  auto whole = (*strategy)->Begin(layout);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(whole->Add({"s", 5u + i, &models[i]}).ok());
  auto expected = whole->Finish(layout, {});
  ASSERT_TRUE(expected.ok()) << expected.status();

  kernels::SetThreads(1);
  auto pieces = (*strategy)->Begin(layout);
  std::vector<size_t> order(layout.size());
  std::iota(order.begin(), order.end(), 0);
  for (int i = 0; i < 4; ++i) {
    std::shuffle(order.begin(), order.end(), rng);
    ASSERT_TRUE(pieces->BeginUpdate("s", 5u + i).ok());
    for (size_t k : order) ASSERT_TRUE(pieces->AddTensor(k, models[i].tensors()[k]).ok());
    ASSERT_TRUE(pieces->EndUpdate().ok());
  }
  EXPECT_EQ(pieces->count(), 4u);
  auto got = pieces->Finish(layout, {});
  kernels::SetThreads(0);
  ASSERT_TRUE(got.ok()) << got.status();
  for (size_t k = 0; k < layout.size(); ++k) {
    EXPECT_EQ(got->global.tensors()[k].bytes, expected->global.tensors()[k].bytes)
        << layout.tensors()[k].name;
  }
}

TEST(FedAvgTest, BytesHeldIsTheAccumulatorWhateverTheNumberOfUpdates) {
  const TensorSet layout = MixedLayout();
  size_t elements = 0;
  for (const Tensor& t : layout.tensors()) elements += static_cast<size_t>(t.NumElements());
  std::mt19937_64 rng(8);
  const TensorSet model = RandomLike(layout, rng, 0.0, 1.0);
  auto round = (*MakeStrategy("fedavg"))->Begin(layout);
  EXPECT_EQ(round->bytes_held(), 8 * elements);
  for (int i = 1; i <= 50; ++i) {
    ASSERT_TRUE(round->Add({"s" + std::to_string(i), 1, &model}).ok());
    EXPECT_EQ(round->bytes_held(), 8 * elements) << i << " updates";
  }
  EXPECT_EQ(round->count(), 50u);
  EXPECT_TRUE((*MakeStrategy("fedavg"))->streaming());
  EXPECT_FALSE((*MakeStrategy("median"))->streaming());
}

TEST(FedAvgTest, RefusesZeroSamplesAndAnyStateAndNoUpdates) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1);
  auto zero = RunStrategy("fedavg", global, {{"a", 0, &a}});
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.status().message(), "fedavg: site 'a': reported 0 samples");
  auto stateful = RunStrategy("fedavg", global, {{"a", 1, &a}},
                              MakeSet({{"m/w", {2}, DType::kFloat64, {0, 0}}}));
  EXPECT_EQ(stateful.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(stateful.status().message().find("stateless"), std::string::npos) << stateful.status();
  EXPECT_EQ(RunStrategy("fedavg", global, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The kernels narrow and widen exactly like protocol::FromDoubles / ToDoubles (the conversions
// the strategies used before the kernels): every 16-bit pattern, and doubles near rounding ties.
TEST(KernelsTest, ConversionsMatchTheProtocols) {
  std::vector<double> halves(65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    for (DType d : {DType::kFloat16, DType::kBFloat16}) {
      Tensor t{"t", {1}, d, std::string(reinterpret_cast<const char*>(&bits), 2)};
      double widened = 0;
      kernels::Widen(d, t.bytes.data(), 1, &widened);
      const double want = ToDoubles(t)[0];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(widened));
      } else {
        EXPECT_EQ(widened, want) << h;
      }
    }
  }
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> mag(-40, 40);
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i)
    values.push_back(std::ldexp(mag(rng) / 40, static_cast<int>(mag(rng) / 2)));
  for (double v : {0.5, 1.5, 2.5, -0.5, -2.5, 65504.0, 65520.0, 1e-8}) values.push_back(v);
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16,
                  DType::kInt64, DType::kInt32, DType::kBool}) {
    const Tensor want = FromDoubles("t", {static_cast<int64_t>(values.size())}, d, values);
    std::string got(want.bytes.size(), '\0');
    kernels::NarrowDivided(values.data(), values.size(), 1.0, d, got.data());
    EXPECT_EQ(got, want.bytes) << protocol::DTypeName(d);
  }
}

TEST(AccumulatorTest, RefusesLayoutMismatchesNamingSiteAndTensor) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1);
  struct Case {
    Tensor tensor;
    size_t index;
    std::string message;
  };
  Tensor short_bytes = MakeFloat32("w", {2}, {1, 2});
  short_bytes.bytes.resize(4);
  Tensor as_double = FromDoubles("w", {2}, DType::kFloat64, {1, 2});
  const std::vector<Case> cases = {
      {MakeFloat32("w", {3}, {1, 2, 3}), 0,
       "fedavg: site 'b': tensor 'w': expected shape [2], got [3]"},
      {MakeFloat32("v", {2}, {1, 2}), 0, "fedavg: site 'b': tensor #0: expected name 'w', got 'v'"},
      {as_double, 0, "fedavg: site 'b': tensor 'w': expected dtype float32, got float64"},
      {short_bytes, 0, "fedavg: site 'b': tensor 'w': 4 bytes, expected 8"},
      {MakeFloat32("w", {2}, {1, 2}), 2,
       "fedavg: site 'b': tensor 'w': index 2 out of range (2 tensors)"},
  };
  for (const Case& c : cases) {
    auto round = (*MakeStrategy("fedavg"))->Begin(global);
    ASSERT_TRUE(round->Add({"a", 1, &a}).ok());
    ASSERT_TRUE(round->BeginUpdate("b", 1).ok());
    const absl::Status s = round->AddTensor(c.index, c.tensor);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
    // Unusable afterwards, saying why.
    const absl::Status after = round->EndUpdate();
    EXPECT_EQ(after.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(after.message().find(c.message), std::string::npos) << after;
    EXPECT_EQ(round->Finish(global, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(AccumulatorTest, RefusesBrokenSequences) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1);
  auto round = (*MakeStrategy("median"))->Begin(global);
  ASSERT_TRUE(round->BeginUpdate("a", 1).ok());
  ASSERT_TRUE(round->AddTensor(0, a.tensors()[0]).ok());
  EXPECT_EQ(round->AddTensor(0, a.tensors()[0]).message(),
            "median: site 'a': tensor 'w': given twice");

  round = (*MakeStrategy("median"))->Begin(global);
  ASSERT_TRUE(round->BeginUpdate("a", 1).ok());
  ASSERT_TRUE(round->AddTensor(1, a.tensors()[1]).ok());
  EXPECT_EQ(round->EndUpdate().message(),
            "median: site 'a': tensor 'w' missing (1 of 2 not given)");

  round = (*MakeStrategy("median"))->Begin(global);
  EXPECT_EQ(round->AddTensor(0, a.tensors()[0]).code(), absl::StatusCode::kFailedPrecondition);

  round = (*MakeStrategy("fedavg"))->Begin(global);
  EXPECT_EQ(round->Finish(global, {}).status().message(), "fedavg: no client updates");
  round = (*MakeStrategy("fedavg"))->Begin(global);
  ASSERT_TRUE(round->BeginUpdate("a", 1).ok());
  EXPECT_EQ(round->Finish(global, {}).status().message(), "fedavg: update of site 'a' still open");

  round = (*MakeStrategy("fedavg"))->Begin(global);
  ASSERT_TRUE(round->Add({"a", 1, &a}).ok());
  const TensorSet other = MakeSet({{"w", {2}, DType::kFloat32, {0, 0}}});
  EXPECT_EQ(round->Finish(other, {}).status().message(),
            "fedavg: global model: expected 2 tensors, got 1");

  round = (*MakeStrategy("fedavg"))->Begin(global);
  ASSERT_TRUE(round->Add({"a", 1, &a}).ok());
  ASSERT_TRUE(round->Finish(global, {}).ok());
  EXPECT_EQ(round->Finish(global, {}).status().message(), "fedavg: round finished");
  EXPECT_EQ(round->Add({"a", 1, &a}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(AccumulatorTest, EveryStrategyRefusesNonFiniteValues) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet nan = Model(1, std::numeric_limits<float>::quiet_NaN(), 1);
  const TensorSet inf = Model(std::numeric_limits<float>::infinity(), 1, 1);
  TensorSet ok[5];
  std::vector<ClientUpdate> updates;
  for (int i = 0; i < 5; ++i) {
    ok[i] = Model(i, i, i);
    updates.push_back({"h" + std::to_string(i), 1, &ok[i]});
  }
  for (const char* spec :
       {"fedavg", "fedadam", "fedyogi", "median", "trimmed_mean:1", "krum:1", "multikrum:1:2"}) {
    std::vector<ClientUpdate> with_nan = updates;
    with_nan.push_back({"x", 1, &nan});
    auto s = RunStrategy(spec, global, with_nan);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    const std::string name = (*MakeStrategy(spec))->name();
    EXPECT_EQ(s.status().message(), name + ": site 'x': tensor 'w': element 1 is not finite (nan)")
        << spec;
    std::vector<ClientUpdate> with_inf = updates;
    with_inf.insert(with_inf.begin(), {"y", 1, &inf});
    EXPECT_EQ(RunStrategy(spec, global, with_inf).status().message(),
              name + ": site 'y': tensor 'w': element 0 is not finite (inf)")
        << spec;
  }
  // bfloat16 and float16 infinities are found from their own exponent bits.
  for (DType d : {DType::kBFloat16, DType::kFloat16}) {
    const TensorSet layout = MakeSet({{"h", {3}, d, {0, 0, 0}}});
    const TensorSet bad = MakeSet({{"h", {3}, d, {1, 2, -1e300}}});
    EXPECT_EQ(RunStrategy("fedavg", layout, {{"z", 1, &bad}}).status().message(),
              "fedavg: site 'z': tensor 'h': element 2 is not finite (-inf)");
  }
}

TEST(MakeStrategyTest, ParsesNames) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"", "fedavg"},
      {"fedavg", "fedavg"},
      {"fedprox", "fedavg"},
      {"median", "median"},
      {"trimmed_mean:1", "trimmed_mean"},
      {"krum:2", "krum"},
      {"multikrum:1:3", "multikrum"},
      {"fedadam", "fedadam"},
      {"fedyogi:tau=0.01", "fedyogi"},
      {"fedadam:eta=0.01,beta1=0.9,beta2=0.99,tau=1e-3", "fedadam"}};
  for (const auto& [spec, name] : names) {
    auto s = MakeStrategy(spec);
    ASSERT_TRUE(s.ok()) << spec << ": " << s.status();
    EXPECT_EQ((*s)->name(), name);
  }
}

TEST(MakeStrategyTest, RefusesBadSpecsNamingThePart) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"fedsgd",
       "strategy 'fedsgd': unknown (fedavg, fedprox, fedadam[:key=value,...], "
       "fedyogi[:key=value,...], median, trimmed_mean:<k>, krum:<f>, multikrum:<f>:<m>)"},
      {"fedavg:2", "strategy 'fedavg:2': expected fedavg without options"},
      {"median:1", "strategy 'median:1': expected median without options"},
      {"trimmed_mean", "strategy 'trimmed_mean': expected trimmed_mean:<k>"},
      {"trimmed_mean:x",
       "strategy 'trimmed_mean:x': k must be an integer in [0, 1000000], got 'x'"},
      {"trimmed_mean:-1",
       "strategy 'trimmed_mean:-1': k must be an integer in [0, 1000000], got '-1'"},
      {"krum", "strategy 'krum': expected krum:<f>"},
      {"krum:1:2", "strategy 'krum:1:2': expected krum:<f>"},
      {"multikrum:1", "strategy 'multikrum:1': expected multikrum:<f>:<m>"},
      {"multikrum:1:0", "strategy 'multikrum:1:0': m must be an integer in [1, 1000000], got '0'"},
      {"fedadam:foo=1", "strategy 'fedadam:foo=1': unknown option 'foo' (eta, beta1, beta2, tau)"},
      {"fedadam:eta=-1", "strategy 'fedadam:eta=-1': option 'eta' must be > 0 and finite, got -1"},
      {"fedyogi:tau=0", "strategy 'fedyogi:tau=0': option 'tau' must be > 0 and finite, got 0"},
      {"fedadam:beta1=1", "strategy 'fedadam:beta1=1': option 'beta1' must be in [0, 1), got 1"},
      {"fedadam:beta2=-0.1",
       "strategy 'fedadam:beta2=-0.1': option 'beta2' must be in [0, 1), got -0.1"},
      {"fedadam:eta=inf",
       "strategy 'fedadam:eta=inf': option 'eta' must be > 0 and finite, got inf"},
      {"fedadam:beta2=abc", "strategy 'fedadam:beta2=abc': option 'beta2': 'abc' is not a number"},
      {"fedadam:eta", "strategy 'fedadam:eta': option 'eta': expected key=value"},
      {"fedadam:eta=1,eta=2", "strategy 'fedadam:eta=1,eta=2': option 'eta' repeated"},
      {"fedadam:eta=1:x", "strategy 'fedadam:eta=1:x': expected fedadam[:key=value,...]"},
  };
  for (const auto& [spec, message] : bad) {
    auto s = MakeStrategy(spec);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_EQ(s.status().message(), message);
  }
}

}  // namespace
}  // namespace scancov::aggregator
