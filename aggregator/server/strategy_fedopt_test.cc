// FedAdam and FedYogi against an independent numpy computation, over three rounds whose state
// goes from each round's Finish to the next.
#include "aggregator/server/strategy_fedopt.h"

#include <cmath>
#include <string>
#include <vector>

#include "aggregator/server/strategy.h"
#include "aggregator/server/strategy_test_util.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using protocol::DType;
using protocol::TensorSet;
using testing::MakeSet;
using testing::RunStrategy;
using testing::Ulps;
using testing::Values;

// The reference, run once with Debian's python3-numpy 1.24 (/usr/bin/python3); it mirrors the
// data below and narrows w to float32 after every round, as the model does:
//
//   import numpy as np
//   x_w = np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32)
//   x_b = np.array([0.1, -0.2], dtype=np.float64)
//   rounds = [...]  # kRounds below: (samples, w, b, n) per client
//   def run(method, eta, beta1, beta2, tau):
//     xw = x_w.copy(); xb = x_b.copy()
//     mw = np.zeros(4); vw = np.full(4, tau * tau); mb = np.zeros(2); vb = np.full(2, tau * tau)
//     for r, clients in enumerate(rounds):
//       total = float(sum(c[0] for c in clients))
//       sw = np.zeros(4); sb = np.zeros(2); sn = 0.0
//       for n, w, b, k in clients:
//         sw += n * np.array(w, dtype=np.float32).astype(np.float64)
//         sb += n * np.array(b, dtype=np.float64)
//         sn += n * k
//       out = []
//       for (s, x, m, v) in ((sw, xw.astype(np.float64), mw, vw), (sb, xb, mb, vb)):
//         d = s / total - x
//         m[:] = beta1 * m + (1 - beta1) * d
//         if method == 'adam':
//           v[:] = beta2 * v + (1 - beta2) * d * d
//         else:
//           v[:] = v - (1 - beta2) * d * d * np.sign(v - d * d)
//         out.append(x + eta * m / (np.sqrt(v) + tau))
//       xw = out[0].astype(np.float32); xb = out[1]
//       print(method, 'round', r + 1, 'w', [float(f) for f in xw], 'b', [float(f) for f in xb],
//             'n', round(sn / total))
//     print(method, 'm/w', list(mw), 'v/w', list(vw))
//     print(method, 'm/b', list(mb), 'v/b', list(vb))
//   run('adam', 0.1, 0.9, 0.99, 1e-3)
//   run('yogi', 0.05, 0.9, 0.99, 1e-2)
//
// (For FedYogi, sign(v - Delta^2) is -1 in round 1 and +1 for some elements in rounds 2 and 3,
// so both branches are checked.)
struct Client {
  uint64_t samples;
  std::vector<double> w, b;
  double n;
};
const std::vector<std::vector<Client>> kRounds = {
    {{10, {0.7, -0.9, 0.2, 2.5}, {0.3, -0.1}, 12},
     {30, {0.6, -1.2, 0.3, 1.5}, {0.2, -0.4}, 40},
     {60, {0.55, -1.1, 0.35, 2.2}, {0.0, -0.3}, 75}},
    {{20, {0.58, -1.05, 0.3, 2.1}, {0.12, -0.25}, 90},
     {20, {0.6, -1.0, 0.28, 2.05}, {0.1, -0.2}, 95},
     {50, {0.62, -1.08, 0.31, 2.12}, {0.08, -0.22}, 110}},
    {{40, {0.6, -1.03, 0.29, 2.08}, {0.1, -0.21}, 130},
     {25, {0.61, -1.04, 0.3, 2.09}, {0.11, -0.22}, 140},
     {35, {0.59, -1.02, 0.31, 2.07}, {0.09, -0.2}, 150}},
};

struct Expected {
  std::vector<double> w, b;
  double n;
};

TensorSet Model(const std::vector<double>& w, const std::vector<double>& b, double n) {
  return MakeSet({{"w", {4}, DType::kFloat32, w},
                  {"b", {2}, DType::kFloat64, b},
                  {"bn.num_batches_tracked", {}, DType::kInt64, {n}}});
}

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-9 * std::fabs(want[i])) << what << "[" << i << "]";
  }
}

