// CohortGuard: the site's memory of which patients each study's numbers were computed from, so
// that no two studies can be differenced down to a few patients, and the site's budget of
// studies and rounds over the same variables.
//
// The attack it closes: two studies whose cohorts differ by one patient (one with and one
// without a variable that patient lacks, two holdout fractions, data imported between them)
// release sums whose difference is that patient's values. The gate (node/gate.h) asks the guard
// about every set of rows it hands a task: the rows themselves and the complete cases over the
// variables read. A set is refused when it differs from a set of another study by at least one
// and fewer than the minimum count of patients; an identical set (the same cohort again) passes.
//
// The budget: each (variables, outcome) signature may be read by at most `max_studies` studies
// and `max_rounds` tasks; the steward sees the use with `scancov-node budget`.
//
// The tables are cohort_reads and cohort_sets (node/store/node_schema.cc). Members are stored as
// truncated SHA-256 digests of the site's pseudonymous keys, never the keys themselves; nothing
// here leaves the node.
//
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_COHORT_GUARD_H_
#define SCANCOV_NODE_COHORT_GUARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace scancov::node {

class NodeStore;

struct CohortLimits {
  int64_t min_count = 10;     // the site's minimum count
  int64_t max_studies = 25;   // studies per (variables, outcome) signature
  int64_t max_rounds = 2000;  // tasks per signature
};

struct CohortRead {
  std::string study_id;
  std::string task_id;
  std::vector<std::string> variables;  // what the task read
  std::string outcome;
  std::vector<std::vector<std::string>> cohorts;  // the key sets its numbers may come from
};

struct BudgetUse {
  std::string variables;  // comma-separated, sorted
  std::string outcome;
  int64_t studies = 0;
  int64_t rounds = 0;
};

class CohortGuard {
 public:
  // `store` must outlive the guard; its tables are created by the node schema.
  explicit CohortGuard(NodeStore* store) : store_(store) {}

  // OK and recorded, or PermissionDenied with a failure code (protocol/failure_code.h):
  // cohort_difference min=<n>, or study_budget studies=<max> / rounds=<max>. The message names
  // the rule, never a patient.
  absl::Status Admit(const CohortRead& read, const CohortLimits& limits);

  // The budget used so far, per signature.
  absl::StatusOr<std::vector<BudgetUse>> Use() const;

 private:
  NodeStore* store_;
};

// The number of members in one sorted set and not the other.
int64_t SymmetricDifference(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_COHORT_GUARD_H_
