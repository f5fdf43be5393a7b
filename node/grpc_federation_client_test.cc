#include "node/grpc_federation_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

using protocol::TensorSet;

constexpr uint32_t kChunk = protocol::kMinChunkBytes;

// 10 chunks of 16 KiB.
TensorSet MakeSet(int elements = 10 * 4096) {
  std::vector<float> w(elements);
  for (int i = 0; i < elements; ++i) w[i] = 0.01f * static_cast<float>(i % 977);
  TensorSet set;
  EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {elements}, w)).ok());
  return set;
}

// TEST ONLY: a minimal stand-in for the aggregator's transfer calls (the production service is
// aggregator/server/grpc_service.cc). It serves one checkpoint and keeps one upload in memory,
// and can cut or stall a stream.
class FakeAggregator : public v1::Federation::Service {
 public:
  grpc::Status DownloadWeights(grpc::ServerContext* context,
                               const v1::DownloadWeightsRequest* request,
                               grpc::ServerWriter<v1::WeightsMessage>* writer) override {
    absl::MutexLock lock(&mu_);
    download_starts.push_back(request->start_chunk());
    protocol::WeightsEncoder encoder(checkpoint, request->chunk_bytes());
    v1::WeightsMessage message;
    *message.mutable_manifest() = encoder.manifest();
    writer->Write(message);
    if (honours_start_chunk) encoder.SkipTo(request->start_chunk());
    v1::WeightsChunk chunk;
    for (int sent = 0; encoder.Next(&chunk); ++sent) {
      if (sent == cut_download_after) {
        cut_download_after = -1;
        if (!stall) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
        WaitForCancel(context);
        return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
      }
      mu_.Unlock();
      absl::SleepFor(chunk_delay);
      mu_.Lock();
      message.Clear();
      *message.mutable_chunk() = chunk;
      if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    }
    return grpc::Status::OK;
  }

  grpc::Status UploadStatus(grpc::ServerContext*, const v1::UploadStatusRequest* request,
                            v1::UploadStatusResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (!implements_status) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "old");
    ++status_calls;
    response->set_accepted(accepted);
    if (request->weights_sha256() == held_sha && request->chunk_bytes() == held_chunk_bytes) {
      response->set_verified_chunks(static_cast<uint32_t>(held.size()));
    }
    if (token_moves) response->set_work_token(absl::StrCat("work-", status_calls));
    if (!fixed_token.empty()) response->set_work_token(fixed_token);
    return grpc::Status::OK;
  }

  grpc::Status UploadResult(grpc::ServerContext* context,
                            grpc::ServerReader<v1::UploadMessage>* reader,
                            v1::UploadResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++upload_calls;
    v1::UploadMessage message;
    if (!reader->Read(&message) || !message.has_header()) return Refuse("no header");
    last_header = message.header();
    if (!reader->Read(&message) || !message.has_manifest()) return Refuse("no manifest");
    const v1::WeightsManifest manifest = message.manifest();
    if (held_sha != ToHex(manifest.sha256()) || held_chunk_bytes != manifest.chunk_bytes()) {
      held.clear();
      held_sha = ToHex(manifest.sha256());
      held_chunk_bytes = manifest.chunk_bytes();
    }
    bool first = true;
    while (ReadUnlocked(reader, &message)) {
      if (first) first_chunks.push_back(message.chunk().index());
      first = false;
      if (stall) {
        WaitForCancel(context);
        return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
      }
      if (message.chunk().index() != held.size()) return Refuse("chunk out of order");
      held.push_back(message.chunk());
      if (static_cast<int>(held.size()) == cut_upload_at) {
        cut_upload_at = -1;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
      }
    }
    if (hang_after_last_chunk) {  // every chunk held, then nothing: a deadlock, a stuck disk
      WaitForCancel(context);
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
    if (lose_after_last_chunk) {  // the answer never comes and the chunks are forgotten
      held.clear();
      WaitForCancel(context);
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
    // The aggregator's verification, storage and aggregation (UploadStatus answered meanwhile).
    mu_.Unlock();
    absl::SleepFor(processing_delay);
    mu_.Lock();
    protocol::WeightsAssembler assembler;
    if (!assembler.Begin(manifest).ok()) return Refuse("bad manifest");
    for (const v1::WeightsChunk& c : held) {
      if (!assembler.Add(c).ok()) return Refuse("bad chunk");
    }
    auto set = assembler.Finish();
    if (!set.ok()) return Refuse("bad payload");
    received = *set;
    accepted = true;
    response->set_accepted(true);
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  // Checkpoint side.
  TensorSet checkpoint;
  int cut_download_after = -1;  // chunks sent before the (next) download is cut
  bool honours_start_chunk = true;
  bool stall = false;  // instead of cutting, wait for the client to give up
  absl::Duration chunk_delay = absl::ZeroDuration();
  std::vector<uint32_t> download_starts;
  // Upload side.
  bool implements_status = true;
  int cut_upload_at = -1;  // the (next) upload is cut once this many chunks are held
  int upload_calls = 0;
  int status_calls = 0;
  std::vector<uint32_t> first_chunks;  // the first chunk index of each upload stream
  std::vector<v1::WeightsChunk> held;
  std::string held_sha;
  uint32_t held_chunk_bytes = 0;
  bool accepted = false;
  absl::Duration processing_delay = absl::ZeroDuration();  // after the last chunk
  bool lose_after_last_chunk = false;
  bool hang_after_last_chunk = false;
  // UploadStatusResponse.work_token: none (an aggregator before 0.4.0), one that changes with
  // every answer (working), or a fixed one (doing nothing).
  bool token_moves = false;
  std::string fixed_token;
  v1::UploadHeader last_header;
  TensorSet received;

 private:
  // Reads without holding mu_, so that UploadStatus is answered while a stream waits.
  bool ReadUnlocked(grpc::ServerReader<v1::UploadMessage>* reader, v1::UploadMessage* message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    mu_.Unlock();
    const bool read = reader->Read(message);
    mu_.Lock();
    return read;
  }
  // Holds the stream open, reading and writing nothing, until the client gives up.
  void WaitForCancel(grpc::ServerContext* context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    mu_.Unlock();
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    mu_.Lock();
  }
  static grpc::Status Refuse(const std::string& why) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why);
  }
};

class GrpcFederationClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }
  std::unique_ptr<GrpcFederationClient> Client(absl::Duration idle = absl::Seconds(60)) {
    GrpcClientOptions options;
    options.chunk_bytes = kChunk;
    options.idle_timeout = idle;
    return std::make_unique<GrpcFederationClient>(
        server_->InProcessChannel(grpc::ChannelArguments()), options);
  }
  v1::UploadHeader Header() {
    v1::UploadHeader h;
    h.set_task_id("study/round-1/kb");
    h.set_num_samples(10);
    return h;
  }

  FakeAggregator fake_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcFederationClientTest, AnInterruptedUploadResumesFromWhatTheAggregatorHolds) {
  const TensorSet set = MakeSet();
  fake_.cut_upload_at = 4;
  auto client = Client();
  auto first = client->UploadResult(Header(), &set);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  auto second = client->UploadResult(Header(), &set);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->accepted());
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.first_chunks, (std::vector<uint32_t>{0, 4}));  // chunks 0-3 not sent again
  EXPECT_EQ(fake_.last_header.weights_sha256(), protocol::WeightsDigestHex(set));
  EXPECT_EQ(protocol::WeightsDigestHex(fake_.received), protocol::WeightsDigestHex(set));
}

TEST_F(GrpcFederationClientTest, AResultAlreadyAcceptedIsNotSentAgain) {
  const TensorSet set = MakeSet();
  auto client = Client();
  ASSERT_TRUE(client->UploadResult(Header(), &set).ok());
  auto again = client->UploadResult(Header(), &set);  // the first answer was lost, say
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate());
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.upload_calls, 1);
  EXPECT_EQ(fake_.status_calls, 2);
}

TEST_F(GrpcFederationClientTest, AnAggregatorWithoutUploadStatusGetsEverything) {
  const TensorSet set = MakeSet();
  fake_.implements_status = false;
  fake_.cut_upload_at = 4;
  auto client = Client();
  EXPECT_FALSE(client->UploadResult(Header(), &set).ok());
  {
    absl::MutexLock lock(&fake_.mu_);
    fake_.held.clear();  // an old aggregator keeps nothing of a cut stream
  }
  ASSERT_TRUE(client->UploadResult(Header(), &set).ok());
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.first_chunks, (std::vector<uint32_t>{0, 0}));
}

TEST_F(GrpcFederationClientTest, ACutDownloadResumesFromItsVerifiedPrefix) {
  fake_.checkpoint = MakeSet();
  fake_.cut_download_after = 5;
  auto client = Client();
  auto first = client->DownloadWeights("t", "ckpt-1");
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  auto second = client->DownloadWeights("t", "ckpt-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(protocol::WeightsDigestHex(*second), protocol::WeightsDigestHex(fake_.checkpoint));
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.download_starts, (std::vector<uint32_t>{0, 5}));
}

