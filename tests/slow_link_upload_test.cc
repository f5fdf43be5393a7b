// "A transfer that moves is never cut" at the end of an upload (issue 13, benchmark mode 5):
// over real gRPC with mutual TLS, through a throttling proxy, with idle timeouts far below what
// the end of the upload takes. After the node's last chunk is written, the bytes still buffered
// drain through the slow link and the aggregator verifies, stores and folds the update (made
// slower than the idle timeout here); the node follows that through UploadStatus
// (node/upload_follower.h) instead of cutting the call, and the update is counted once. Without
// the follower the node cut this upload 0.5 s in, with 0.29 MB of the 1 MiB through the link:
// gRPC had taken every chunk into its buffers at once, so almost the whole transfer was "drain".
#include <atomic>

#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "node/grpc_federation_client.h"
#include "protocol/weights_codec.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"
#include "tests/throttle_proxy.h"

namespace scancov {
namespace {

using aggregator::AggregatorServer;
using aggregator::Caller;
using protocol::TensorSet;

const Caller kCoordinator{Caller::Role::kCoordinator, "alice"};
constexpr int kElements = 256 * 1024;  // 1 MiB of float32: 64 chunks of 16 KiB
constexpr absl::Duration kIdle = absl::Milliseconds(400);
constexpr absl::Duration kFold = absl::Seconds(2);  // five idle timeouts

TensorSet Model(float value) {
  TensorSet s;
  EXPECT_TRUE(
      s.Add(protocol::MakeFloat32("w", {kElements}, std::vector<float>(kElements, value))).ok());
  return s;
}

class SlowLinkUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Init("slow_link_");
    auto store = aggregator::AggregatorStore::Open(pki_.dir() + "/aggregator.db");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(50);
    options.before_fold = [this](const std::string& task_id) {
      if (task_id.find("/kb") == std::string::npos) return;
      ++folds_of_kb_;
      // A large model on a busy aggregator: its fold works through the bytes as it goes (the
      // work token changes, aggregator/server/work_meter.h), or is stuck and does nothing.
      for (int step = 0; step < 20; ++step) {
        absl::SleepFor(kFold / 20);
        if (fold_moves_) server_->federation()->work()->Add(4096);
      }
    };
    aggregator::AggregatorServerOptions server_options;
    server_options.idle_timeout = kIdle;
    auto server = AggregatorServer::Start(
        "127.0.0.1:0", pki_.Issue(sites::Role::kAggregator, "aggregator"),
        testing_sites::SpooledFederation(std::move(*store), options, pki_.dir(),
                                         protocol::AnyChunkSizeLimits()),
        server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    for (const char* s : {"kb", "igr"}) {
      v1::EnrollSiteRequest enroll;
      enroll.set_site_id(s);
      ASSERT_TRUE(server_->federation()->EnrollSite(kCoordinator, enroll).ok());
      tls_[s] = pki_.Issue(sites::Role::kSite, s);
    }
  }

  std::unique_ptr<node::GrpcFederationClient> Client(const std::string& site, int port) {
    node::GrpcClientOptions options;
    options.idle_timeout = kIdle;
    options.chunk_bytes = protocol::kMinChunkBytes;
    auto client = node::GrpcFederationClient::Create("127.0.0.1:" + std::to_string(port),
                                                     tls_[site], "", options);
    EXPECT_TRUE(client.ok()) << client.status();
    v1::RegisterRequest hello;
    hello.set_protocol_version(v1::PROTOCOL_VERSION_2);
    EXPECT_TRUE((*client)->Register(hello).ok());
    return std::move(*client);
  }

  // A one-round FedAvg study of the toy model at kb and igr.
  absl::Status CreateStudy(const std::string& name) {
    v1::CreateStudyRequest create;
    v1::StudySpec* spec = create.mutable_spec();
    spec->set_name(name);
    spec->set_kind(v1::STUDY_KIND_TRAINING);
    spec->add_sites("kb");
    spec->add_sites("igr");
    spec->set_rounds(1);
    spec->mutable_plan()->set_model("toy");
    spec->mutable_plan()->set_local_epochs(1);
    spec->mutable_plan()->set_learning_rate(0.1);
    return server_->federation()->CreateStudy(kCoordinator, create).status();
  }

