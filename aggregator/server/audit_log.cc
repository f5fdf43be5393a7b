#include "aggregator/server/audit_log.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "protocol/audit.h"

namespace scancov::aggregator {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY, at_unix INTEGER NOT NULL, actor_role TEXT NOT NULL,
  actor_id TEXT NOT NULL, action TEXT NOT NULL, study_id TEXT NOT NULL, site_id TEXT NOT NULL,
  task_ids TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

template <typename Fn>
auto Guard(const char* what, Fn&& body) -> decltype(body()) {
  return sqlite::Guard(absl::StrCat("audit log: ", what), std::forward<Fn>(body));
}

v1::AuditEntry ReadEntry(SQLite::Statement& q) {
  v1::AuditEntry e;
  e.set_seq(q.getColumn(0).getInt64());
  e.set_at_unix(q.getColumn(1).getInt64());
  e.set_actor_role(q.getColumn(2).getString());
  e.set_actor_id(q.getColumn(3).getString());
  e.set_action(q.getColumn(4).getString());
  e.set_study_id(q.getColumn(5).getString());
  e.set_site_id(q.getColumn(6).getString());
  const nlohmann::json ids = nlohmann::json::parse(q.getColumn(7).getString(), nullptr, false);
  if (ids.is_array()) {
    for (const nlohmann::json& id : ids) {
      if (id.is_string()) e.add_task_ids(id.get<std::string>());
    }
  }
  e.set_detail(q.getColumn(8).getString());
  e.set_prev_hash(q.getColumn(9).getString());
  e.set_hash(q.getColumn(10).getString());
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(SQLite::Database* db) {
  SCV_RETURN_IF_ERROR(Guard("open", [&]() -> absl::Status {
    db->exec(kSchema);
    return absl::OkStatus();
  }));
  return std::unique_ptr<AuditLog>(new AuditLog(db));
}

absl::StatusOr<std::pair<int64_t, std::string>> AuditLog::Head() const {
  return Guard("head", [&]() -> absl::StatusOr<std::pair<int64_t, std::string>> {
    SQLite::Statement q(*db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!q.executeStep()) return std::make_pair(int64_t{0}, std::string(protocol::kAuditGenesis));
    return std::make_pair(q.getColumn(0).getInt64(), q.getColumn(1).getString());
  });
}

absl::StatusOr<v1::AuditEntry> AuditLog::Append(v1::AuditEntry entry) {
  SCV_ASSIGN_OR_RETURN(const auto head, Head());
  entry.set_seq(head.first + 1);
  entry.set_prev_hash(head.second);
  entry.set_hash(protocol::AuditHash(entry));
  return Guard("append", [&]() -> absl::StatusOr<v1::AuditEntry> {
    SQLite::Statement q(*db_, "INSERT INTO audit VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, entry.seq());
    q.bind(2, entry.at_unix());
    q.bind(3, entry.actor_role());
    q.bind(4, entry.actor_id());
    q.bind(5, entry.action());
    q.bind(6, entry.study_id());
    q.bind(7, entry.site_id());
    q.bind(8, nlohmann::json(
                  std::vector<std::string>(entry.task_ids().begin(), entry.task_ids().end()))
                  .dump());
    q.bind(9, entry.detail());
    q.bind(10, entry.prev_hash());
    q.bind(11, entry.hash());
    q.exec();
    return entry;
  });
}

absl::StatusOr<std::vector<v1::AuditEntry>> AuditLog::Read(int64_t after_seq, size_t limit) const {
  return Guard("read", [&]() -> absl::StatusOr<std::vector<v1::AuditEntry>> {
    SQLite::Statement q(*db_, "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, after_seq);
    q.bind(2, static_cast<int64_t>(limit));
    std::vector<v1::AuditEntry> out;
    while (q.executeStep()) out.push_back(ReadEntry(q));
    return out;
  });
}

absl::Status AuditLog::Verify() const {
  std::string prev = protocol::kAuditGenesis;
  int64_t after = 0;
  while (true) {
    SCV_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> page, Read(after, 10000));
    if (page.empty()) return absl::OkStatus();
    if (page.front().seq() != after + 1) {
      return absl::DataLossError(absl::StrCat("audit entry ", after + 1, ": missing"));
    }
    SCV_RETURN_IF_ERROR(protocol::VerifyAuditChain(page, prev));
    prev = page.back().hash();
    after = page.back().seq();
  }
}

}  // namespace scancov::aggregator