// Runs the three rounds, each round's state fed to the next; checks every round's model.
StrategyState RunRounds(const std::string& spec, const std::vector<Expected>& expected) {
  TensorSet global = Model({0.5, -1.0, 0.25, 2.0}, {0.1, -0.2}, 0);
  StrategyState state;
  for (size_t r = 0; r < kRounds.size(); ++r) {
    std::vector<TensorSet> models;
    for (const Client& c : kRounds[r]) models.push_back(Model(c.w, c.b, c.n));
    std::vector<ClientUpdate> updates;
    for (size_t i = 0; i < models.size(); ++i) {
      updates.push_back({"s" + std::to_string(i), kRounds[r][i].samples, &models[i]});
    }
    auto step = RunStrategy(spec, global, updates, state);
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok()) return {};
    const std::vector<double> w = Values(step->global, "w");
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_LE(Ulps(static_cast<float>(w[i]), static_cast<float>(expected[r].w[i])), 1)
          << spec << " round " << r + 1 << " w[" << i << "] = " << w[i];
    }
    ExpectClose(Values(step->global, "b"), expected[r].b, spec + " b");
    EXPECT_EQ(Values(step->global, "bn.num_batches_tracked")[0], expected[r].n);
    global = std::move(step->global);
    state = std::move(step->state);
  }
  return state;
}

TEST(FedOptTest, FedAdamMatchesNumpyOverThreeRounds) {
  const StrategyState state = RunRounds(
      "fedadam:eta=0.1,beta1=0.9,beta2=0.99,tau=1e-3",
      {{{0.5882842540740967, -1.0913249254226685, 0.33673712611198425, 2.0618462562561035},
        {0.05851781838721329, -0.29132489595915784},
        58},
       {{0.6862155199050903, -1.1416797637939453, 0.36754435300827026, 2.1655359268188477},
        {0.11282239116687923, -0.31270823537394893},
        102},
       {{0.6816861629486084, -1.1090636253356934, 0.32941922545433044, 2.131908893585205},
        {0.1317113308956052, -0.26898391284343887},
        140}});
  // State: float64 moments for the floating tensors, none for the integer one.
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state.tensors()[0].name, "m/w");
  EXPECT_EQ(state.tensors()[1].name, "v/w");
  EXPECT_EQ(state.Find("m/w")->dtype, DType::kFloat64);
  EXPECT_EQ(state.Find("m/b")->shape, (std::vector<int64_t>{2}));
  ExpectClose(
      Values(state, "m/w"),
      {-0.0005871330201625852, 0.005577219116687781, -0.004340776197612284, -0.0035997695446014716},
      "m/w");
  ExpectClose(
      Values(state, "v/w"),
      {0.00014310752298519244, 0.000259196333606355, 0.00010786074368723529, 9.418694566909828e-05},
      "v/w");
  ExpectClose(Values(state, "m/b"), {0.0009411572284628812, 0.0076800641737190985}, "m/b");
  ExpectClose(Values(state, "v/b"), {1.586097277724096e-05, 0.00027439065706795854}, "v/b");
}

TEST(FedOptTest, FedYogiMatchesNumpyOverThreeRounds) {
  const StrategyState state = RunRounds(
      "fedyogi:eta=0.05,tau=0.01",
      {{{0.5175390839576721, -1.0221184492111206, 0.2657611072063446, 2.004951000213623},
        {0.09750621894395549, -0.2221184943059932},
        58},
       {{0.5490062832832336, -1.0483566522598267, 0.28741636872291565, 2.0285611152648926},
        {0.09421976904215558, -0.24204599940260574},
        102},
       {{0.5859622955322266, -1.0680406093597412, 0.30962303280830383, 2.0592122077941895},
        {0.0924535612649566, -0.2531735736469351},
        140}});
  ExpectClose(
      Values(state, "m/w"),
      {0.01950085595250129, -0.009983674895763388, 0.010059863932430742, 0.015218284654617274},
      "m/w");
  ExpectClose(Values(state, "v/w"),
              {0.0002684310095767376, 0.00023592727793585606, 0.00016003608961091597,
               0.00021978368868820424},
              "v/w");
  ExpectClose(Values(state, "m/b"), {-0.0007075366091715517, -0.005614735572200035}, "m/b");
  ExpectClose(Values(state, "v/b"), {0.00010059736417670328, 0.00023192027317036425}, "v/b");
}

