#include "aggregator/server/trust_store.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS site_decisions(
  study_id TEXT NOT NULL, site_id TEXT NOT NULL, spec_sha256 TEXT NOT NULL,
  state INTEGER NOT NULL, decided_by TEXT NOT NULL, reason TEXT NOT NULL,
  decided_unix INTEGER NOT NULL, received_unix INTEGER NOT NULL,
  PRIMARY KEY(study_id, site_id));
CREATE TABLE IF NOT EXISTS identities(
  role TEXT NOT NULL, id TEXT NOT NULL, enabled INTEGER NOT NULL, reason TEXT NOT NULL,
  changed_unix INTEGER NOT NULL, PRIMARY KEY(role, id));
)sql";

template <typename Fn>
auto Guard(const char* what, Fn&& body) -> decltype(body()) {
  return sqlite::Guard(absl::StrCat("trust store: ", what), std::forward<Fn>(body));
}

constexpr char kDecisionColumns[] =
    "study_id, site_id, spec_sha256, state, decided_by, reason, decided_unix, received_unix";

v1::SiteDecision ReadDecision(SQLite::Statement& q) {
  v1::SiteDecision d;
  d.mutable_decision()->set_study_id(q.getColumn(0).getString());
  d.set_site_id(q.getColumn(1).getString());
  d.mutable_decision()->set_spec_sha256(q.getColumn(2).getString());
  d.mutable_decision()->set_state(static_cast<v1::DecisionState>(q.getColumn(3).getInt()));
  d.mutable_decision()->set_decided_by(q.getColumn(4).getString());
  d.mutable_decision()->set_reason(q.getColumn(5).getString());
  d.mutable_decision()->set_decided_unix(q.getColumn(6).getInt64());
  d.set_received_unix(q.getColumn(7).getInt64());
  return d;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrustStore>> TrustStore::Open(SQLite::Database* db) {
  SCV_RETURN_IF_ERROR(Guard("open", [&]() -> absl::Status {
    db->exec(kSchema);
    return absl::OkStatus();
  }));
  return std::unique_ptr<TrustStore>(new TrustStore(db));
}

absl::Status TrustStore::PutDecision(const std::string& site_id, const v1::StudyDecision& d,
                                     int64_t received_unix) {
  return Guard("put decision", [&]() -> absl::Status {
    SQLite::Statement q(*db_, absl::StrCat("INSERT OR REPLACE INTO site_decisions(",
                                           kDecisionColumns, ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
    q.bind(1, d.study_id());
    q.bind(2, site_id);
    q.bind(3, d.spec_sha256());
    q.bind(4, static_cast<int>(d.state()));
    q.bind(5, d.decided_by());
    q.bind(6, d.reason());
    q.bind(7, d.decided_unix());
    q.bind(8, received_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<v1::StudyDecision>> TrustStore::GetDecision(
    const std::string& study_id, const std::string& site_id) const {
  return Guard("get decision", [&]() -> absl::StatusOr<std::optional<v1::StudyDecision>> {
    SQLite::Statement q(*db_, absl::StrCat("SELECT ", kDecisionColumns,
                                           " FROM site_decisions WHERE study_id = ? AND "
                                           "site_id = ?"));
    q.bind(1, study_id);
    q.bind(2, site_id);
    if (!q.executeStep()) return std::optional<v1::StudyDecision>();
    return std::optional<v1::StudyDecision>(ReadDecision(q).decision());
  });
}

absl::StatusOr<std::vector<v1::SiteDecision>> TrustStore::Decisions(
    const std::string& study_id) const {
  return Guard("list decisions", [&]() -> absl::StatusOr<std::vector<v1::SiteDecision>> {
    SQLite::Statement q(*db_, absl::StrCat("SELECT ", kDecisionColumns,
                                           " FROM site_decisions WHERE study_id = ? ORDER BY "
                                           "site_id"));
    q.bind(1, study_id);
    std::vector<v1::SiteDecision> out;
    while (q.executeStep()) out.push_back(ReadDecision(q));
    return out;
  });
}

absl::Status TrustStore::SetIdentityEnabled(const std::string& role, const std::string& id,
                                            bool enabled, const std::string& reason,
                                            int64_t now_unix) {
  return Guard("set identity", [&]() -> absl::Status {
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO identities VALUES(?, ?, ?, ?, ?)");
    q.bind(1, role);
    q.bind(2, id);
    q.bind(3, enabled ? 1 : 0);
    q.bind(4, reason);
    q.bind(5, now_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> TrustStore::IdentityEnabled(const std::string& role,
                                                 const std::string& id) const {
  return Guard("get identity", [&]() -> absl::StatusOr<bool> {
    SQLite::Statement q(*db_, "SELECT enabled FROM identities WHERE role = ? AND id = ?");
    q.bind(1, role);
    q.bind(2, id);
    if (!q.executeStep()) return true;
    return q.getColumn(0).getInt() != 0;
  });
}

}  // namespace scancov::aggregator
