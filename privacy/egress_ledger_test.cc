#include "privacy/egress_ledger.h"

#include "core/sqlite/sqlite.h"
#include "gtest/gtest.h"

namespace scancov::privacy {
namespace {

TEST(EgressLedgerTest, RecordsMarksAndTotals) {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = sqlite::Open(sqlite::kInMemory);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(EgressLedger::CreateSchema(**db).ok());
  ASSERT_TRUE(EgressLedger::CreateSchema(**db).ok());  // idempotent
  auto ledger = std::make_unique<EgressLedger>(**db);
  EgressEntry e;
  e.destination = "agg:7443";
  e.task_id = "s/r1/kb";
  e.kind = "result";
  e.payload_bytes = 1000;
  e.summary_json = R"({"num_samples": 10})";
  auto first = ledger->Record(e);
  ASSERT_TRUE(first.ok());
  e.payload_bytes = 500;
  auto second = ledger->Record(e);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(ledger->MarkOutcome(*first, "sent", "accepted").ok());
  ASSERT_TRUE(ledger->MarkOutcome(*second, "failed", "UNAVAILABLE").ok());
  EXPECT_EQ(ledger->MarkOutcome(999, "sent", "").code(), absl::StatusCode::kNotFound);
  auto all = ledger->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).state, "sent");
  EXPECT_EQ(all->at(1).state, "failed");
  EXPECT_EQ(*ledger->TotalSentBytes(), 1000u);
  auto last = ledger->List(1);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->at(0).id, *second);
}

// A heartbeat entry is recorded before the first beat and amended with their sum at the end.
TEST(EgressLedgerTest, AmendRewritesBytesSummaryAndOutcome) {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = sqlite::Open(sqlite::kInMemory);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(EgressLedger::CreateSchema(**db).ok());
  EgressLedger ledger(**db);
  EgressEntry e;
  e.task_id = "s/r1/kb";
  e.kind = "heartbeat";
  e.summary_json = R"({"beats": 0})";
  absl::StatusOr<int64_t> id = ledger.Record(e);
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(ledger.Amend(*id, 84, R"({"beats": 3})", "sent", "3 answered").ok());
  absl::StatusOr<std::vector<EgressEntry>> all = ledger.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).payload_bytes, 84u);
  EXPECT_EQ(all->at(0).summary_json, R"({"beats": 3})");
  EXPECT_EQ(all->at(0).state, "sent");
  EXPECT_EQ(all->at(0).detail, "3 answered");
  EXPECT_EQ(*ledger.TotalSentBytes(), 84u);
  EXPECT_EQ(ledger.Amend(999, 1, "{}", "sent", "").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::privacy