// An empty state is the paper's initialisation at its bound: m = 0, v = tau^2.
TEST(FedOptTest, EmptyStateIsZeroMomentAndTauSquared) {
  const TensorSet global = Model({0.5, -1.0, 0.25, 2.0}, {0.1, -0.2}, 0);
  const TensorSet a = Model({1, 2, 3, 4}, {5, 6}, 7);
  const double tau = 1e-3;
  const StrategyState initial =
      MakeSet({{"m/w", {4}, DType::kFloat64, {0, 0, 0, 0}},
               {"v/w", {4}, DType::kFloat32, std::vector<double>(4, tau * tau)},
               {"m/b", {2}, DType::kFloat64, {0, 0}},
               {"v/b", {2}, DType::kFloat64, {tau * tau, tau * tau}}});
  auto empty = RunStrategy("fedadam", global, {{"a", 3, &a}});
  auto given = RunStrategy("fedadam", global, {{"a", 3, &a}}, initial);
  ASSERT_TRUE(empty.ok() && given.ok()) << empty.status() << given.status();
  EXPECT_EQ(Values(empty->global, "b"), Values(given->global, "b"));
  EXPECT_EQ(Values(empty->state, "m/b"), Values(given->state, "m/b"));
}

TEST(FedOptTest, RefusesAStateThatDoesNotFit) {
  const TensorSet global = Model({0.5, -1.0, 0.25, 2.0}, {0.1, -0.2}, 0);
  const TensorSet a = Model({1, 2, 3, 4}, {5, 6}, 7);
  auto first = RunStrategy("fedadam", global, {{"a", 3, &a}});
  ASSERT_TRUE(first.ok());
  auto with = [&](std::vector<testing::Spec> specs) { return MakeSet(specs); };
  const std::vector<std::pair<StrategyState, std::string>> cases = {
      {with({{"m/w", {4}, DType::kFloat64, {0, 0, 0, 0}}}),
       "fedadam: state has 1 tensors, expected 4 (m/ and v/ for each floating tensor)"},
      {with({{"m/w", {4}, DType::kFloat64, {0, 0, 0, 0}},
             {"v/w", {4}, DType::kFloat64, {1, 1, 1, 1}},
             {"m/b", {2}, DType::kFloat64, {0, 0}},
             {"x/b", {2}, DType::kFloat64, {1, 1}}}),
       "fedadam: state lacks 'v/b'"},
      {with({{"m/w", {2, 2}, DType::kFloat64, {0, 0, 0, 0}},
             {"v/w", {4}, DType::kFloat64, {1, 1, 1, 1}},
             {"m/b", {2}, DType::kFloat64, {0, 0}},
             {"v/b", {2}, DType::kFloat64, {1, 1}}}),
       "fedadam: state 'm/w': expected a floating tensor of shape [4], got float64 [2, 2]"},
      {with({{"m/w", {4}, DType::kFloat64, {0, 0, 0, 0}},
             {"v/w", {4}, DType::kFloat64, {1, 1, -1, 1}},
             {"m/b", {2}, DType::kFloat64, {0, 0}},
             {"v/b", {2}, DType::kFloat64, {1, 1}}}),
       "fedadam: state 'v/w': element 2 is negative (-1)"},
      {with({{"m/w", {4}, DType::kFloat64, {0, 0, 0, 0}},
             {"v/w", {4}, DType::kFloat64, {1, 1, 1, 1}},
             {"m/b", {2}, DType::kFloat64, {0, NAN}},
             {"v/b", {2}, DType::kFloat64, {1, 1}}}),
       "fedadam: state 'm/b': element 1 is not finite"},
  };
  for (const auto& [state, message] : cases) {
    auto s = RunStrategy("fedadam", global, {{"a", 3, &a}}, state);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), message);
  }
  EXPECT_TRUE(RunStrategy("fedadam", global, {{"a", 3, &a}}, first->state).ok());
}

TEST(FedOptTest, DefaultsAreDocumented) {
  auto options = ParseFedOptOptions("");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->eta, 1e-2);
  EXPECT_EQ(options->beta1, 0.9);
  EXPECT_EQ(options->beta2, 0.99);
  EXPECT_EQ(options->tau, 1e-3);
  auto parsed = ParseFedOptOptions("tau=1e-9,eta=1");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->tau, 1e-9);
  EXPECT_EQ(parsed->eta, 1.0);
  EXPECT_EQ(parsed->beta1, 0.9);
}

}  // namespace
}  // namespace scancov::aggregator