  // Pulls the site's task and uploads `weights` for it; returns the answer.
  absl::StatusOr<v1::UploadResponse> Upload(node::GrpcFederationClient* client,
                                            const TensorSet& weights) {
    auto pulled = client->PullTask();
    if (!pulled.ok()) return pulled.status();
    if (!pulled->has_task()) return absl::NotFoundError("no task");
    v1::UploadHeader header;
    header.set_task_id(pulled->task().task_id());
    header.set_num_samples(10);
    return client->UploadResult(header, &weights);
  }

  testing_sites::TestPki pki_;
  std::unique_ptr<AggregatorServer> server_;
  std::map<std::string, protocol::TlsFiles> tls_;
  std::atomic<int> folds_of_kb_{0};
  std::atomic<bool> fold_moves_{true};
};

TEST_F(SlowLinkUploadTest, TheEndOfASlowUploadIsNotCutAndTheUpdateCountsOnce) {
  ASSERT_TRUE(CreateStudy("slow").ok());
  auto kb_direct = Client("kb", server_->port());
  auto init = Upload(kb_direct.get(), Model(0));  // the initial model, at full speed
  ASSERT_TRUE(init.ok()) << init.status();

  // kb's update through a 512 KiB/s link: 2 s of transfer, each 16 KiB chunk written well within
  // the idle timeout, then the drain of what the transport buffered and a 2 s fold.
  testing_process::ThrottleProxy::Options link;
  link.target_port = server_->port();
  link.upstream_bytes_per_s = 512 * 1024;
  auto proxy = testing_process::ThrottleProxy::Start(link);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto kb = Client("kb", (*proxy)->port());
  const absl::Time start = absl::Now();
  auto update = Upload(kb.get(), Model(1));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(update.ok()) << update.status() << " after " << absl::FormatDuration(took) << ", "
                           << (*proxy)->upstream_bytes() << " bytes through the link";
  EXPECT_TRUE(update->accepted());
  EXPECT_FALSE(update->duplicate()) << "cut, and sent again";
  EXPECT_GT(took, kFold + kIdle) << "the end of the upload outlasted the idle timeout";
  EXPECT_GE((*proxy)->upstream_bytes(), 1u << 20);

  auto igr = Client("igr", server_->port());
  auto other = Upload(igr.get(), Model(3));
  ASSERT_TRUE(other.ok()) << other.status();
  // FedAvg of kb (1) and igr (3), 10 samples each: 2 everywhere; kb counted twice would give 5/3.
  EXPECT_EQ(folds_of_kb_.load(), 1);
  auto c1 = server_->federation()->GetCheckpoint(kCoordinator, "slow", "slow/c1");
  ASSERT_TRUE(c1.ok()) << c1.status();
  const std::vector<double> w = protocol::ToDoubles(*c1->Find("w"));
  ASSERT_EQ(w.size(), static_cast<size_t>(kElements));
  EXPECT_NEAR(w.front(), 2.0, 1e-6);
  EXPECT_NEAR(w.back(), 2.0, 1e-6);
}

// The other side: an aggregator that holds the whole upload but whose fold does no work for
// five idle timeouts (hung, as far as the node can tell) is given up on; the node's next attempt
// finds the result accepted, and it counts once.
TEST_F(SlowLinkUploadTest, AnAggregatorStuckAfterTheWholeUploadIsCutAndTheUpdateCountsOnce) {
  fold_moves_ = false;
  ASSERT_TRUE(CreateStudy("stuck").ok());
  auto kb = Client("kb", server_->port());
  ASSERT_TRUE(Upload(kb.get(), Model(0)).ok());  // the initial model
  const absl::Time start = absl::Now();
  auto cut = Upload(kb.get(), Model(1));
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDeadlineExceeded) << cut.status();
  EXPECT_LT(absl::Now() - start, kFold) << "waited for the stuck fold";
  absl::SleepFor(kFold);  // the fold ends meanwhile and the result is recorded
  // The node sends the result it kept again, for the same task: already accepted, not twice.
  v1::UploadHeader header;
  header.set_task_id("stuck/r1/kb");
  header.set_num_samples(10);
  const TensorSet kept = Model(1);
  auto again = kb->UploadResult(header, &kept);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  EXPECT_TRUE(again->duplicate());
  auto igr = Client("igr", server_->port());
  ASSERT_TRUE(Upload(igr.get(), Model(3)).ok());
  EXPECT_EQ(folds_of_kb_.load(), 1);
  auto c1 = server_->federation()->GetCheckpoint(kCoordinator, "stuck", "stuck/c1");
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_NEAR(protocol::ToDoubles(*c1->Find("w")).front(), 2.0, 1e-6);
}

}  // namespace
}  // namespace scancov
