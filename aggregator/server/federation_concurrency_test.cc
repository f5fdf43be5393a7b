// The federation under load (issue 13): an upload is folded into its round's aggregate without
// the federation's lock (federation.h, "Thread safety"). While one fold is held on a latch, the
// other sites and the coordinator are answered, another upload of the round is accepted, and
// every update is still counted exactly once.
#include <functional>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "aggregator/server/federation_fixture.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)

// A call on another thread, joined when it goes out of scope.
class Call {
 public:
  explicit Call(std::function<void()> call)
      : thread_([this, call = std::move(call)] {
          call();
          done_.Notify();
        }) {}
  ~Call() { thread_.join(); }
  bool AnsweredWhileHeld() { return done_.WaitForNotificationWithTimeout(absl::Seconds(10)); }

 private:
  absl::Notification done_;
  std::thread thread_;
};

// Holds the fold of one task on a latch (FederationOptions::before_fold).
struct FoldLatch {
  std::string task_id;
  absl::Notification in_fold, release;
  std::function<void(const std::string&)> Hook() {
    return [this](const std::string& task) {
      if (task != task_id) return;
      in_fold.Notify();
      release.WaitForNotification();
    };
  }
};

std::vector<double> ModelW(Federation& federation, const std::string& checkpoint) {
  auto model = federation.GetCheckpoint(kCoordinator, "s1", checkpoint);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? ToDoubles(*model->Find("w")) : std::vector<double>();
}

TEST_F(FederationTest, OtherCallsAreAnsweredWhileAnUploadIsFolded) {
  FoldLatch latch{"s1/r1/igr"};
  before_fold_ = latch.Hook();
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);    // the initial model (0, 0)
  Step("kb", 1, 100);  // round 1: kb's update, folded and accepted
  std::thread igr([&] { Step("igr", 2, 300); });
  ASSERT_TRUE(latch.in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));

  // The fold of igr's update is in progress: nothing below waits for it.
  Call heartbeat([&] {
    v1::HeartbeatRequest beat;
    EXPECT_TRUE(federation_->Heartbeat(SiteCaller("hegp"), beat).ok());
  });
  Call pull([&] {
    auto pulled = federation_->PullTask(SiteCaller("hegp"));
    EXPECT_TRUE(pulled.ok() && pulled->has_task()) << pulled.status();
  });
  Call list([&] {
    auto sites = federation_->ListSites(kCoordinator);
    EXPECT_TRUE(sites.ok() && sites->sites_size() == 3) << sites.status();
  });
  // Another site's whole upload (pulled, downloaded, spooled, folded, accepted).
  Call upload([&] { Step("hegp", 4, 600); });
  const bool answered[] = {heartbeat.AnsweredWhileHeld(), pull.AnsweredWhileHeld(),
                           list.AnsweredWhileHeld(), upload.AnsweredWhileHeld()};
  EXPECT_TRUE(answered[0]) << "Heartbeat waited for another site's fold";
  EXPECT_TRUE(answered[1]) << "PullTask waited for another site's fold";
  EXPECT_TRUE(answered[2]) << "ListSites waited for a site's fold";
  EXPECT_TRUE(answered[3]) << "an upload waited for another site's fold";
  if (!(answered[0] && answered[1] && answered[2] && answered[3])) {
    latch.release.Notify();  // the calls finish, and are joined, after the fold
    igr.join();
    return;
  }
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->current_round(), 1u) << "the round closed before igr's update was in";
  EXPECT_EQ(SiteState(*status, 1, "igr"), kTaskIssued) << "not accepted before its fold ends";
  EXPECT_EQ(SiteState(*status, 1, "hegp"), kTaskDone);

  latch.release.Notify();
  igr.join();
  // Each update counted once: FedAvg of (w + delta) weighted 100/300/600 from (0, 0) is 3.1.
  EXPECT_NEAR(ModelW(*federation_, "s1/c1")[0], 3.1, 1e-6);
  status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->current_round(), 2u) << status->message();
}

// The round's aggregate does not depend on which upload took the accumulator first: FedAvg sums
// in double and rounds once to the tensor's dtype (see the report in federation.h's comment on
// fold order); here a second upload folds while the first is held, and the model is the one of
// the uploads folded one after the other, bit for bit.
TEST_F(FederationTest, UploadsFoldedOutOfOrderGiveTheSequentialModel) {
  auto round_one = [&](bool overlap) {
    FoldLatch latch{overlap ? "s1/r1/kb" : "(none)"};
    before_fold_ = latch.Hook();
    Start(":memory:");
    Enroll();
    Create(Spec("s1", 1));
    Step("kb", 0, 1);
    std::vector<double> w;
    if (!overlap) {
      Step("kb", 0.1f, 123);
      Step("igr", 0.7f, 457);
      Step("hegp", 1.3f, 789);
    } else {
      std::thread kb([&] { Step("kb", 0.1f, 123); });
      EXPECT_TRUE(latch.in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));
      {
        Call igr([&] { Step("igr", 0.7f, 457); });  // folded, then accepted, while kb's waits
        EXPECT_TRUE(igr.AnsweredWhileHeld()) << "an upload waited for another site's fold";
        latch.release.Notify();
      }
      kb.join();
      Step("hegp", 1.3f, 789);  // closes the round
    }
    w = ModelW(*federation_, "s1/c1");
    federation_.reset();  // before the latch goes
    return w;
  };
  const std::vector<double> sequential = round_one(false);
  const std::vector<double> overlapped = round_one(true);
  ASSERT_EQ(sequential.size(), 2u);
  EXPECT_EQ(sequential, overlapped);
}

