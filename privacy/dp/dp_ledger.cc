#include "privacy/dp/dp_ledger.h"

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS dp_spend(
  id INTEGER PRIMARY KEY AUTOINCREMENT, created_unix INTEGER NOT NULL,
  study_id TEXT NOT NULL, task_id TEXT NOT NULL, mode TEXT NOT NULL,
  sample_rate REAL NOT NULL, noise_multiplier REAL NOT NULL, steps INTEGER NOT NULL);
)sql";

}  // namespace

absl::Status DpLedger::CreateSchema(SQLite::Database& db) {
  return sqlite::Guard("dp ledger: create schema", [&] {
    db.exec(kSchema);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> DpLedger::Record(const DpSpend& s) {
  // The accountant's own checks: a row it would refuse later would make the budget unreadable.
  RdpAccountant probe;
  if (absl::Status valid = probe.Compose(s.event); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp ledger: task '", s.task_id, "': ", valid.message()));
  }
  return sqlite::Guard("dp ledger: record", [&]() -> absl::StatusOr<int64_t> {
    SQLite::Statement q(*db_,
                        "INSERT INTO dp_spend(created_unix, study_id, task_id, mode, sample_rate, "
                        "noise_multiplier, steps) VALUES(?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, s.created_unix);
    q.bind(2, s.study_id);
    q.bind(3, s.task_id);
    q.bind(4, s.mode);
    q.bind(5, s.event.sample_rate);
    q.bind(6, s.event.noise_multiplier);
    q.bind(7, s.event.steps);
    q.exec();
    return db_->getLastInsertRowid();
  });
}

absl::StatusOr<std::vector<DpSpend>> DpLedger::List() const {
  return sqlite::Guard("dp ledger: list", [&]() -> absl::StatusOr<std::vector<DpSpend>> {
    SQLite::Statement q(*db_,
                        "SELECT id, created_unix, study_id, task_id, mode, sample_rate, "
                        "noise_multiplier, steps FROM dp_spend ORDER BY id");
    std::vector<DpSpend> out;
    while (q.executeStep()) {
      sqlite::Row row(q);
      DpSpend s;
      s.id = row.Int64();
      s.created_unix = row.Int64();
      s.study_id = row.Text();
      s.task_id = row.Text();
      s.mode = row.Text();
      s.event.sample_rate = row.Double();
      s.event.noise_multiplier = row.Double();
      s.event.steps = row.Int64();
      out.push_back(std::move(s));
    }
    return out;
  });
}

absl::StatusOr<std::vector<DpEvent>> DpLedger::Events() const {
  SCV_ASSIGN_OR_RETURN(std::vector<DpSpend> spends, List());
  std::vector<DpEvent> events;
  events.reserve(spends.size());
  for (const DpSpend& s : spends) events.push_back(s.event);
  return events;
}

}  // namespace scancov::privacy::dp
