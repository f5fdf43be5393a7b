// What scancov-node prints about its store: counts, the ledger, the import summary.
#include "node/node_commands.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/clinical/clinical_store.h"
#include "node/imaging/imaging_store.h"
#include "node/store/node_store.h"
#include "node/task_log.h"
#include "privacy/egress_ledger.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node {
namespace {

constexpr char kCsv[] =
    "patient_id,age,sex,spo2\n"
    "P1,63,1,91\n"
    "P2,70,0,88\n";

TEST(NodeCommandsTest, ImportSummaryListsTheDialectSkippedRowsAndDroppedColumns) {
  ClinicalImportReport report;
  report.rows_read = 3;
  report.patients_imported = 2;
  report.rows_skipped = 1;
  report.row_errors = {"row 3: age: not a number"};
  report.dropped_columns = {"name"};
  report.notes = {"separator ';' detected from the header"};
  EXPECT_EQ(ClinicalImportSummaryText("adm.csv", report),
            "adm.csv: 3 rows read, 2 patients imported, 1 rows skipped\n"
            "  dialect: separator ';' detected from the header\n"
            "  skipped: row 3: age: not a number\n"
            "  identifier column dropped (never stored): name\n");
}

TEST(NodeCommandsTest, StatusCountsWhatTheStoreHoldsAndWhatLeft) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  NodeStore& db = **store;
  const auto pseudonymizer = privacy::Pseudonymizer::FromSecret(std::string(32, 'n'));
  absl::StatusOr<ClinicalImportReport> imported =
      ImportClinicalCsvText(db, pseudonymizer, "adm.csv", kCsv);
  ASSERT_TRUE(imported.ok()) << imported.status();
  CtSeriesRecord series;
  series.series_key = "s1";
  series.patient_key = pseudonymizer.Pseudonym("P1");
  ASSERT_TRUE(UpsertCtSeries(db, series).ok());
  privacy::EgressLedger ledger(db.db());
  privacy::EgressEntry sent;
  sent.created_unix = 1700000000;
  sent.destination = "agg:7443";
  sent.task_id = "t1";
  sent.kind = "result";
  sent.payload_bytes = 120;
  sent.summary_json = R"({"n": 2})";
  absl::StatusOr<int64_t> id = ledger.Record(sent);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(ledger.MarkOutcome(*id, "sent", "").ok());
  TaskLog log(db);
  ASSERT_TRUE(log.Upsert({"t1", "analysis", "uploaded", 1, 2, ""}).ok());

  absl::StatusOr<std::string> status = NodeStatusText(db, {"kb", "agg:7443", "/var/kb.db"});
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status,
            "site kb -> agg:7443\n"
            "store /var/kb.db: 2 patients, 1 CT series\n"
            "egress: 120 bytes sent in total (see `scancov-node ledger`)\n"
            "recent tasks:\n"
            "  t1\tanalysis\tuploaded\n");
  absl::StatusOr<std::string> entries = EgressLedgerText(db, 0);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries, "#" + std::to_string(*id) +
                          " 2023-11-14 22:13:20 result -> agg:7443 task=t1 state=sent bytes=120 "
                          "sha256=-\n    statistics: {\"n\": 2}\n");
  EXPECT_NE(status->find("2 patients"), std::string::npos);
  EXPECT_EQ(status->find("P1"), std::string::npos);  // pseudonyms only

  // The same for scripts.
  absl::StatusOr<std::string> status_json = NodeStatusJson(db, {"kb", "agg:7443", "/var/kb.db"});
  ASSERT_TRUE(status_json.ok()) << status_json.status();
  const nlohmann::json s = nlohmann::json::parse(*status_json);
  EXPECT_EQ(s.at("site_id"), "kb");
  EXPECT_EQ(s.at("patients"), 2);
  EXPECT_EQ(s.at("ct_series"), 1);
  EXPECT_EQ(s.at("egress_bytes"), 120);
  ASSERT_EQ(s.at("recent_tasks").size(), 1u);
  EXPECT_EQ(s.at("recent_tasks")[0].at("state"), "uploaded");
  EXPECT_EQ(status_json->find("P1"), std::string::npos);
  absl::StatusOr<std::string> ledger_json = EgressLedgerJson(db, 0);
  ASSERT_TRUE(ledger_json.ok()) << ledger_json.status();
  const nlohmann::json l = nlohmann::json::parse(*ledger_json);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].at("id"), *id);
  EXPECT_EQ(l[0].at("created_utc"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(l[0].at("state"), "sent");
  EXPECT_EQ(l[0].at("payload_bytes"), 120);
  EXPECT_TRUE(l[0].at("payload_sha256").is_null());
  EXPECT_EQ(l[0].at("statistics").at("n"), 2);  // the recorded JSON, not a string of it
  EXPECT_TRUE(l[0].at("tensors").is_null());
}

}  // namespace
}  // namespace scancov::node
