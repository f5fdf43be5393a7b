#include "privacy/dp/dp_ledger.h"

#include <SQLiteCpp/Database.h>

#include "gtest/gtest.h"
#include "privacy/dp/dp_budget.h"

namespace scancov::privacy::dp {
namespace {

TEST(DpLedgerTest, ReleasesAreKeptAndAddUpToTheSpentBudget) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ASSERT_TRUE(DpLedger::CreateSchema(db).ok());
  DpLedger ledger(db);
  for (int round = 1; round <= 3; ++round) {
    DpSpend s{0, 1700000000 + round, "s1", "t" + std::to_string(round), "site", {1.0, 0.55, 1}};
    ASSERT_TRUE(ledger.Record(s).ok());
  }
  auto events = ledger.Events();
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  // Three releases at noise multiplier 0.55 are one event of three steps, to the accountant.
  RdpAccountant a, b;
  ASSERT_TRUE(a.ComposeAll(*events).ok());
  ASSERT_TRUE(b.Compose({1.0, 0.55, 3}).ok());
  EXPECT_DOUBLE_EQ(a.GetEpsilon(1e-5, Conversion::kImproved)->epsilon,
                   b.GetEpsilon(1e-5, Conversion::kImproved)->epsilon);
  auto list = ledger.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[2].task_id, "t3");
  EXPECT_EQ((*list)[2].mode, "site");
}

TEST(DpLedgerTest, AnEventTheAccountantRefusesIsNotRecorded) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ASSERT_TRUE(DpLedger::CreateSchema(db).ok());
  DpLedger ledger(db);
  EXPECT_EQ(ledger.Record({0, 1, "s1", "t1", "site", {1.0, -1.0, 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ledger.List()->empty());
}

}  // namespace
}  // namespace scancov::privacy::dp
