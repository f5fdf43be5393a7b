#include "aggregator/server/audit_log.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/audit.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

v1::AuditEntry Entry(const std::string& action, const std::string& task) {
  v1::AuditEntry e;
  e.set_at_unix(1700000000);
  e.set_actor_role("coordinator");
  e.set_actor_id("alice");
  e.set_action(action);
  e.set_study_id("s");
  if (!task.empty()) e.add_task_ids(task);
  return e;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<SQLite::Database>(":memory:",
                                             SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    log_ = std::move(*AuditLog::Open(db_.get()));
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(log_->Append(Entry("task_issued", "s/r" + std::to_string(i) + "/kb")).ok());
    }
  }
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AppendsChainAndVerify) {
  auto all = log_->Read(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().seq(), 1);
  EXPECT_EQ(all->front().prev_hash(), protocol::kAuditGenesis);
  EXPECT_EQ(all->at(3).task_ids(0), "s/r3/kb");
  EXPECT_TRUE(protocol::VerifyAuditChain(*all, protocol::kAuditGenesis).ok());
  EXPECT_TRUE(log_->Verify().ok());
  auto head = log_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->first, 5);
  EXPECT_EQ(head->second, all->back().hash());
  EXPECT_EQ(log_->Read(3, 100)->size(), 2u);
}

TEST_F(AuditLogTest, SqlCannotChangeOrDeleteAnEntry) {
  EXPECT_THROW(db_->exec("UPDATE audit SET actor_id = 'mallory' WHERE seq = 2"), SQLite::Exception);
  EXPECT_THROW(db_->exec("DELETE FROM audit WHERE seq = 5"), SQLite::Exception);
  EXPECT_TRUE(log_->Verify().ok());
}

TEST_F(AuditLogTest, ARowChangedAroundTheTriggersIsDetected) {
  // An operator with the database file can drop the triggers; the chain still tells.
  db_->exec("DROP TRIGGER audit_no_update");
  db_->exec("UPDATE audit SET actor_id = 'mallory' WHERE seq = 2");
  const absl::Status s = log_->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit entry 2"));
}

TEST_F(AuditLogTest, ARemovedRowIsDetected) {
  db_->exec("DROP TRIGGER audit_no_delete");
  db_->exec("DELETE FROM audit WHERE seq = 3");
  EXPECT_EQ(log_->Verify().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace scancov::aggregator
