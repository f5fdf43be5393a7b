#include "protocol/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace scancov::protocol {
namespace {

using ::testing::HasSubstr;

std::vector<v1::AuditEntry> Chain(int n) {
  std::vector<v1::AuditEntry> out;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= n; ++i) {
    v1::AuditEntry e;
    e.set_seq(i);
    e.set_at_unix(1000 + i);
    e.set_actor_role("coordinator");
    e.set_actor_id("alice");
    e.set_action("create_study");
    e.set_study_id("s" + std::to_string(i));
    e.add_task_ids("s/r0/kb");
    e.set_prev_hash(prev);
    e.set_hash(AuditHash(e));
    prev = e.hash();
    out.push_back(e);
  }
  return out;
}

TEST(AuditChainTest, AnIntactChainVerifies) {
  EXPECT_TRUE(VerifyAuditChain(Chain(5), kAuditGenesis).ok());
  EXPECT_TRUE(VerifyAuditChain({}, kAuditGenesis).ok());
  EXPECT_EQ(AuditHash(Chain(1)[0]).size(), 64u);
}

TEST(AuditChainTest, EveryKindOfTamperingIsDetectedAtItsEntry) {
  std::vector<v1::AuditEntry> changed = Chain(5);
  changed[2].set_actor_id("mallory");  // a changed row
  EXPECT_THAT(VerifyAuditChain(changed, kAuditGenesis).message(),
              HasSubstr("audit entry 3: its content does not match"));

  std::vector<v1::AuditEntry> rehashed = Chain(5);
  rehashed[2].set_detail("nothing happened");  // changed and its own hash recomputed
  rehashed[2].set_hash(AuditHash(rehashed[2]));
  EXPECT_THAT(VerifyAuditChain(rehashed, kAuditGenesis).message(),
              HasSubstr("audit entry 4: does not chain"));

  std::vector<v1::AuditEntry> removed = Chain(5);
  removed.erase(removed.begin() + 1);
  EXPECT_THAT(VerifyAuditChain(removed, kAuditGenesis).message(), HasSubstr("expected entry 2"));

  std::vector<v1::AuditEntry> task = Chain(2);
  task[0].set_task_ids(0, "s/r0/igr");
  EXPECT_FALSE(VerifyAuditChain(task, kAuditGenesis).ok());
}

}  // namespace
}  // namespace scancov::protocol
