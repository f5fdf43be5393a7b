// What scancov-node prints about its store: counts, the ledger, the import summary.
#include "node/node_commands.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "node/clinical/clinical_store.h"
#include "node/control_egress.h"
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

// The node's own messages read as what they are: a registration's fields, a task's heartbeats
// in words (count, bytes, times, the stage texts), with each entry's detail.
TEST(NodeCommandsTest, TheLedgerShowsRegistrationsAndHeartbeatsReadably) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  NodeStore& db = **store;
  privacy::EgressLedger ledger(db.db());
  v1::RegisterRequest request;
  request.set_protocol_version(v1::PROTOCOL_VERSION_2);
  request.set_node_version("0.4.0");
  request.set_device("cpu");
  privacy::EgressEntry reg;
  reg.created_unix = 1700000000;
  reg.destination = "agg:7443";
  reg.kind = kRegisterEntry;
  reg.payload_bytes = request.ByteSizeLong();
  reg.summary_json = *RegisterSummaryJson(request);
  absl::StatusOr<int64_t> reg_id = ledger.Record(reg);
  ASSERT_TRUE(reg_id.ok());
  ASSERT_TRUE(ledger.MarkOutcome(*reg_id, "sent", "registered as site 'kb'").ok());
  HeartbeatTally tally;
  v1::HeartbeatRequest beat;
  beat.set_task_id("s/r1/kb");
  beat.set_stage("training");
  tally.Add(beat, absl::FromUnixSeconds(1700000010), true);
  beat.set_stage("training epoch 2/5, ETA 3m");
  beat.set_progress(0.2);
  tally.Add(beat, absl::FromUnixSeconds(1700000040), true);
  const HeartbeatSummary summary = tally.Summary();
  privacy::EgressEntry beats;
  beats.created_unix = 1700000010;
  beats.destination = "agg:7443";
  beats.task_id = "s/r1/kb";
  beats.kind = kHeartbeatEntry;
  beats.summary_json = HeartbeatSummaryJson({}, absl::Seconds(30));
  absl::StatusOr<int64_t> beats_id = ledger.Record(beats);
  ASSERT_TRUE(beats_id.ok());
  ASSERT_TRUE(ledger
                  .Amend(*beats_id, summary.bytes, HeartbeatSummaryJson(summary, absl::Seconds(30)),
                         HeartbeatState(summary), HeartbeatDetail(summary))
                  .ok());

  absl::StatusOr<std::string> text = EgressLedgerText(db, 0);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            absl::StrCat(
                "#", *reg_id, " 2023-11-14 22:13:20 register -> agg:7443 task=- state=sent bytes=",
                request.ByteSizeLong(),
                " sha256=-\n    fields: device=cpu node_version=0.4.0 "
                "protocol_version=PROTOCOL_VERSION_2 (the site id travels in the certificate, not "
                "as a field)\n    detail: registered as site 'kb'\n",
                "#", *beats_id,
                " 2023-11-14 22:13:30 heartbeat -> agg:7443 task=s/r1/kb state=sent bytes=",
                summary.bytes, " sha256=-\n    heartbeats: 2 beats (0 answered by an error), ",
                summary.bytes,
                " bytes, every 30 s, 2023-11-14 22:13:30 to 2023-11-14 22:14:00 UTC; fields "
                "task_id, stage, progress; stages: \"training\", \"training epoch 2/5, ETA 3m\"; "
                "progress: 0.0, 0.2\n    detail: 2 of 2 beats answered\n"));

  absl::StatusOr<std::string> json = EgressLedgerJson(db, 0);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json l = nlohmann::json::parse(*json);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].at("kind"), "register");
  EXPECT_EQ(l[0].at("statistics").at("node_version"), "0.4.0");
  EXPECT_EQ(l[0].at("statistics").at("protocol_version"), "PROTOCOL_VERSION_2");
  EXPECT_EQ(l[1].at("kind"), "heartbeat");
  EXPECT_EQ(l[1].at("state"), "sent");
  EXPECT_EQ(l[1].at("payload_bytes"), summary.bytes);
  EXPECT_EQ(l[1].at("statistics").at("beats"), 2);
  EXPECT_EQ(l[1].at("statistics").at("stages"),
            (nlohmann::json{"training", "training epoch 2/5, ETA 3m"}));
  EXPECT_EQ(l[1].at("detail"), "2 of 2 beats answered");
}

}  // namespace
}  // namespace scancov::node
