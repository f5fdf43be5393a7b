#include "node/store/node_store.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/sqlite/sqlite.h"
#include "gtest/gtest.h"
#include "node/imaging/ct_features.h"

namespace scancov::node {
namespace {

std::set<std::string> Tables(NodeStore& store) {
  SQLite::Statement q(store.db(), "SELECT name FROM sqlite_master WHERE type = 'table'");
  std::set<std::string> out;
  while (q.executeStep()) out.insert(sqlite::Row(q).Text());
  return out;
}

const std::set<std::string> kNodeTables = {
    "clinical_import",    "clinical_patient", "clinical_value", "ct_series", "ct_features",
    "ai_severity_scores", "task_log",         "tercile_rounds", "egress"};

TEST(NodeStoreTest, InMemoryHasEveryNodeTable) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<std::string> tables = Tables(**store);
  for (const std::string& t : kNodeTables) EXPECT_TRUE(tables.count(t)) << t;
  EXPECT_EQ((*store)->path(), "");
}

TEST(NodeStoreTest, OpenCreatesFolderAndFileInWalModeAndReopensWhatItHolds) {
  const std::string dir = ::testing::TempDir() + "/node_store_open";
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/state/node.db";
  {
    absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->path(), path);
    EXPECT_EQ((*store)->db().execAndGet("PRAGMA journal_mode").getString(), "wal");
    (*store)->db().exec("INSERT INTO task_log VALUES('t1', 'k', 'uploaded', 1, 2, '')");
  }
  absl::StatusOr<std::unique_ptr<NodeStore>> reopened = NodeStore::Open(path);  // idempotent
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->db().execAndGet("SELECT COUNT(*) FROM task_log").getInt(), 1);
  EXPECT_EQ(Tables(**reopened), Tables(**NodeStore::InMemory()));
}

TEST(NodeStoreTest, AStoreThatCannotBeOpenedSaysWhere) {
  const std::string dir = ::testing::TempDir() + "/node_store_blocked";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/state") << "a file where the store's folder should be";
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::Open(dir + "/state/node.db");
  EXPECT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(dir + "/state"), std::string::npos) << store.status();
}

// ct_features has one column per CtFeatureNames() entry, in order (UpsertCtFeatures binds them
// by position).
TEST(NodeStoreTest, CtFeatureColumnsAreTheFeatureNamesInOrder) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  SQLite::Statement q((*store)->db(), "SELECT name FROM pragma_table_info('ct_features')");
  std::vector<std::string> columns;
  while (q.executeStep()) columns.push_back(sqlite::Row(q).Text());
  std::vector<std::string> expected = {"series_key", "patient_key", "slices"};
  for (const std::string& n : CtFeatureNames()) expected.push_back(n);
  EXPECT_EQ(columns, expected);
}

}  // namespace
}  // namespace scancov::node
