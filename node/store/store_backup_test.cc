#include "node/store/store_backup.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_util.h"
#include "gtest/gtest.h"
#include "node/store/node_store.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class StoreBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/store_backup_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/state");
    in_.store = dir_ + "/state/node.db";
    in_.secret = dir_ + "/state/site.secret";
    in_.site_file = dir_ + "/site.json";
    ASSERT_TRUE(WriteFileAtomic(in_.secret, std::string("\x01\x02secret\x00\xff", 10)).ok());
    ASSERT_TRUE(WriteFileAtomic(in_.site_file, "{\"site_id\": \"kb\"}\n").ok());
  }

  std::string dir_;
  BackupInputs in_;
};

// The trap of `cp node.db`: with the node running, its latest writes are in node.db-wal. The
// backup is taken while the node's connection is open and holds them there.
TEST_F(StoreBackupTest, CopiesTheWritesStillInTheWalWhileTheNodeHasTheStoreOpen) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::Open(in_.store);
  ASSERT_TRUE(store.ok()) << store.status();
  (*store)->db().exec("PRAGMA wal_autocheckpoint = 0");  // as between two checkpoints
  for (int i = 0; i < 50; ++i) {
    (*store)->db().exec("INSERT INTO task_log VALUES('t" + std::to_string(i) +
                        "', 'k', 'uploaded', 1, 2, '')");
  }
  ASSERT_GT(fs::file_size(in_.store + "-wal"), 0u);
  {  // what a plain copy of the file would hold: not even the tables, let alone the rows
    fs::copy_file(in_.store, dir_ + "/plain-copy.db");
    SQLite::Database plain(dir_ + "/plain-copy.db", SQLite::OPEN_READONLY);
    const bool has_table =
        plain.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name = 'task_log'").getInt() > 0;
    ASSERT_EQ(has_table ? plain.execAndGet("SELECT COUNT(*) FROM task_log").getInt() : 0, 0)
        << "the rows were checkpointed: this test no longer shows the WAL trap";
  }

  absl::StatusOr<BackupSummary> backup = BackupStore(in_, dir_ + "/backup");
  ASSERT_TRUE(backup.ok()) << backup.status();

  SQLite::Database copy(dir_ + "/backup/node.db", SQLite::OPEN_READONLY);
  EXPECT_EQ(copy.execAndGet("SELECT COUNT(*) FROM task_log").getInt(), 50);
  EXPECT_EQ(copy.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_GE(backup->rows, 50);
  EXPECT_GE(backup->tables, 9);
  // The node keeps writing after the backup; the store is untouched by it.
  (*store)->db().exec("INSERT INTO task_log VALUES('after', 'k', 'uploaded', 1, 2, '')");
  EXPECT_EQ((*store)->db().execAndGet("SELECT COUNT(*) FROM task_log").getInt(), 51);
}

TEST_F(StoreBackupTest, TheSecretIsCopiedByteForByteAndEverythingIsOwnerOnlyWithAManifest) {
  ASSERT_TRUE(NodeStore::Open(in_.store).ok());
  absl::StatusOr<BackupSummary> backup = BackupStore(in_, dir_ + "/backup");
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(*ReadFileToString(dir_ + "/backup/site.secret"), *ReadFileToString(in_.secret));
  EXPECT_EQ(*ReadFileToString(dir_ + "/backup/site.json"), *ReadFileToString(in_.site_file));
  EXPECT_EQ(Mode(dir_ + "/backup"), 0700);
  for (const char* f : {"node.db", "site.secret", "site.json", "MANIFEST.txt"}) {
    EXPECT_EQ(Mode(dir_ + "/backup/" + f), 0600) << f;
  }
  ASSERT_EQ(backup->files.size(), 3u);
  const std::string manifest = *ReadFileToString(dir_ + "/backup/MANIFEST.txt");
  for (const BackupFile& f : backup->files) {
    EXPECT_EQ(f.sha256.size(), 64u);
    EXPECT_NE(manifest.find(f.sha256 + "  " + f.name), std::string::npos) << manifest;
  }
  EXPECT_NE(manifest.find("To restore: stop the node"), std::string::npos);
  EXPECT_NE(DescribeBackup(*backup).find("integrity check ok"), std::string::npos);
}

TEST_F(StoreBackupTest, NeverOverwritesAnotherBackup) {
  ASSERT_TRUE(NodeStore::Open(in_.store).ok());
  ASSERT_TRUE(BackupStore(in_, dir_ + "/backup").ok());
  const std::string before = *ReadFileToString(dir_ + "/backup/MANIFEST.txt");
  absl::StatusOr<BackupSummary> again = BackupStore(in_, dir_ + "/backup");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("not empty"), std::string::npos) << again.status();
  EXPECT_EQ(*ReadFileToString(dir_ + "/backup/MANIFEST.txt"), before);  // untouched
  fs::create_directories(dir_ + "/empty");                              // an empty folder is fine
  EXPECT_TRUE(BackupStore(in_, dir_ + "/empty").ok());
}

TEST_F(StoreBackupTest, AMissingStoreOrSecretSaysWhichAndLeavesNoHalfBackup) {
  absl::StatusOr<BackupSummary> no_store = BackupStore(in_, dir_ + "/b1");
  ASSERT_FALSE(no_store.ok());
  EXPECT_NE(no_store.status().message().find(in_.store), std::string::npos) << no_store.status();
  EXPECT_FALSE(fs::exists(dir_ + "/b1"));

  ASSERT_TRUE(NodeStore::Open(in_.store).ok());
  fs::remove(in_.secret);
  absl::StatusOr<BackupSummary> no_secret = BackupStore(in_, dir_ + "/b2");
  ASSERT_FALSE(no_secret.ok());
  EXPECT_NE(no_secret.status().message().find(in_.secret), std::string::npos) << no_secret.status();
  EXPECT_FALSE(fs::exists(dir_ + "/b2"));
}

}  // namespace
}  // namespace scancov::node
