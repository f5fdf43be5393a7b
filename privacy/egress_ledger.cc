#include "privacy/egress_ledger.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "absl/strings/str_cat.h"

namespace scancov::privacy {
namespace {

template <typename Fn>
auto Guard(const char* what, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("egress ledger: ", what, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<EgressLedger>> EgressLedger::Open(SQLite::Database* db) {
  return Guard("open", [&]() -> absl::StatusOr<std::unique_ptr<EgressLedger>> {
    db->exec(
        "CREATE TABLE IF NOT EXISTS egress("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, created_unix INTEGER NOT NULL, "
        "destination TEXT NOT NULL, task_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "payload_bytes INTEGER NOT NULL, payload_sha256 TEXT NOT NULL, "
        "tensors_json TEXT NOT NULL, summary_json TEXT NOT NULL, state TEXT NOT NULL, "
        "detail TEXT NOT NULL)");
    return std::unique_ptr<EgressLedger>(new EgressLedger(db));
  });
}

absl::StatusOr<int64_t> EgressLedger::Record(const EgressEntry& e) {
  return Guard("record", [&]() -> absl::StatusOr<int64_t> {
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
  return Guard("mark outcome", [&]() -> absl::Status {
    SQLite::Statement q(*db_, "UPDATE egress SET state = ?, detail = ? WHERE id = ?");
    q.bind(1, state);
    q.bind(2, detail);
    q.bind(3, id);
    if (q.exec() != 1) return absl::NotFoundError(absl::StrCat("egress entry ", id, " not found"));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<EgressEntry>> EgressLedger::List(size_t limit) const {
  return Guard("list", [&]() -> absl::StatusOr<std::vector<EgressEntry>> {
    std::string sql =
        "SELECT id, created_unix, destination, task_id, kind, payload_bytes, payload_sha256, "
        "tensors_json, summary_json, state, detail FROM egress ORDER BY id";
    if (limit > 0) {
      sql = absl::StrCat("SELECT * FROM (", sql, " DESC LIMIT ", limit, ") ORDER BY id");
    }
    SQLite::Statement q(*db_, sql);
    std::vector<EgressEntry> out;
    while (q.executeStep()) {
      EgressEntry e;
      e.id = q.getColumn(0).getInt64();
      e.created_unix = q.getColumn(1).getInt64();
      e.destination = q.getColumn(2).getString();
      e.task_id = q.getColumn(3).getString();
      e.kind = q.getColumn(4).getString();
      e.payload_bytes = static_cast<uint64_t>(q.getColumn(5).getInt64());
      e.payload_sha256 = q.getColumn(6).getString();
      e.tensors_json = q.getColumn(7).getString();
      e.summary_json = q.getColumn(8).getString();
      e.state = q.getColumn(9).getString();
      e.detail = q.getColumn(10).getString();
      out.push_back(std::move(e));
    }
    return out;
  });
}

absl::StatusOr<uint64_t> EgressLedger::TotalSentBytes() const {
  return Guard("total", [&]() -> absl::StatusOr<uint64_t> {
    SQLite::Statement q(*db_,
                        "SELECT COALESCE(SUM(payload_bytes), 0) FROM egress WHERE state = 'sent'");
    q.executeStep();
    return static_cast<uint64_t>(q.getColumn(0).getInt64());
  });
}

}  // namespace scancov::privacy
