// TercileBudget: what a node remembers of the terciles rounds it answered, per study, so that
// a coordinator cannot use them to read one variable's distribution.
//
// A terciles round (node/federated_logistic.h) counts the fit's rows with x'beta <= each of up
// to 256 candidates. With beta = e_j (one coefficient 1, the others 0) and a fresh grid every
// round, enough rounds would give variable j's empirical distribution at that grid. The study
// needs few rounds (aggregator/studies/tercile_rounds.h: usually 4) and one beta: the fitted
// model's.
// So a node answers at most kMaxRoundsPerStudy terciles rounds per study id, all with the same
// beta; each answered round is recorded with the SHA-256 of its beta and of its candidates,
// and a round asked again (a retried task) is answered again only with the same candidates.
// Admit is called before anything is counted, and records the round before the answer leaves.
//
// What this cannot bound: the number of studies (a coordinator creating many studies gets a
// budget for each); that is the site's approval of studies, as for every other analysis.
//
// Storage: in memory (tests), or table `tercile_rounds(study_id, round, beta_sha256,
// candidates_sha256)` in the node's store (node/store/node_store.h), so a restart forgets nothing.
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_TERCILE_BUDGET_H_
#define SCANCOV_NODE_TERCILE_BUDGET_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "node/store/node_store.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::node {

class TercileBudget {
 public:
  // The same bound as the aggregator's search (protocol/wire/logistic_regression.h).
  static constexpr int kMaxRoundsPerStudy = wire::kMaxTercileRounds;

  // In memory only.
  TercileBudget() = default;
  // Persistent in `store`, which must outlive the budget.
  explicit TercileBudget(NodeStore* store) : store_(store) {}

  // OK, and recorded, when round `round` of `study_id` may be answered for `beta` and
  // `candidates`: a round already answered with the same beta and candidates, or a new round
  // with the beta of every earlier round while fewer than kMaxRoundsPerStudy were answered.
  // PermissionDenied otherwise (the reason names the rule, never a value).
  absl::Status Admit(const std::string& study_id, uint32_t round, const std::vector<double>& beta,
                     const std::vector<double>& candidates);

 private:
  struct Answered {
    std::string beta_sha256, candidates_sha256;
  };
  absl::StatusOr<std::map<uint32_t, Answered>> Load(const std::string& study_id) const;
  absl::Status Record(const std::string& study_id, uint32_t round, const Answered& a);

  NodeStore* store_ = nullptr;                                     // null: in memory
  std::map<std::string, std::map<uint32_t, Answered>> in_memory_;  // by study id, then round
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TERCILE_BUDGET_H_
