// UploadStatus while the federation's lock is held by another submission's aggregation (issue
// 13): answered from the UploadBoard and the spool without waiting, with the same answers the
// store gives, and an update accepted while a node was asking is counted once.
#include <thread>

#include "absl/synchronization/notification.h"
#include "aggregator/server/federation_fixture.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)

// What ListSites says a site is doing (the coordinator's view).
std::string Activity(Federation& federation, const std::string& site) {
  absl::StatusOr<v1::ListSitesResponse> sites = federation.ListSites(kCoordinator);
  if (!sites.ok()) return sites.status().ToString();
  for (const v1::SiteInfo& s : sites->sites()) {
    if (s.site_id() == site) return s.activity();
  }
  return "(no such site)";
}

v1::UploadStatusRequest Asking(const std::string& task_id, const TensorSet& weights) {
  v1::UploadStatusRequest request;
  request.set_task_id(task_id);
  request.set_weights_sha256(protocol::WeightsDigestHex(weights));
  request.set_chunk_bytes(protocol::kDefaultChunkBytes);  // as UploadSpool::Put spools
  return request;
}

// UploadStatus from another thread; nullopt when it has not answered within 20 s.
std::optional<absl::StatusOr<v1::UploadStatusResponse>> AskFromAnotherThread(
    Federation* federation, const std::string& site, const v1::UploadStatusRequest& request) {
  auto answer = std::make_shared<absl::StatusOr<v1::UploadStatusResponse>>();
  auto answered = std::make_shared<absl::Notification>();
  std::thread([=] {
    *answer = federation->UploadStatus(SiteCaller(site), request);
    answered->Notify();
  }).detach();  // shared state: a thread still blocked outlives this call safely
  if (!answered->WaitForNotificationWithTimeout(absl::Seconds(20))) return std::nullopt;
  return *answer;
}

TEST_F(FederationTest, UploadStatusIsAnsweredWhileAnotherUploadIsBeingAggregated) {
  absl::Notification in_fold, release;
  before_fold_ = [&](const std::string& task_id) {
    if (task_id != "s1/r1/igr") return;
    in_fold.Notify();
    release.WaitForNotification();  // inside the fold, the federation's lock held
  };
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);    // the initial model (0, 0)
  Step("kb", 1, 100);  // round 1: kb's update (1, -1), accepted and folded
  std::thread igr([&] { Step("igr", 2, 300); });
  ASSERT_TRUE(in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));

  // igr's own upload: spooled whole, not yet accepted (its transaction has not committed).
  auto own = AskFromAnotherThread(federation_.get(), "igr", Asking("s1/r1/igr", Weights(2, -2)));
  // kb's, accepted before: said so without the store.
  auto done = AskFromAnotherThread(federation_.get(), "kb", Asking("s1/r1/kb", Weights(1, -1)));
  release.Notify();
  igr.join();
  ASSERT_TRUE(own.has_value()) << "UploadStatus waited for the aggregation's lock";
  ASSERT_TRUE(own->ok()) << own->status();
  EXPECT_FALSE((*own)->accepted());
  EXPECT_EQ((*own)->verified_chunks(), 1u);  // the whole (one-chunk) payload
  ASSERT_TRUE(done.has_value()) << "UploadStatus waited for the aggregation's lock";
  ASSERT_TRUE(done->ok()) << done->status();
  EXPECT_TRUE((*done)->accepted());

  // Once committed: accepted, and another payload for the same task is not.
  auto after = federation_->UploadStatus(SiteCaller("igr"), Asking("s1/r1/igr", Weights(2, -2)));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->accepted());
  auto other = federation_->UploadStatus(SiteCaller("igr"), Asking("s1/r1/igr", Weights(5, 5)));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->accepted());
  // Another site's task is not answered, known to the board or not.
  EXPECT_EQ(federation_->UploadStatus(SiteCaller("hegp"), Asking("s1/r1/kb", Weights(1, -1)))
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  // Counted once: FedAvg of (w + delta) weighted 100/300/600 from (0, 0) is 3.1.
  Step("hegp", 4, 600);
  auto c1 = federation_->GetCheckpoint(kCoordinator, "s1", "s1/c1");
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_NEAR(ToDoubles(*c1->Find("w"))[0], 3.1, 1e-6);
}

// A node that sent its whole upload tells a busy aggregator from a hung one by the work token
// (work_meter.h, node/upload_follower.h): the same while nothing moves, changed once bytes were
// folded, and it says nothing about how many.
TEST_F(FederationTest, UploadStatusWorkTokenChangesOnlyWhenTheAggregatorWorks) {
  absl::Notification in_fold, release;
  before_fold_ = [&](const std::string& task_id) {
    if (task_id != "s1/r1/igr") return;
    in_fold.Notify();
    release.WaitForNotification();  // stuck at the start of the fold: nothing moves
  };
  Start(":memory:");
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  std::thread igr([&] { Step("igr", 2, 300); });
  ASSERT_TRUE(in_fold.WaitForNotificationWithTimeout(absl::Seconds(30)));
  const v1::UploadStatusRequest own = Asking("s1/r1/igr", Weights(2, -2));
  auto stuck1 = AskFromAnotherThread(federation_.get(), "igr", own);
  auto stuck2 = AskFromAnotherThread(federation_.get(), "igr", own);
  release.Notify();
  igr.join();
  ASSERT_TRUE(stuck1.has_value() && stuck1->ok() && stuck2.has_value() && stuck2->ok());
  EXPECT_EQ((*stuck1)->verified_chunks(), 1u);
  EXPECT_EQ((*stuck1)->work_token().size(), 8u);
  EXPECT_EQ((*stuck1)->work_token(), (*stuck2)->work_token()) << "nothing moved between them";

  // igr's update was folded and the round's model written since: the token changed, and stays.
  const v1::UploadStatusRequest hegp = Asking("s1/r1/hegp", Weights(4, -4));
  auto after1 = federation_->UploadStatus(SiteCaller("hegp"), hegp);
  auto after2 = federation_->UploadStatus(SiteCaller("hegp"), hegp);
  ASSERT_TRUE(after1.ok() && after2.ok());
  EXPECT_NE(after1->work_token(), (*stuck2)->work_token());
  EXPECT_EQ(after1->work_token(), after2->work_token());
}

