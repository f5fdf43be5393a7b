// DP-SGD at the gate (node/dp_filter.h): the gate plans a dp_sgd task's release as its training
// steps, holds it against the site's maximum epsilon, posts the terms the training plug-in takes
// (node/tasks/dp_sgd_terms.h), records the release in the DP ledger, and does not clip or noise
// the already private update again; kinds that cannot train per example are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "node/dp_gate_test_util.h"
#include "node/gate.h"
#include "node/gate_test_util.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/dp/rdp_accountant.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;
using testing_util::ZeroNoise;

// q = 0.05: 20 steps per epoch.
constexpr char kDpSgd[] =
    R"({"dp": {"mode": "dp_sgd", "clip_norm": 0.8, "noise_multiplier": 1.2, "delta": 1e-5,
               "sample_rate": 0.05}})";

// A training plug-in that takes the DP-SGD terms as tabular_training does (or not), and returns
// `produce`.
class PrivateTrainer : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override { return declared; }
  absl::StatusOr<TaskOutcome> Run(const v1::Task&, const protocol::TensorSet*) override {
    ++runs;
    if (takes_terms && board != nullptr) taken = board->Take();
    return produce;
  }
  TaskDeclaration declared;
  TaskOutcome produce;
  DpSgdBoard* board = nullptr;
  bool takes_terms = true;
  std::optional<DpSgdTerms> taken;
  int runs = 0;
};

v1::Task SgdTrain(int round, int epochs) {
  v1::Task t = testing_util::DpTrainTask(round, kDpSgd);
  t.mutable_plan()->set_local_epochs(epochs);
  return t;
}

class DpSgdGateTest : public testing_util::DpGateFixture {
 protected:
  std::unique_ptr<TaskGate> SgdGate(DpSitePolicy dp, bool with_board = true) {
    auto plugin = std::make_unique<PrivateTrainer>();
    plugin->declared.releases_weights = true;
    plugin->declared.dp_sgd_unavailable = "";
    plugin->produce.weights = testing_util::DpModel({30.0f, -40.0f});  // norm 50 from (0, 0)
    plugin->produce.num_samples = 40;
    plugin->board = &board_;
    trainer_ = plugin.get();
    return GateWith(std::move(plugin), dp, noise_, with_board ? &board_ : nullptr);
  }

  DpSgdBoard board_;
  std::shared_ptr<ZeroNoise> noise_ = std::make_shared<ZeroNoise>();
  PrivateTrainer* trainer_ = nullptr;
};

TEST_F(DpSgdGateTest, TheLedgerHoldsThePlannedStepsAndTheUpdateIsNotNoisedAgain) {
  auto gate = SgdGate({});
  const protocol::TensorSet global = testing_util::DpModel({0.0f, 0.0f});
  auto release = gate->Run(SgdTrain(1, 3), &global);
  ASSERT_TRUE(release.ok()) << release.status();
  // The plug-in got the study's terms and the gate's noise source.
  ASSERT_TRUE(trainer_->taken.has_value());
  EXPECT_DOUBLE_EQ(trainer_->taken->clip_norm, 0.8);
  EXPECT_DOUBLE_EQ(trainer_->taken->noise_multiplier, 1.2);
  EXPECT_DOUBLE_EQ(trainer_->taken->sample_rate, 0.05);
  EXPECT_EQ(trainer_->taken->steps_per_epoch, 20);
  EXPECT_EQ(trainer_->taken->noise, noise_.get());
  // Released as trained: no clipping to 0.8 and no noise on top.
  const std::vector<double> w = protocol::ToDoubles(release->weights->tensors()[0]);
  EXPECT_DOUBLE_EQ(w[0], 30.0);
  EXPECT_DOUBLE_EQ(w[1], -40.0);
  EXPECT_EQ(release->header.num_samples(), 40u) << "the training rows, in clear as in any mode";
  auto spends = dp_ledger_->List();
  ASSERT_TRUE(spends.ok());
  ASSERT_EQ(spends->size(), 1u);
  EXPECT_EQ((*spends)[0].mode, "dp_sgd");
  EXPECT_DOUBLE_EQ((*spends)[0].event.sample_rate, 0.05);
  EXPECT_DOUBLE_EQ((*spends)[0].event.noise_multiplier, 1.2) << "sensitivity C: sigma itself";
  EXPECT_EQ((*spends)[0].event.steps, 3 * 20) << "epochs x round(1 / q)";
  // The epsilon recomputed from the ledger is the accountant's for 60 steps at q and sigma.
  privacy::dp::RdpAccountant from_ledger;
  ASSERT_TRUE(from_ledger.ComposeAll(*dp_ledger_->Events()).ok());
  privacy::dp::RdpAccountant planned;
  ASSERT_TRUE(planned.Compose({0.05, 1.2, 60}).ok());
  EXPECT_DOUBLE_EQ(from_ledger.GetEpsilon(1e-5)->epsilon, planned.GetEpsilon(1e-5)->epsilon);
  EXPECT_FALSE(board_.Take().has_value()) << "the terms are cleared after the task";
}

