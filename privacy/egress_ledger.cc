#include "privacy/egress_ledger.h"

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"

namespace scancov::privacy {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS egress(
  id INTEGER PRIMARY KEY AUTOINCREMENT, created_unix INTEGER NOT NULL,
  destination TEXT NOT NULL, task_id TEXT NOT NULL, kind TEXT NOT NULL,
  payload_bytes INTEGER NOT NULL, payload_sha256 TEXT NOT NULL,
  tensors_json TEXT NOT NULL, summary_json TEXT NOT NULL, state TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

}  // namespace

absl::Status EgressLedger::CreateSchema(SQLite::Database& db) {
  return sqlite::Guard("egress ledger: create schema", [&] {
    db.exec(kSchema);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> EgressLedger::Record(const EgressEntry& e) {
  return sqlite::Guard("egress ledger: record", [&]() -> absl::StatusOr<int64_t> {
    SQLite::Statement q(*db_,
                        "INSERT INTO egress(created_unix, destination, task_id, kind, "
                        "payload_bytes, payload_sha256, tensors_json, summary_json, state, detail) "
                        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'pending', '')");
    q.bind(1, e.created_unix);
    q.bind(2, e.destination);
    q.bind(3, e.task_id);
    q.bind(4, e.kind);
    q.bind(5, static_cast<int64_t>(e.payload_bytes));
    q.bind(6, e.payload_sha256);
    q.bind(7, e.tensors_json);
    q.bind(8, e.summary_json);
    q.exec();
    return db_->getLastInsertRowid();
  });
}

absl::Status EgressLedger::MarkOutcome(int64_t id, const std::string& state,
                                       const std::string& detail) {
  return sqlite::Guard("egress ledger: mark outcome", [&]() -> absl::Status {
    SQLite::Statement q(*db_, "UPDATE egress SET state = ?, detail = ? WHERE id = ?");
    q.bind(1, state);
    q.bind(2, detail);
    q.bind(3, id);
    if (q.exec() != 1) return absl::NotFoundError(absl::StrCat("egress entry ", id, " not found"));
    return absl::OkStatus();
  });
}

absl::Status EgressLedger::Amend(int64_t id, uint64_t payload_bytes,
                                 const std::string& summary_json, const std::string& state,
                                 const std::string& detail) {
  return sqlite::Guard("egress ledger: amend", [&]() -> absl::Status {
    SQLite::Statement q(*db_,
                        "UPDATE egress SET payload_bytes = ?, summary_json = ?, state = ?, "
                        "detail = ? WHERE id = ?");
    q.bind(1, static_cast<int64_t>(payload_bytes));
    q.bind(2, summary_json);
    q.bind(3, state);
    q.bind(4, detail);
    q.bind(5, id);
    if (q.exec() != 1) return absl::NotFoundError(absl::StrCat("egress entry ", id, " not found"));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<EgressEntry>> EgressLedger::List(size_t limit) const {
  return sqlite::Guard("egress ledger: list", [&]() -> absl::StatusOr<std::vector<EgressEntry>> {
    std::string sql =
        "SELECT id, created_unix, destination, task_id, kind, payload_bytes, payload_sha256, "
        "tensors_json, summary_json, state, detail FROM egress ORDER BY id";
    if (limit > 0) {
      sql = absl::StrCat("SELECT * FROM (", sql, " DESC LIMIT ", limit, ") ORDER BY id");
    }
    SQLite::Statement q(*db_, sql);
    std::vector<EgressEntry> out;
    while (q.executeStep()) {
      sqlite::Row row(q);
      EgressEntry e;
      e.id = row.Int64();
      e.created_unix = row.Int64();
      e.destination = row.Text();
      e.task_id = row.Text();
      e.kind = row.Text();
      e.payload_bytes = row.Uint64();
      e.payload_sha256 = row.Text();
      e.tensors_json = row.Text();
      e.summary_json = row.Text();
      e.state = row.Text();
      e.detail = row.Text();
      out.push_back(std::move(e));
    }
    return out;
  });
}

absl::StatusOr<uint64_t> EgressLedger::TotalSentBytes() const {
  return sqlite::Guard("egress ledger: total", [&]() -> absl::StatusOr<uint64_t> {
    SQLite::Statement q(*db_,
                        "SELECT COALESCE(SUM(payload_bytes), 0) FROM egress WHERE state = 'sent'");
    q.executeStep();
    return sqlite::Row(q).Uint64();
  });
}

}  // namespace scancov::privacy
