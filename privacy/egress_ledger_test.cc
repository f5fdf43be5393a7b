#include "privacy/egress_ledger.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "gtest/gtest.h"

namespace scancov::privacy {
namespace {

TEST(EgressLedgerTest, RecordsMarksAndTotals) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  auto ledger = EgressLedger::Open(&db);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EgressEntry e;
  e.destination = "agg:7443";
  e.task_id = "s/r1/kb";
  e.kind = "result";
  e.payload_bytes = 1000;
  e.summary_json = R"({"num_samples": 10})";
  auto first = (*ledger)->Record(e);
  ASSERT_TRUE(first.ok());
  e.payload_bytes = 500;
  auto second = (*ledger)->Record(e);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*ledger)->MarkOutcome(*first, "sent", "accepted").ok());
  ASSERT_TRUE((*ledger)->MarkOutcome(*second, "failed", "UNAVAILABLE").ok());
  EXPECT_EQ((*ledger)->MarkOutcome(999, "sent", "").code(), absl::StatusCode::kNotFound);
  auto all = (*ledger)->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).state, "sent");
  EXPECT_EQ(all->at(1).state, "failed");
  EXPECT_EQ(*(*ledger)->TotalSentBytes(), 1000u);
  auto last = (*ledger)->List(1);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->at(0).id, *second);
}

}  // namespace
}  // namespace scancov::privacy