TEST_F(GrpcFederationClientTest, ADownloadFromAnAggregatorIgnoringStartChunkStartsOver) {
  fake_.checkpoint = MakeSet();
  fake_.cut_download_after = 5;
  fake_.honours_start_chunk = false;
  auto client = Client();
  EXPECT_FALSE(client->DownloadWeights("t", "ckpt-1").ok());
  auto second = client->DownloadWeights("t", "ckpt-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(protocol::WeightsDigestHex(*second), protocol::WeightsDigestHex(fake_.checkpoint));
}

TEST_F(GrpcFederationClientTest, ASlowTransferIsNeverCutAStalledOneIs) {
  fake_.checkpoint = MakeSet();
  fake_.chunk_delay = absl::Milliseconds(60);  // 10 chunks: 600 ms, twice the idle timeout
  auto client = Client(absl::Milliseconds(300));
  auto slow = client->DownloadWeights("t", "ckpt-1");
  ASSERT_TRUE(slow.ok()) << slow.status();
  {
    absl::MutexLock lock(&fake_.mu_);
    fake_.chunk_delay = absl::ZeroDuration();
    fake_.cut_download_after = 3;
    fake_.stall = true;
  }
  auto stalled = client->DownloadWeights("t", "ckpt-2");
  EXPECT_EQ(stalled.status().code(), absl::StatusCode::kDeadlineExceeded) << stalled.status();
  EXPECT_NE(stalled.status().message().find("no progress"), std::string::npos);
  auto resumed = client->DownloadWeights("t", "ckpt-2");  // from the 3 chunks it kept
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  const TensorSet set = MakeSet();
  auto upload = client->UploadResult(Header(), &set);  // the aggregator stops reading
  EXPECT_EQ(upload.status().code(), absl::StatusCode::kDeadlineExceeded) << upload.status();
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.download_starts, (std::vector<uint32_t>{0, 0, 3}));
}

// After the last chunk the stream is silent while the aggregator verifies, stores and folds the
// upload; the node follows that through UploadStatus and does not cut the call (before: cut after
// idle_timeout, and sent again).
TEST_F(GrpcFederationClientTest, AnUploadIsNotCutWhileTheAggregatorWorksOnIt) {
  const TensorSet set = MakeSet();
  fake_.processing_delay = absl::Milliseconds(1500);  // five idle timeouts
  auto client = Client(absl::Milliseconds(300));
  auto upload = client->UploadResult(Header(), &set);
  ASSERT_TRUE(upload.ok()) << upload.status();
  EXPECT_TRUE(upload->accepted());
  EXPECT_FALSE(upload->duplicate());
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.upload_calls, 1);
  EXPECT_GE(fake_.status_calls, 3) << "the resume point, then the following";
  EXPECT_EQ(protocol::WeightsDigestHex(fake_.received), protocol::WeightsDigestHex(set));
}

// The same with an aggregator that sends its work token (0.4.0): it changes while the aggregator
// works, so the call is followed, not cut.
TEST_F(GrpcFederationClientTest, AnUploadIsNotCutWhileTheAggregatorsWorkTokenChanges) {
  const TensorSet set = MakeSet();
  fake_.processing_delay = absl::Milliseconds(1500);  // five idle timeouts
  fake_.token_moves = true;
  auto client = Client(absl::Milliseconds(300));
  auto upload = client->UploadResult(Header(), &set);
  ASSERT_TRUE(upload.ok()) << upload.status();
  EXPECT_TRUE(upload->accepted());
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_EQ(fake_.upload_calls, 1);
}

// An aggregator that holds every chunk and answers UploadStatus but does no work (its token
// never changes) is hung: the node gives up after idle_timeout instead of waiting forever, and
// keeps its result to send again.
TEST_F(GrpcFederationClientTest, AnAggregatorHungAfterTheWholeUploadIsGivenUpOn) {
  const TensorSet set = MakeSet();
  fake_.hang_after_last_chunk = true;
  fake_.fixed_token = "stuck";
  auto client = Client(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  auto upload = client->UploadResult(Header(), &set);
  EXPECT_EQ(upload.status().code(), absl::StatusCode::kDeadlineExceeded) << upload.status();
  EXPECT_NE(upload.status().message().find("no progress"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  absl::MutexLock lock(&fake_.mu_);
  EXPECT_FALSE(fake_.held.empty()) << "what was sent stays held for a resume";
}

// The other side of the rule: an aggregator that no longer holds what was sent (its stream lost
// on the way) and never answers is given up on after idle_timeout.
TEST_F(GrpcFederationClientTest, AnUploadTheAggregatorLostAfterItsLastChunkIsCut) {
  const TensorSet set = MakeSet();
  fake_.lose_after_last_chunk = true;
  auto client = Client(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  auto upload = client->UploadResult(Header(), &set);
  EXPECT_EQ(upload.status().code(), absl::StatusCode::kDeadlineExceeded) << upload.status();
  EXPECT_NE(upload.status().message().find("no progress"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace scancov::node
