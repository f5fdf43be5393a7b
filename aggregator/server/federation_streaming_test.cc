// Streamed rounds (StudyLogic::RoundStrategy): updates are folded in as they arrive, the sites'
// weights are pruned once aggregated, a stateful strategy's state survives a restart, and the
// robust strategies hold against a scaled update.
#include <filesystem>

#include "aggregator/server/federation_fixture.h"
#include "aggregator/server/store.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)

TEST_F(FederationTest, AnAggregatedRoundKeepsItsResultsButNotTheSitesWeights) {
  const std::string path = TempDb("streamed_prune");
  Start(path);
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  Step("igr", 2, 300);
  auto reader = AggregatorStore::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto open_round = (*reader)->GetResult("s1/r1/kb");
  ASSERT_TRUE(open_round.ok() && open_round->has_value());
  EXPECT_FALSE((*open_round)->weights_path.empty()) << "kept until the round is aggregated";
  EXPECT_GT(federation_->spool()->bytes_on_disk(), 0u);
  Step("hegp", 4, 600);  // closes round 1
  EXPECT_EQ(federation_->spool()->bytes_on_disk(), 0u) << "every aggregated upload deleted";
  for (const char* task : {"s1/r1/kb", "s1/r1/igr", "s1/r1/hegp"}) {
    auto r = (*reader)->GetResult(task);
    ASSERT_TRUE(r.ok() && r->has_value()) << task;
    EXPECT_FALSE((*r)->weights.has_value()) << task;
    EXPECT_TRUE((*r)->weights_path.empty()) << task;
    EXPECT_FALSE((*r)->weights_sha256.empty()) << task;  // what a duplicate upload is checked by
    EXPECT_GT((*r)->num_samples, 0u) << task;
  }
  // FedAvg of (w + delta) weighted 100/300/600 from w = (0, 0): 1*.1 + 2*.3 + 4*.6 = 3.1.
  auto c1 = federation_->GetCheckpoint(kCoordinator, "s1", "s1/c1");
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_NEAR(ToDoubles(*c1->Find("w"))[0], 3.1, 1e-6);
  // A duplicate of a pruned result is still recognised as such.
  InProcessFederationClient kb(federation_.get(), SiteCaller("kb"), 16);
  EXPECT_EQ(kb.PullTask()->task().round(), 2u);
}

TEST_F(FederationTest, AServerOptimizersStateSurvivesARestart) {
  auto run = [&](const std::string& db, bool restart) -> std::vector<double> {
    Start(db);
    Enroll();
    v1::StudySpec spec = Spec("s1", 3);
    spec.set_strategy("fedadam:eta=0.5");
    Create(spec);
    Step("kb", 0, 1);
    for (int round = 1; round <= 3; ++round) {
      Step("kb", 1, 100);
      Step("igr", 2, 300);
      if (restart && round == 2) Start(db);  // mid-round: a new process, the aggregate lost
      Step("hegp", 4, 600);
    }
    auto status = federation_->GetStudyStatus(kCoordinator, "s1");
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(status->current_round(), 4u) << status->message();
    auto state = federation_->GetCheckpoint(kCoordinator, "s1", "s1/s2");  // after round 2
    EXPECT_TRUE(state.ok()) << state.status();
    if (state.ok()) EXPECT_NE(state->Find("m/w"), nullptr);
    auto c3 = federation_->GetCheckpoint(kCoordinator, "s1", "s1/c3");
    EXPECT_TRUE(c3.ok()) << c3.status();
    return c3.ok() ? ToDoubles(*c3->Find("w")) : std::vector<double>();
  };
  const std::vector<double> undisturbed = run(TempDb("fedadam_a"), false);
  const std::vector<double> restarted = run(TempDb("fedadam_b"), true);
  ASSERT_EQ(undisturbed.size(), 2u);
  EXPECT_EQ(undisturbed, restarted);
  // Not FedAvg: Adam's step from the same pseudo-gradients lands elsewhere.
  EXPECT_GT(std::abs(undisturbed[0] - 3.1 * 3), 0.1);
}

TEST_F(FederationTest, TheMedianIsNotMovedByAScaledUpdate) {
  Enroll();
  v1::StudySpec spec = Spec("s1", 1);
  spec.set_strategy("median");
  Create(spec);
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  Step("igr", 2, 300);
  Step("hegp", 1000, 1'000'000);  // a scaled update from a site claiming the most samples
  auto c1 = federation_->GetCheckpoint(kCoordinator, "s1", "s1/c1");
  ASSERT_TRUE(c1.ok()) << c1.status();
  const double w = ToDoubles(*c1->Find("w"))[0];
  EXPECT_GE(w, 1.0);
  EXPECT_LE(w, 2.0);  // within the honest sites' spread
}

// A study of hundreds of rounds keeps the models of its last rounds, not every one of them.
TEST_F(FederationTest, OnlyTheLastRoundsModelsAreKept) {
  keep_checkpoints_ = 2;
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 5));
  RunToCompletion("s1");
  for (const char* gone : {"s1/c0", "s1/c1", "s1/c2", "s1/c3"}) {
    EXPECT_EQ(federation_->GetCheckpoint(kCoordinator, "s1", gone).status().code(),
              absl::StatusCode::kNotFound)
        << gone;
  }
  for (const char* kept : {"s1/c4", "s1/c5"}) {
    EXPECT_TRUE(federation_->GetCheckpoint(kCoordinator, "s1", kept).ok()) << kept;
  }
  EXPECT_TRUE(federation_->GetCheckpoint(kCoordinator, "s1", "").ok()) << "the final model";
}

}  // namespace
}  // namespace scancov::aggregator
