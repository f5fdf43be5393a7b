// The ledger's record of the node's own messages: a task's heartbeats and a registration.
#include "node/control_egress.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace scancov::node {
namespace {

v1::HeartbeatRequest Beat(const std::string& stage, double progress) {
  v1::HeartbeatRequest r;
  r.set_task_id("s1/r2/kb");
  r.set_stage(stage);
  r.set_progress(progress);
  return r;
}

TEST(HeartbeatTallyTest, CountsEveryBeatItsBytesAndTheDistinctTextsInOrder) {
  HeartbeatTally tally;
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  const std::vector<v1::HeartbeatRequest> sent = {
      Beat("training", 0), Beat("training epoch 1/5, ETA 4m", 0), Beat("training", 0),
      Beat("training epoch 2/5, ETA 3m", 0.2), Beat("training epoch 2/5, ETA 3m", 0.2)};
  uint64_t bytes = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    tally.Add(sent[i], t0 + absl::Seconds(30 * i), /*answered=*/i != 2);
    bytes += sent[i].ByteSizeLong();
  }
  const HeartbeatSummary s = tally.Summary();
  EXPECT_EQ(s.beats, 5);
  EXPECT_EQ(s.errors, 1);
  EXPECT_EQ(s.bytes, bytes);
  EXPECT_EQ(s.stages, (std::vector<std::string>{"training", "training epoch 1/5, ETA 4m",
                                                "training epoch 2/5, ETA 3m"}));
  EXPECT_EQ(s.progress, (std::vector<double>{0, 0.2}));
  EXPECT_EQ(s.first, t0);
  EXPECT_EQ(s.last, t0 + absl::Seconds(120));
  EXPECT_EQ(HeartbeatState(s), "sent");
  EXPECT_EQ(HeartbeatDetail(s), "4 of 5 beats answered");

  const nlohmann::json j = nlohmann::json::parse(HeartbeatSummaryJson(s, absl::Seconds(30)));
  EXPECT_EQ(j.at("fields"), (std::vector<std::string>{"task_id", "stage", "progress"}));
  EXPECT_EQ(j.at("interval_s"), 30);
  EXPECT_EQ(j.at("beats"), 5);
  EXPECT_EQ(j.at("bytes"), bytes);
  EXPECT_EQ(j.at("first_unix"), 1700000000);
  EXPECT_EQ(j.at("last_unix"), 1700000120);
  EXPECT_EQ(j.at("stages").size(), 3u);
  EXPECT_EQ(ControlEntryText("heartbeat", j.dump()),
            "5 beats (1 answered by an error), " + std::to_string(bytes) +
                " bytes, every 30 s, 2023-11-14 22:13:20 to 2023-11-14 22:15:20 UTC; fields "
                "task_id, stage, progress; stages: \"training\", \"training epoch 1/5, ETA 4m\", "
                "\"training epoch 2/5, ETA 3m\"; progress: 0.0, 0.2");
}

TEST(HeartbeatTallyTest, BeforeAnyBeatTheSummarySaysNone) {
  const HeartbeatSummary none = HeartbeatTally().Summary();
  const nlohmann::json j = nlohmann::json::parse(HeartbeatSummaryJson(none, absl::Seconds(1)));
  EXPECT_EQ(j.at("beats"), 0);
  EXPECT_TRUE(j.at("first_unix").is_null());
  EXPECT_EQ(HeartbeatState(none), "failed");
}

// Past kMaxListed distinct texts (an ETA changes at every beat of a long task) the rest are
// counted, not listed; no beat is lost when the heartbeat's thread and another add at once.
TEST(HeartbeatTallyTest, ListsAtMostKMaxListedTextsAndLosesNoBeatAcrossThreads) {
  HeartbeatTally tally;
  const auto add = [&](int from) {
    for (int i = from; i < from + 300; ++i) {
      tally.Add(Beat("training ETA " + std::to_string(i) + "s", 0.5), absl::UnixEpoch(), true);
    }
  };
  std::thread other(add, 0);
  add(1000);
  other.join();
  const HeartbeatSummary s = tally.Summary();
  EXPECT_EQ(s.beats, 600);
  EXPECT_EQ(s.stages.size(), HeartbeatTally::kMaxListed);
  EXPECT_EQ(s.stages_not_listed, 600 - static_cast<int64_t>(HeartbeatTally::kMaxListed));
  EXPECT_EQ(s.progress, (std::vector<double>{0.5}));
}

TEST(RegisterSummaryTest, RecordsEveryFieldOfTheRequestByName) {
  v1::RegisterRequest r;
  r.set_protocol_version(v1::PROTOCOL_VERSION_2);
  r.set_node_version("0.4.0");
  r.set_device("cuda:NVIDIA H100");
  absl::StatusOr<std::string> json = RegisterSummaryJson(r);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json j = nlohmann::json::parse(*json);
  EXPECT_EQ(j, (nlohmann::json{{"protocol_version", "PROTOCOL_VERSION_2"},
                               {"node_version", "0.4.0"},
                               {"device", "cuda:NVIDIA H100"}}));
  EXPECT_EQ(ControlEntryText("register", *json),
            "device=cuda:NVIDIA H100 node_version=0.4.0 protocol_version=PROTOCOL_VERSION_2 (the "
            "site id travels in the certificate, not as a field)");
  EXPECT_EQ(ControlEntryText("result", *json), "");
  EXPECT_EQ(ControlEntryText("heartbeat", "not json"), "");
}

TEST(DecisionSummaryTest, RecordsEveryFieldOfTheReportByName) {
  v1::StudyDecision d;
  d.set_study_id("cohort");
  d.set_state(v1::DECISION_STATE_DENIED);
  d.set_decided_by("steward");
  d.set_reason("outside our ethics approval");
  absl::StatusOr<std::string> json = DecisionSummaryJson(d);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json j = nlohmann::json::parse(*json);
  EXPECT_EQ(j.at("study_id"), "cohort");
  EXPECT_EQ(j.at("state"), "DECISION_STATE_DENIED");
  EXPECT_EQ(j.at("reason"), "outside our ethics approval");
  EXPECT_TRUE(j.contains("spec_sha256") && j.contains("decided_unix"));  // defaults too
  EXPECT_NE(ControlEntryText("decision", *json).find("state=DECISION_STATE_DENIED"),
            std::string::npos);
}

}  // namespace
}  // namespace scancov::node
