#include "node/upload_follower.h"

#include <atomic>

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

constexpr absl::Duration kIdle = absl::Milliseconds(200);
constexpr uint32_t kChunks = 10;

v1::UploadStatusResponse Held(uint32_t chunks) {
  v1::UploadStatusResponse answer;
  answer.set_verified_chunks(chunks);
  return answer;
}

// Follows for `span` with `ask`; whether it cut the call.
bool CutWithin(absl::Duration span, UploadFollower::Ask ask) {
  std::atomic<bool> cut{false};
  {
    UploadFollower follower(kIdle, kChunks, std::move(ask), [&] { cut = true; });
    absl::SleepFor(span);
    EXPECT_EQ(follower.fired(), cut.load());
  }
  return cut;
}

TEST(UploadFollowerTest, AnAggregatorDrainingThenWorkingOnTheUploadIsNotCut) {
  std::atomic<uint32_t> held{4};
  EXPECT_FALSE(CutWithin(6 * kIdle, [&](grpc::ClientContext*) {
    // One more chunk per question until all are held (received whole, being aggregated).
    return Held(held < kChunks ? held++ : held.load());
  }));
}

TEST(UploadFollowerTest, AQuestionWaitingBehindTheDrainIsNotHeldAgainstTheUpload) {
  std::atomic<int> asked{0};
  EXPECT_FALSE(CutWithin(6 * kIdle, [&](grpc::ClientContext*) {
    if (asked++ == 0) absl::SleepFor(3 * kIdle);  // queued behind the bytes still draining
    return Held(kChunks);
  }));
}

TEST(UploadFollowerTest, ACountThatStopsShortOfTheUploadIsCut) {
  EXPECT_TRUE(CutWithin(6 * kIdle, [](grpc::ClientContext*) { return Held(3); }));
}

TEST(UploadFollowerTest, AnUnreachableAggregatorIsCut) {
  EXPECT_TRUE(CutWithin(6 * kIdle, [](grpc::ClientContext*) {
    return absl::StatusOr<v1::UploadStatusResponse>(absl::UnavailableError("connection refused"));
  }));
}

TEST(UploadFollowerTest, AnAggregatorWithoutUploadStatusGetsThePlainIdleRule) {
  EXPECT_TRUE(CutWithin(6 * kIdle, [](grpc::ClientContext*) {
    return absl::StatusOr<v1::UploadStatusResponse>(absl::UnimplementedError("old"));
  }));
}

}  // namespace
}  // namespace scancov::node
