#include "node/upload_follower.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
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

v1::UploadStatusResponse HeldWithToken(uint32_t chunks, const std::string& token) {
  v1::UploadStatusResponse answer = Held(chunks);
  answer.set_work_token(token);
  return answer;
}

TEST(UploadFollowerTest, AnAggregatorThatHoldsTheWholeUploadButDoesNothingIsCut) {
  // Every chunk is in and the aggregator answers, but its work token never changes: it is hung
  // (a deadlock, a stuck disk), and the node would otherwise wait for it forever.
  EXPECT_TRUE(CutWithin(6 * kIdle, [](grpc::ClientContext*) {
    return HeldWithToken(kChunks, "\x01\x02\x03\x04\x05\x06\x07\x08");
  }));
}

TEST(UploadFollowerTest, AnAggregatorWorkingOnTheUploadOrBeforeItIsNotCut) {
  // Folding this upload, or another one under its lock first: the token changes between answers.
  std::atomic<int> asked{0};
  EXPECT_FALSE(CutWithin(6 * kIdle, [&](grpc::ClientContext*) {
    return HeldWithToken(kChunks, absl::StrCat("work-", asked++));
  }));
}

TEST(UploadFollowerTest, AnAggregatorThatStopsWorkingIsCutOneIdleTimeoutLater) {
  // Working for a while (the token changes), then hung: cut, but not while it worked.
  std::atomic<int> asked{0};
  const absl::Time start = absl::Now();
  std::atomic<int64_t> cut_after_ms{-1};
  {
    UploadFollower follower(
        kIdle, kChunks,
        [&](grpc::ClientContext*) {
          const int n = asked++;
          return HeldWithToken(kChunks, absl::StrCat("work-", std::min(n, 8)));
        },
        [&] { cut_after_ms = absl::ToInt64Milliseconds(absl::Now() - start); });
    absl::SleepFor(12 * kIdle);
  }
  // Questions every kIdle / 4: the token stops changing after the 9th (about 2.25 idle
  // timeouts in), and the cut comes one idle timeout after that.
  ASSERT_GE(cut_after_ms.load(), 0) << "never cut";
  EXPECT_GE(cut_after_ms.load(), absl::ToInt64Milliseconds(3 * kIdle));
}

}  // namespace
}  // namespace scancov::node