// A site's update folded, then refused when it is recorded (the site's steward denied the study
// meanwhile): the aggregate holding it is dropped, the round closes on the other two, and the
// model counts only their updates.
TEST_F(FederationTest, AnUpdateRefusedAfterItsFoldIsNotCounted) {
  FoldLatch latch{"s1/r1/igr"};
  before_fold_ = latch.Hook();
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 2, /*timeout=*/0, /*min_sites=*/2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  Step("hegp", 4, 600);
  std::thread igr([&] {
    InProcessFederationClient client(federation_.get(), SiteCaller("igr"), 16);
    auto pulled = client.PullTask();
    ASSERT_TRUE(pulled.ok() && pulled->has_task());
    v1::UploadHeader header;
    header.set_task_id(pulled->task().task_id());
    header.set_num_samples(300);
    (*header.mutable_metrics())["val_auc"] = 0.5;
    const TensorSet update = Weights(2, -2);
    auto up = client.UploadResult(header, &update);
    EXPECT_EQ(up.status().code(), absl::StatusCode::kFailedPrecondition) << up.status();
  });
  ASSERT_TRUE(latch.in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));
  v1::StudyDecision denied;
  denied.set_study_id("s1");
  denied.set_state(v1::DECISION_STATE_DENIED);
  denied.set_reason("withdrawn");
  {
    Call deny([&] { EXPECT_TRUE(federation_->ReportDecision(SiteCaller("igr"), denied).ok()); });
    const bool answered = deny.AnsweredWhileHeld();
    EXPECT_TRUE(answered) << "ReportDecision waited for a fold";
    if (!answered) {
      latch.release.Notify();
      igr.join();
      return;
    }
  }
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 1u) << "closed while igr's fold was in flight";
  latch.release.Notify();
  igr.join();
  status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 2u) << status->message();
  EXPECT_EQ(SiteState(*status, 1, "igr"), kTaskFailed);
  // kb's (1, -1) weighted 100 and hegp's (4, -4) weighted 600.
  EXPECT_NEAR(ModelW(*federation_, "s1/c1")[0], (1.0 * 100 + 4.0 * 600) / 700, 1e-6);
}

// The same upload sent again while its first submission is being folded (a node that cut a
// silent stream and retried): answered once the first is recorded, as a duplicate, and counted
// once.
TEST_F(FederationTest, AnUploadRetriedDuringItsFoldIsADuplicate) {
  FoldLatch latch{"s1/r1/igr"};
  before_fold_ = latch.Hook();
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  v1::UploadHeader header;
  header.set_task_id("s1/r1/igr");
  header.set_num_samples(300);
  const TensorSet update = Weights(2, -2);
  InProcessFederationClient client(federation_.get(), SiteCaller("igr"), 16);
  ASSERT_TRUE(client.PullTask().ok());
  std::thread first([&] {
    auto up = client.UploadResult(header, &update);
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_FALSE(up->duplicate());
  });
  ASSERT_TRUE(latch.in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::Notification retried;
  std::thread retry([&] {
    InProcessFederationClient again(federation_.get(), SiteCaller("igr"), 16);
    auto up = again.UploadResult(header, &update);
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_TRUE(up->duplicate());
    retried.Notify();
  });
  EXPECT_FALSE(retried.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "answered before the first submission's outcome";
  latch.release.Notify();
  first.join();
  retry.join();
  Step("hegp", 4, 600);
  EXPECT_NEAR(ModelW(*federation_, "s1/c1")[0], 3.1, 1e-6);
}

// UploadStatus answered without the lock (from the board) still counts as hearing from the site.
TEST_F(FederationTest, UploadStatusKeepsTheSiteOnline) {
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  InProcessFederationClient kb(federation_.get(), SiteCaller("kb"), 16);
  ASSERT_TRUE(kb.PullTask().ok());
  v1::UploadStatusRequest asking;
  asking.set_task_id("s1/r1/kb");
  asking.set_weights_sha256(protocol::WeightsDigestHex(Weights(1, -1)));
  asking.set_chunk_bytes(protocol::kDefaultChunkBytes);
  ASSERT_TRUE(federation_->UploadStatus(SiteCaller("kb"), asking).ok());  // the board learns it
  auto kb_info = [&] {
    auto sites = federation_->ListSites(kCoordinator);
    EXPECT_TRUE(sites.ok()) << sites.status();
    for (const v1::SiteInfo& s : sites->sites()) {
      if (s.site_id() == "kb") return s;
    }
    return v1::SiteInfo();
  };
  clock_.Advance(absl::Minutes(5));
  EXPECT_FALSE(kb_info().online());
  ASSERT_TRUE(federation_->UploadStatus(SiteCaller("kb"), asking).ok());  // from the board
  const v1::SiteInfo info = kb_info();
  EXPECT_TRUE(info.online());
  EXPECT_EQ(info.last_seen_unix(), absl::ToUnixSeconds(clock_.Now()));
  // And reaches the store with the next Tick, as any call's last-seen time does.
  ASSERT_TRUE(federation_->Tick().ok());
}

}  // namespace
}  // namespace scancov::aggregator
