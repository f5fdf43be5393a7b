// Secure aggregation of training rounds at the Federation (federation_secagg.cc): three sites
// run the protocol of privacy/secagg against it in process, with real keys and certificates;
// the next model is the FedAvg of their updates, though the aggregator only ever holds masked
// uploads and their ring sum. Sites that drop out after sharing keys are left out of the sum;
// too few sites end the study with the reason.
#include <gmock/gmock.h>

#include "aggregator/server/federation_secagg_fixture.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
using ::testing::HasSubstr;

TEST_F(SecAggFederationTest, TheNextModelIsTheFedAvgOfUpdatesTheAggregatorNeverSaw) {
  CreateSecure(1);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr", "hegp"});
  // Every result is in, but the round waits for the masks to come off.
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 1u);
  Unmask({"kb", "igr", "hegp"});
  // FedAvg of (d, -d) weighted 100/300/600 from (0, 0): 1*.1 + 2*.3 + 4*.6 = 3.1.
  const std::vector<double> w = Model("s1/c1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 3.1, 1e-5);
  EXPECT_NEAR(w[1], -3.1, 1e-5);
  // What the aggregator kept of a site: a masked upload, no longer even that once aggregated.
  status = federation_->GetStudyStatus(kCoordinator, "s1");
  EXPECT_GE(status->current_round(), 2u);
}

TEST_F(SecAggFederationTest, ASiteThatDropsOutAfterSharingKeysIsLeftOutOfTheSum) {
  CreateSecure(1, /*min_sites=*/2);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr"});  // hegp shared its keys, then went away
  clock_.Advance(absl::Seconds(10));           // wait_after_min_s: the round stops waiting
  ASSERT_TRUE(federation_->Tick().ok());
  Unmask({"kb", "igr"});
  clock_.Advance(absl::Seconds(120));  // the unmask phase's wait for its last site
  ASSERT_TRUE(federation_->Tick().ok());
  // (1*100 + 2*300) / 400 = 1.75: hegp's update is not in it, its masks are off.
  const std::vector<double> w = Model("s1/c1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 1.75, 1e-5);
  EXPECT_NEAR(w[1], -1.75, 1e-5);
}

// A node whose secure aggregation cannot go on (refused session, Stop) reports a failure code; the
// round's masking then closes at once instead of at the deadline.
TEST_F(SecAggFederationTest, ASiteThatReportsItCannotGoOnIsNotWaitedFor) {
  CreateSecure(1, /*min_sites=*/2);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr"});
  v1::UploadHeader failure;
  failure.set_task_id(sites_["hegp"].task.task_id());
  failure.set_failure("precondition");
  ASSERT_TRUE(sites_["hegp"].client->UploadResult(failure, nullptr).ok());
  Unmask({"kb", "igr"});  // no deadline passed, no Tick
  const std::vector<double> w = Model("s1/c1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 1.75, 1e-5);
}

// A site whose task ends before the session is fixed (a failure, or an analysis's refusal sent
// in clear) is not waited for: the others' session is fixed at once, not after the phase wait.
TEST_F(SecAggFederationTest, ASiteThatEndsBeforeTheSessionIsFixedIsNotWaitedFor) {
  CreateSecure(1, /*min_sites=*/2);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  EXPECT_TRUE(Call(sites_["kb"], v1::SECAGG_SESSION).has_wait());
  v1::UploadHeader failure;
  failure.set_task_id(sites_["hegp"].task.task_id());
  failure.set_failure("precondition");
  ASSERT_TRUE(sites_["hegp"].client->UploadResult(failure, nullptr).ok());
  const v1::SecAggResponse fixed = Call(sites_["igr"], v1::SECAGG_SESSION);  // no time passed
  ASSERT_TRUE(fixed.has_session()) << fixed.DebugString();
  ASSERT_EQ(fixed.session().participants_size(), 2);
  for (const auto& p : fixed.session().participants()) EXPECT_NE(p.site_id(), "hegp");
}

TEST_F(SecAggFederationTest, TooFewSitesEndTheStudyWithTheReason) {
  CreateSecure(1, /*min_sites=*/1);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  Mask({"kb", "igr", "hegp"}, {"kb"});  // one input: below the threshold of 2
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(federation_->Tick().ok());
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_THAT(status->message(), HasSubstr("secure aggregation failed"));
  EXPECT_THAT(status->message(), HasSubstr("needed"));
}

TEST_F(SecAggFederationTest, APlainUpdateOrAnotherSitesMessageIsRefused) {
  CreateSecure(1);
  Train(sites_["kb"], 1, 100);
  Train(sites_["igr"], 2, 300);
  Train(sites_["hegp"], 4, 600);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr"});
  // hegp sends its trained weights in clear instead of the masked vector: refused by layout.
  Site& hegp = sites_["hegp"];
  v1::UploadHeader header;
  header.set_task_id(hegp.task.task_id());
  header.set_num_samples(600);
  TensorSet plain = Weights(4, -4);
  auto up = hegp.client->UploadResult(header, &plain);
  EXPECT_FALSE(up.ok());
  // The honest upload completes the round's inputs; the unmask phase opens.
  up = hegp.client->UploadResult(header, &Ring(hegp));
  ASSERT_TRUE(up.ok()) << up.status();
  // A malformed unmask response is refused, and the session goes on.
  v1::SecAggRequest forged;
  forged.set_task_id(sites_["igr"].task.task_id());
  forged.set_phase(v1::SECAGG_UNMASK);
  forged.set_message(std::string("garbage"));
  EXPECT_EQ(sites_["igr"].client->SecAgg(forged).status().code(),
            absl::StatusCode::kInvalidArgument);
  Unmask({"kb", "igr", "hegp"});
  EXPECT_NEAR(Model("s1/c1")[0], 3.1, 1e-5);
}

TEST_F(SecAggFederationTest, CreationRefusesAStrategyThatNeedsEachUpdate) {
  v1::StudySpec spec = Spec("s1", 1);
  spec.set_privacy_json(kSecAgg);
  spec.set_strategy("median");
  v1::CreateStudyRequest req;
  *req.mutable_spec() = spec;
  auto refused = federation_->CreateStudy(kCoordinator, req);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("sums the updates"));
  spec.set_strategy("fedavg");
  spec.set_privacy_json(R"({"secure_aggregation": {"threshold": 1}})");
  *req.mutable_spec() = spec;
  refused = federation_->CreateStudy(kCoordinator, req);
  EXPECT_THAT(refused.status().message(), HasSubstr("threshold"));
}

}  // namespace
}  // namespace scancov::aggregator
