// Round policy at the Federation (federation.h, "Round policy"): deadlines, waiting only for
// sites that are alive and only a bounded time, the wait after the minimum of sites.
#include "aggregator/server/federation.h"
#include "aggregator/server/federation_fixture.h"
#include "aggregator/server/in_process_client.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
using protocol::ToDoubles;

TEST_F(FederationTest, DeadlineClosesTheRoundWithEnoughSitesAndRefusesLateUploads) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/60, /*min_sites=*/2));
  Step("kb", 0, 1);  // init
  auto late = federation_->PullTask(SiteCaller("hegp"));
  ASSERT_TRUE(late.ok() && late->has_task());
  Step("kb", 1, 100);
  Step("igr", 2, 100);
  clock_.Advance(absl::Seconds(61));
  ASSERT_TRUE(federation_->Tick().ok());
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 2u);  // evaluation round
  for (const v1::SiteRoundStatus& site : status->rounds(1).sites()) {
    EXPECT_EQ(site.state(), site.site_id() == "hegp" ? "expired" : "done") << site.site_id();
  }
  v1::UploadHeader header;
  header.set_task_id(late->task().task_id());
  header.set_num_samples(5);
  auto refused = federation_->SubmitResult(SiteCaller("hegp"), header, Weights(1, 1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  // c1 = FedAvg of kb (+1) and igr (+2) with equal counts = +1.5
  auto c1 = federation_->GetCheckpoint(kCoordinator, "s1", "s1/c1");
  ASSERT_TRUE(c1.ok());
  EXPECT_NEAR(ToDoubles(*c1->Find("w"))[0], 1.5, 1e-6);
}

// A site that cannot do its task says so: the round closes without it as soon as the others are
// in (no waiting for the deadline), the task is not offered again, and a study that needed the
// site fails at once with the site's reason.

TEST_F(FederationTest, TooFewSitesAtTheDeadlineWaitsOnlyForSitesThatAreAlive) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/60, /*min_sites=*/3));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  ASSERT_TRUE(federation_->PullTask(SiteCaller("igr")).ok());  // igr takes its task, works on
  clock_.Advance(absl::Seconds(30));
  v1::HeartbeatRequest beat;
  beat.set_task_id("s1/r1/igr");
  beat.set_stage("training epoch 1/1");
  auto ack = federation_->Heartbeat(SiteCaller("igr"), beat);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_TRUE(ack->task_current());
  clock_.Advance(absl::Seconds(31));
  ASSERT_TRUE(federation_->Tick().ok());
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_RUNNING) << status->message();
  EXPECT_NE(status->message().find(
                "waiting once more for hegp (never heard from), igr (last heard from 31 s ago)"),
            std::string::npos)
      << status->message();
  RunToCompletion("s1");
}

TEST_F(FederationTest, ASilentRoundFailsTheStudyWithWhoIsMissing) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/60, /*min_sites=*/2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  ASSERT_TRUE(federation_->PullTask(SiteCaller("igr")).ok());  // takes its task, then dies
  clock_.Advance(absl::Seconds(61));  // igr silent for 61 s > the 60 s offline window
  ASSERT_TRUE(federation_->Tick().ok());
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("1 of 3 results at the deadline, 2 needed; missing: hegp (never "
                                   "heard from), igr (last heard from 61 s ago)"),
            std::string::npos)
      << status->message();
  EXPECT_EQ(SiteState(*status, 1, "igr"), "expired");
}

TEST_F(FederationTest, ASiteThatStaysAliveButNeverDeliversIsWaitedForABoundedTime) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/60, /*min_sites=*/3));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  Step("igr", 2, 300);
  for (int i = 0; i <= kMaxDeadlineExtensions; ++i) {
    clock_.Advance(absl::Seconds(59));
    ASSERT_TRUE(federation_->PullTask(SiteCaller("hegp")).ok());  // alive, never uploads
    clock_.Advance(absl::Seconds(2));
    ASSERT_TRUE(federation_->Tick().ok());
  }
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED) << status->message();
  EXPECT_NE(status->message().find("deadline already extended 3 times"), std::string::npos)
      << status->message();
}

TEST_F(FederationTest, WaitAfterTheMinimumClosesTheRoundEarly) {
  Enroll();
  v1::StudySpec spec = Spec("s1", 1, /*timeout=*/3600, /*min_sites=*/2);
  spec.set_wait_after_min_s(10);
  Create(spec);
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  clock_.Advance(absl::Seconds(100));
  Step("igr", 2, 300);  // the minimum: the round now closes at most 10 s later
  ASSERT_TRUE(federation_->PullTask(SiteCaller("hegp")).ok());
  auto task = federation_->PullTask(SiteCaller("hegp"));
  ASSERT_TRUE(task.ok() && task->has_task());
  EXPECT_EQ(task->task().deadline_unix(), absl::ToUnixSeconds(clock_.Now()) + 10);
  clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(federation_->Tick().ok());
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 2u) << status->message();
  EXPECT_EQ(SiteState(*status, 1, "hegp"), "expired");
  EXPECT_EQ(SiteState(*status, 1, "igr"), "done");
}

}  // namespace
}  // namespace scancov::aggregator
