// TrustStore: what the aggregator knows of the parties' standing, beside the federation's
// state: the sites' decisions on each study (node/approvals.h on their side), and identities
// disabled by a coordinator or the operator (coordinators included; sites are also disabled
// through their site record, as before).
//
// Storage: tables `site_decisions` and `identities` in the aggregator's database, in the
// connection's transactions.
// Thread safety: none; the Federation calls it under its mutex.
#ifndef SCANCOV_AGGREGATOR_SERVER_TRUST_STORE_H_
#define SCANCOV_AGGREGATOR_SERVER_TRUST_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace SQLite {
class Database;
}

namespace scancov::aggregator {

class TrustStore {
 public:
  // `db` must outlive the store; creates the tables if absent.
  static absl::StatusOr<std::unique_ptr<TrustStore>> Open(SQLite::Database* db);

  // The site's latest decision on the study replaces its earlier one.
  absl::Status PutDecision(const std::string& site_id, const v1::StudyDecision& decision,
                           int64_t received_unix);
  absl::StatusOr<std::optional<v1::StudyDecision>> GetDecision(const std::string& study_id,
                                                               const std::string& site_id) const;
  // Every site's decision on the study, by site id.
  absl::StatusOr<std::vector<v1::SiteDecision>> Decisions(const std::string& study_id) const;

  absl::Status SetIdentityEnabled(const std::string& role, const std::string& id, bool enabled,
                                  const std::string& reason, int64_t now_unix);
  // True unless the identity was disabled (an identity never recorded is enabled).
  absl::StatusOr<bool> IdentityEnabled(const std::string& role, const std::string& id) const;

 private:
  explicit TrustStore(SQLite::Database* db) : db_(db) {}
  SQLite::Database* db_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_TRUST_STORE_H_