TEST_F(FederationTest, ADisabledSiteIsRefusedUploadStatusEvenWhenTheBoardKnewIt) {
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  const v1::UploadStatusRequest request = Asking("s1/r1/kb", Weights(1, -1));
  ASSERT_TRUE(federation_->UploadStatus(SiteCaller("kb"), request).ok());
  v1::SetSiteEnabledRequest disable;
  disable.set_site_id("kb");
  disable.set_enabled(false);
  ASSERT_TRUE(federation_->SetSiteEnabled(kCoordinator, disable).ok());
  EXPECT_EQ(federation_->UploadStatus(SiteCaller("kb"), request).status().code(),
            absl::StatusCode::kPermissionDenied);
}

// The coordinator's view of the sites (ListSites, `scancov-coord sites`, the live page) shows an
// upload in progress with its chunks verified so far, and stops once the stream ends.
TEST_F(FederationTest, ListSitesShowsAnUploadInProgressChunkByChunk) {
  Enroll();
  std::vector<float> values(20000, 0.5f);  // 80 000 bytes: 5 chunks of 16 KiB
  TensorSet weights;
  ASSERT_TRUE(weights.Add(protocol::MakeFloat32("w", {20000}, values)).ok());
  protocol::WeightsEncoder encoder(weights, protocol::kMinChunkBytes);
  ASSERT_EQ(encoder.manifest().num_chunks(), 5u);
  {
    absl::StatusOr<std::unique_ptr<UploadSession>> session = federation_->spool()->Begin(
        {"igr", "s1/r1/igr", protocol::WeightsDigestHex(weights)}, encoder.manifest(), nullptr);
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_EQ(Activity(*federation_, "igr"), "uploading task 's1/r1/igr': chunk 0/5, 0 of 0.08 MB");
    v1::WeightsChunk chunk;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(encoder.Next(&chunk));
      ASSERT_TRUE((*session)->Add(chunk).ok());
    }
    EXPECT_EQ(Activity(*federation_, "igr"),
              "uploading task 's1/r1/igr': chunk 2/5, 0.0328 of 0.08 MB");
    EXPECT_EQ(Activity(*federation_, "kb"), "");  // another site's view is its own
  }
  // The stream ended (cut here: the verified prefix is kept for a resume, no longer receiving).
  EXPECT_EQ(Activity(*federation_, "igr"), "");
}

// A model download shows the same way while the aggregator streams it (DownloadWeights holds a
// tracker and counts each message it wrote), a resumed one from where it resumed, and it is gone
// once the stream ends.
TEST_F(FederationTest, ListSitesShowsAModelDownloadChunkByChunk) {
  Enroll();
  std::vector<float> values(20000, 0.25f);  // 80 000 bytes: 5 chunks of 16 KiB
  TensorSet weights;
  ASSERT_TRUE(weights.Add(protocol::MakeFloat32("w", {20000}, values)).ok());
  protocol::WeightsEncoder encoder(weights, protocol::kMinChunkBytes);
  ASSERT_EQ(encoder.manifest().num_chunks(), 5u);
  std::vector<v1::WeightsMessage> messages(1);
  *messages[0].mutable_manifest() = encoder.manifest();
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) *messages.emplace_back().mutable_chunk() = chunk;
  ASSERT_EQ(messages.size(), 6u);
  {
    std::unique_ptr<DownloadBoard::Tracker> tracker =
        federation_->downloads()->Begin("kb", "s1/r2/kb");
    tracker->Sent(messages[0]);
    EXPECT_EQ(Activity(*federation_, "kb"),
              "downloading task 's1/r2/kb' model: chunk 0/5, 0 of 0.08 MB sent");
    tracker->Sent(messages[1]);
    tracker->Sent(messages[2]);
    EXPECT_EQ(Activity(*federation_, "kb"),
              "downloading task 's1/r2/kb' model: chunk 2/5, 0.0328 of 0.08 MB sent");
    EXPECT_EQ(Activity(*federation_, "igr"), "");
    {  // another site resuming its download at chunk 4 of the same model
      std::unique_ptr<DownloadBoard::Tracker> resumed =
          federation_->downloads()->Begin("igr", "s1/r2/igr");
      resumed->Sent(messages[0]);
      resumed->Sent(messages[4]);
      EXPECT_EQ(Activity(*federation_, "igr"),
                "downloading task 's1/r2/igr' model: chunk 4/5, 0.0655 of 0.08 MB sent");
    }
    EXPECT_EQ(Activity(*federation_, "igr"), "");
  }
  EXPECT_EQ(Activity(*federation_, "kb"), "");  // the stream ended
  EXPECT_TRUE(federation_->downloads()->Sending().empty());
}

}  // namespace
}  // namespace scancov::aggregator
