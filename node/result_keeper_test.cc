#include "node/result_keeper.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

Release MakeRelease(const std::string& task_id, bool weights) {
  Release r;
  r.header.set_task_id(task_id);
  r.header.set_num_samples(42);
  (*r.header.mutable_metrics())["loss"] = 0.25;
  r.ledger_entry = 7;
  if (weights) {
    protocol::TensorSet set;
    EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {3}, {1, 2, 3})).ok());
    EXPECT_TRUE(set.Add(protocol::FromDoubles("n", {}, protocol::DType::kInt64, {5})).ok());
    r.weights = std::move(set);
  }
  return r;
}

class ResultKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "kept_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  std::string OnlyFile() {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) files.push_back(e.path());
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? "" : files[0];
  }
  std::string dir_;
};

TEST_F(ResultKeeperTest, KeepsFindsAndDropsAResult) {
  ResultKeeper keeper(dir_);
  auto none = keeper.Find("study/round-1/kb");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(keeper.Keep(MakeRelease("study/round-1/kb", true)).ok());
  ASSERT_TRUE(keeper.Keep(MakeRelease("study/analysis/kb", false)).ok());
  ResultKeeper reopened(dir_);  // a restarted node
  auto kept = reopened.Find("study/round-1/kb");
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_TRUE(kept->has_value());
  const Release& r = **kept;
  EXPECT_EQ(r.ledger_entry, 7);
  EXPECT_EQ(r.header.num_samples(), 42u);
  EXPECT_EQ(r.header.metrics().at("loss"), 0.25);
  ASSERT_TRUE(r.weights.has_value());
  EXPECT_EQ(protocol::WeightsDigestHex(*r.weights),
            protocol::WeightsDigestHex(*MakeRelease("x", true).weights));
  auto plain = reopened.Find("study/analysis/kb");
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_FALSE((*plain)->weights.has_value());
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find('/'), std::string::npos);
    EXPECT_EQ(e.path().filename().string().find("study"), std::string::npos);
  }
  ASSERT_TRUE(reopened.Drop("study/round-1/kb").ok());
  EXPECT_FALSE(reopened.Find("study/round-1/kb")->has_value());
  ASSERT_TRUE(reopened.Drop("study/round-1/kb").ok());  // already gone: fine
  ASSERT_TRUE(reopened.DropAll().ok());
  EXPECT_FALSE(reopened.Find("study/analysis/kb")->has_value());
}

TEST_F(ResultKeeperTest, ADamagedResultIsDataLoss) {
  ResultKeeper keeper(dir_);
  ASSERT_TRUE(keeper.Keep(MakeRelease("t", true)).ok());
  const std::string path = OnlyFile();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);  // inside the payload
    f.put('\x55');
  }
  EXPECT_EQ(keeper.Find("t").status().code(), absl::StatusCode::kDataLoss);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 5);
  EXPECT_EQ(keeper.Find("t").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(ResultKeeperTest, OldResultsAreDropped) {
  ResultKeeper keeper(dir_);
  ASSERT_TRUE(keeper.Keep(MakeRelease("t", false)).ok());
  auto none = keeper.DropOlderThan(absl::Now() - absl::Hours(1));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto one = keeper.DropOlderThan(absl::Now() + absl::Hours(1));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  EXPECT_FALSE(keeper.Find("t")->has_value());
}

TEST(KeptResultsDirTest, IsBesideTheStore) {
  EXPECT_EQ(KeptResultsDir("state/node.db"), "state/results");
  EXPECT_EQ(KeptResultsDir("/var/lib/scancov/node.db"), "/var/lib/scancov/results");
  EXPECT_EQ(KeptResultsDir("node.db"), "./results");  // never "/results"
}

}  // namespace
}  // namespace scancov::node