TEST_F(DpSgdGateTest, AStudyPastTheSitesMaximumIsRefusedBeforeTraining) {
  privacy::dp::RdpAccountant one;
  ASSERT_TRUE(one.Compose({0.05, 1.2, 20}).ok());
  const double epsilon_one_epoch = one.GetEpsilon(1e-5)->epsilon;
  auto gate = SgdGate({/*max_epsilon=*/epsilon_one_epoch * 1.01, 1e-5});
  const protocol::TensorSet global = testing_util::DpModel({0.0f, 0.0f});
  const absl::Status too_long = gate->Run(SgdTrain(1, 50), &global).status();
  EXPECT_EQ(protocol::FailureReportOf(too_long),
            absl::StrCat("dp_budget_exceeded max_epsilon_milli=",
                         std::llround(epsilon_one_epoch * 1.01 * 1000)));
  EXPECT_EQ(trainer_->runs, 0);
  EXPECT_TRUE(gate->Run(SgdTrain(2, 1), &global).ok()) << "one epoch fits";
  EXPECT_FALSE(gate->Run(SgdTrain(3, 1), &global).ok()) << "a second does not";
  EXPECT_EQ(trainer_->runs, 1);
}

TEST_F(DpSgdGateTest, AKindThatCannotTrainPerExampleIsRefusedWithItsReason) {
  auto gate = SgdGate({});
  trainer_->declared.dp_sgd_unavailable = "the network has BatchNorm";
  const protocol::TensorSet global = testing_util::DpModel({0.0f, 0.0f});
  const absl::Status s = gate->Run(SgdTrain(1, 1), &global).status();
  EXPECT_EQ(protocol::FailureReportOf(s), "invalid_spec");
  EXPECT_THAT(s.message(), HasSubstr("dp_sgd' is not available for this task: the network has "
                                     "BatchNorm"));
  // A kind's default (segmentation, ai_severity): not available.
  EXPECT_THAT(TaskDeclaration().dp_sgd_unavailable, HasSubstr("only for tabular_training"));
  EXPECT_EQ(trainer_->runs, 0);
  EXPECT_TRUE(dp_ledger_->List()->empty());
}

TEST_F(DpSgdGateTest, WeightsTrainedWithoutTheTermsNeverLeave) {
  auto gate = SgdGate({});
  trainer_->takes_terms = false;
  const protocol::TensorSet global = testing_util::DpModel({0.0f, 0.0f});
  const absl::Status s = gate->Run(SgdTrain(1, 1), &global).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("did not train with the DP-SGD"));
  EXPECT_TRUE(dp_ledger_->List()->empty());
  EXPECT_TRUE(ledger_->List()->empty());
  auto no_board = SgdGate({}, /*with_board=*/false);
  EXPECT_EQ(protocol::FailureReportOf(no_board->Run(SgdTrain(1, 1), &global).status()),
            "invalid_spec");
}

}  // namespace
}  // namespace scancov::node
