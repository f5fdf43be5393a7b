#include "aggregator/server/store.h"

#include <filesystem>

#include "core/sqlite/sqlite.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

protocol::TensorSet SampleWeights() {
  protocol::TensorSet s;
  EXPECT_TRUE(s.Add(protocol::MakeFloat32("fc.weight", {2, 3}, {1, 2, 3, 4, 5, 6})).ok());
  EXPECT_TRUE(
      s.Add(protocol::FromDoubles("bn.running_var", {2}, protocol::DType::kFloat64, {0.5, 2}))
          .ok());
  return s;
}

std::string TempDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return path;
}

TEST(AggregatorStoreTest, CheckpointRoundTripsThroughSqlite) {
  auto store = AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  const protocol::TensorSet w = SampleWeights();
  ASSERT_TRUE((*store)->PutCheckpoint("s/c1", "s", 1, w, 123).ok());
  auto back = (*store)->GetCheckpoint("s/c1");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(w.CheckSameLayout(*back).ok());
  EXPECT_EQ(protocol::WeightsDigestHex(w), protocol::WeightsDigestHex(*back));
  EXPECT_EQ((*store)->GetCheckpoint("s/c9").status().code(), absl::StatusCode::kNotFound);
}

TEST(AggregatorStoreTest, CorruptedCheckpointRowIsDetected) {
  const std::string path = TempDb("corrupt.db");
  {
    auto store = AggregatorStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->PutCheckpoint("s/c1", "s", 1, SampleWeights(), 1).ok());
  }
  {
    absl::StatusOr<std::unique_ptr<SQLite::Database>> db = sqlite::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    (*db)->exec("UPDATE checkpoints SET payload = zeroblob(length(payload))");
  }
  auto store = AggregatorStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto back = (*store)->GetCheckpoint("s/c1");
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("checkpoint 's/c1'"), std::string::npos);
}

TEST(AggregatorStoreTest, EverythingSurvivesAReopen) {
  const std::string path = TempDb("reopen.db");
  {
    auto store = AggregatorStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->UpsertSite({"kb", "Kremlin-Bicetre", true, 5, 0, "", ""}).ok());
    StudyRecord study;
    study.study_id = "s";
    study.spec.set_name("s");
    study.spec.add_sites("kb");
    study.current_round = 2;
    ASSERT_TRUE((*store)->InsertStudy(study).ok());
    RoundRecord round{"s", 2, "open", "", 10, 20, 0, {{"loss", 0.25}}, ""};
    ASSERT_TRUE((*store)->UpsertRound(round).ok());
    TaskRecord task{"s/r2/kb", "s", 2, "kb", v1::TASK_KIND_TRAIN, "s/c1", "issued", 11, 0};
    ASSERT_TRUE((*store)->UpsertTask(task).ok());
    ResultRecord result;
    result.task_id = "s/r2/kb";
    result.site_id = "kb";
    result.num_samples = 77;
    result.metrics = {{"auc", 0.8}};
    result.weights = SampleWeights();
    result.weights_sha256 = protocol::WeightsDigestHex(*result.weights);
    ASSERT_TRUE((*store)->InsertResult(result).ok());
    EXPECT_EQ((*store)->InsertResult(result).code(), absl::StatusCode::kAlreadyExists);
  }
  auto store = AggregatorStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto site = (*store)->GetSite("kb");
  ASSERT_TRUE(site.ok() && site->has_value());
  EXPECT_EQ((*site)->display_name, "Kremlin-Bicetre");
  auto study = (*store)->GetStudy("s");
  ASSERT_TRUE(study.ok() && study->has_value());
  EXPECT_EQ((*study)->current_round, 2u);
  EXPECT_EQ((*study)->spec.sites(0), "kb");
  auto rounds = (*store)->ListRounds("s");
  ASSERT_TRUE(rounds.ok());
  ASSERT_EQ(rounds->size(), 1u);
  EXPECT_DOUBLE_EQ(rounds->at(0).metrics.at("loss"), 0.25);
  auto task = (*store)->GetTask("s/r2/kb");
  ASSERT_TRUE(task.ok() && task->has_value());
  EXPECT_EQ((*task)->checkpoint_id, "s/c1");
  auto result = (*store)->GetResult("s/r2/kb");
  ASSERT_TRUE(result.ok() && result->has_value());
  EXPECT_EQ((*result)->num_samples, 77u);
  EXPECT_EQ(protocol::WeightsDigestHex(*(*result)->weights), (*result)->weights_sha256);
}

TEST(AggregatorStoreTest, FailedTransactionRollsBack) {
  auto store = AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  absl::Status s = (*store)->InTransaction([&] {
    EXPECT_TRUE((*store)->UpsertSite({"kb", "", true, 0, 0, "", ""}).ok());
    return absl::InternalError("boom");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  auto site = (*store)->GetSite("kb");
  ASSERT_TRUE(site.ok());
  EXPECT_FALSE(site->has_value());
}

}  // namespace
}  // namespace scancov::aggregator
