// DpLedger: the site's record of every differentially private release, from which its spent
// privacy budget is computed (dp_budget.h). One row per release, written before the release may
// leave the node (like the egress ledger, it can only over-count: a release recorded and then
// never sent still counts).
//
// Stored in the node's SQLite database, table `dp_spend` (CreateSchema; the node's store calls
// it when it opens):
//   dp_spend(id PK, created_unix, study_id, task_id, mode, sample_rate, noise_multiplier, steps)
// where noise_multiplier is what the accountant sees (e.g. sigma / 2 for mode "site", see
// PlanForStudy).
//
// Thread safety: not thread-safe; one node agent owns it.
#ifndef SCANCOV_PRIVACY_DP_DP_LEDGER_H_
#define SCANCOV_PRIVACY_DP_DP_LEDGER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "privacy/dp/rdp_accountant.h"

namespace SQLite {
class Database;
}

namespace scancov::privacy::dp {

struct DpSpend {
  int64_t id = 0;
  int64_t created_unix = 0;
  std::string study_id;
  std::string task_id;
  std::string mode;  // DpModeName
  DpEvent event;
};

class DpLedger {
 public:
  // Creates table `dp_spend` if absent.
  static absl::Status CreateSchema(SQLite::Database& db);

  // `db` holds table `dp_spend` and must outlive the ledger.
  explicit DpLedger(SQLite::Database& db) : db_(&db) {}

  // Records one release; returns its id. InvalidArgument for an event the accountant refuses.
  absl::StatusOr<int64_t> Record(const DpSpend& spend);
  // Every release, oldest first.
  absl::StatusOr<std::vector<DpSpend>> List() const;
  // Their accountant events (the site's spent budget).
  absl::StatusOr<std::vector<DpEvent>> Events() const;

 private:
  SQLite::Database* db_;
};

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_DP_LEDGER_H_
