// Test-only helpers for node/clinical tests: a fresh node store file per test and a
// fixed-secret pseudonymizer.
#ifndef SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_
#define SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_

#include <filesystem>
#include <memory>
#include <string>

#include "core/sqlite/sqlite.h"
#include "gtest/gtest.h"
#include "node/store/node_store.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node::testing_util {

// A NodeStore in a fresh file, removed with its folder at the end of the test.
class TempStore {
 public:
  explicit TempStore(const std::string& name)
      : dir_(::testing::TempDir() + "/clinical_" + name), path_(dir_ + "/node.db") {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Open();
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  NodeStore& store() { return *store_; }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  void Close() { store_.reset(); }
  void Open() {
    absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

 private:
  std::string dir_;
  std::string path_;
  std::unique_ptr<NodeStore> store_;
};

inline privacy::Pseudonymizer TestPseudonymizer() {
  return privacy::Pseudonymizer::FromSecret(std::string(32, 'k'));
}

}  // namespace scancov::node::testing_util

#endif  // SCANCOV_NODE_CLINICAL_TESTING_UTIL_H_
