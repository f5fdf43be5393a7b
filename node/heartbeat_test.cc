#include "node/heartbeat.h"

#include <atomic>

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

class BeatCounter : public protocol::FederationClient {
 public:
  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest&) override {
    return v1::RegisterResponse();
  }
  absl::StatusOr<v1::PullTaskResponse> PullTask() override { return v1::PullTaskResponse(); }
  absl::StatusOr<protocol::TensorSet> DownloadWeights(const std::string&,
                                                      const std::string&) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader&,
                                                  const protocol::TensorSet*) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision&) override {
    return v1::DecisionAck();
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& r) override {
    if (unimplemented) return absl::UnimplementedError("old aggregator");
    ++beats;
    absl::MutexLock lock(&mu);
    last = r;
    v1::HeartbeatResponse response;
    response.set_task_current(beats < close_after);
    response.set_server_time_unix_ms(server_time_ms);
    return response;
  }
  std::atomic<int> beats{0};
  int64_t server_time_ms = 0;
  int close_after = 1000;
  bool unimplemented = false;
  absl::Mutex mu;
  v1::HeartbeatRequest last;
};

TEST(HeartbeatLoopTest, BeatsWhileTheTaskRunsAndStopsWithIt) {
  BeatCounter client;
  {
    HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(20));
    loop.set_stage("training epoch 1/2", 0.5);
    absl::SleepFor(absl::Milliseconds(150));
    EXPECT_TRUE(loop.task_current());
  }
  const int after = client.beats;
  EXPECT_GE(after, 3);
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(client.beats, after) << "no beat after the loop ended";
  absl::MutexLock lock(&client.mu);
  EXPECT_EQ(client.last.task_id(), "s1/r1/kb");
  EXPECT_EQ(client.last.stage(), "training epoch 1/2");
}

// Every beat sent is tallied for the egress ledger, with its stage text.
TEST(HeartbeatLoopTest, TalliesEveryBeatItSends) {
  BeatCounter client;
  HeartbeatTally tally;
  {
    HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(10), nullptr, Clock::Real(), nullptr,
                       &tally);
    loop.set_stage("training epoch 1/2", 0.5);
    for (int i = 0; i < 200 && client.beats < 3; ++i) absl::SleepFor(absl::Milliseconds(5));
  }
  const HeartbeatSummary s = tally.Summary();
  EXPECT_GE(s.beats, 3);
  EXPECT_EQ(s.beats, client.beats);
  EXPECT_EQ(s.errors, 0);
  EXPECT_EQ(s.stages.back(), "training epoch 1/2");
  EXPECT_LE(s.stages.size(), 2u);  // "" before set_stage, at most
}

TEST(HeartbeatLoopTest, SaysWhenTheAggregatorNoLongerCountsTheTask) {
  BeatCounter client;
  client.close_after = 2;
  HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(10));
  for (int i = 0; i < 100 && loop.task_current(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(loop.task_current());
}

TEST(HeartbeatLoopTest, AnAggregatorWithoutHeartbeatIsNotAskedAgain) {
  BeatCounter client;
  client.unimplemented = true;
  HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(5));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(loop.beats_sent(), 0);
  EXPECT_TRUE(loop.task_current());
}

TEST(HeartbeatLoopTest, AnAnswerShowingThisClockOffIsWarnedAbout) {
  BeatCounter client;
  FakeClock clock;
  client.server_time_ms = absl::ToUnixMillis(clock.Now() + absl::Minutes(10));
  ClockSkewWatch watch;
  {
    HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(5), &watch, &clock);
    for (int i = 0; i < 100 && client.beats < 2; ++i) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(client.beats, 2);
  EXPECT_TRUE(watch.warned());
}

// The stage the aggregator sees is the task's progress: counts and an ETA, nothing else.
// The heartbeat says how far the task is in units the plan set (epochs), never in units counted
// from the site's rows: a coordinator who sets the batch size to 1 would otherwise read the
// number of training patients (here 287) from "batch 60/287", or from the fraction done.
TEST(HeartbeatLoopTest, SendsTheTasksProgressInEpochsNeverInBatches) {
  BeatCounter client;
  FakeClock clock;
  Progress progress(&clock);
  progress.SetStage("training");
  progress.SetCount("epoch", 1, 5);
  clock.Advance(absl::Seconds(60));
  progress.SetSubCount("batch", 60, 287);  // batch size 1: one batch per training patient
  {
    HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(5), nullptr, &clock, &progress);
    loop.set_stage("not sent while the progress has a text");
    for (int i = 0; i < 200 && client.beats < 2; ++i) absl::SleepFor(absl::Milliseconds(5));
  }
  absl::MutexLock lock(&client.mu);
  EXPECT_EQ(client.last.stage(), "training epoch 2/5, ETA 4m");  // 1 of 5 epochs in a minute
  EXPECT_DOUBLE_EQ(client.last.progress(), 0.2);
  EXPECT_EQ(client.last.stage().find("287"), std::string::npos);
  // The node's own log keeps the batches.
  EXPECT_EQ(progress.Text(), "training epoch 2/5, batch 60/287, ETA 4m");
  EXPECT_FALSE(progress.cancelled());
}

TEST(HeartbeatLoopTest, AnAnswerThatTheTaskNoLongerCountsCancelsItsProgress) {
  BeatCounter client;
  client.close_after = 2;
  Progress progress;
  HeartbeatLoop loop(&client, "s1/r1/kb", absl::Milliseconds(10), nullptr, Clock::Real(),
                     &progress);
  for (int i = 0; i < 200 && !progress.cancelled(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(progress.cancelled());
  EXPECT_FALSE(loop.task_current());
  EXPECT_NE(progress.cancel_reason().find("no longer counts task 's1/r1/kb'"), std::string::npos)
      << progress.cancel_reason();
}

}  // namespace
}  // namespace scancov::node
