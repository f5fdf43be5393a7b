// Test-only helpers for node/clinical tests: a fresh SQLite file per test and a fixed-secret
// pseudonymizer.
#ifndef SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_
#define SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_

#include <filesystem>
#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "gtest/gtest.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node::testing_util {

class TempDb {
 public:
  explicit TempDb(const std::string& name)
      : dir_(::testing::TempDir() + "/clinical_" + name), path_(dir_ + "/node.db") {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Open();
  }
  ~TempDb() {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  SQLite::Database& db() { return *db_; }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  void Close() { db_.reset(); }
  void Open() {
    db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  }

 private:
  std::string dir_;
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

inline privacy::Pseudonymizer TestPseudonymizer() {
  return privacy::Pseudonymizer::FromSecret(std::string(32, 'k'));
}

}  // namespace scancov::node::testing_util

#endif  // SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_
