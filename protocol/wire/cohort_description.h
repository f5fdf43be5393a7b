// The cohort_description kind on the wire: the medical "Table 1" of a federated cohort. Each
// site describes the patients whose study outcome is known: counts, means and SDs of continuous
// variables, counts per level of binary, ordinal and categorical ones, each under the site's
// minimum-count suppression; the aggregator pools them, and finds the pooled median and
// quartiles of each continuous variable from counts only (stats::FederatedQuantileSearch).
//
// Spec (StudySpec.spec_json):
//   {"analysis": "cohort_description", "outcome": "severe",
//    "variables": ["age", "sex", "spo2", "ggo", ...],   // 1..256 names
//    "min_cell_count": 10,        // may tighten the site's minimum, never loosen it
//    "quantiles": true}           // pooled median and IQR of the continuous variables
//
// Round 0, a site's moments (UploadHeader.result_json):
//   {"analysis": "cohort_description", "phase": "moments", "n_patients": N, "n_events": E | null,
//    "min_cell_count": k,
//    "variables": [{"variable": "age", "type": "continuous", "status": "ok", "n": 412,
//                   "missing": 0, "sum": .., "sum_sq": ..},
//                  {"variable": "ggo", "type": "categorical", "status": "ok", "n": 400,
//                   "missing": 12, "levels": {"0": 120, "1": 200, "2": null}},   // null:
//                   suppressed
//                  {"variable": "cancer", "type": "binary", "status": "suppressed",
//                   "reason": "..."}]}
// Every count a site releases is 0 or at least k, and so is the count it completes (N minus
// it): a site suppresses a small cell and, when the suppressed cells of a variable could be
// recovered from the others or add up to fewer than k patients, the next smallest ones too
// (privacy::SuppressSmallCells). A continuous variable is released only when its n and its
// missing count pass the rule.
//
// Rounds 1.., the quantile search: the checkpoint holds, per continuous variable still being
// searched, a float64 tensor "candidates/<variable>" (increasing, finite, at most
// kMaxCohortCandidates); a site answers how many of its values are <= each candidate:
//   {"analysis": "cohort_description", "phase": "quantiles",
//    "counts": {"age": [c1, c2, ...], "crp": null, ...}}     // null: not released here
// A site answers at most kMaxCohortQuantileRounds such rounds per study.
//
// The combined table (RoundStatus.result_json of the last round): CohortTable.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_COHORT_DESCRIPTION_H_
#define SCANCOV_PROTOCOL_WIRE_COHORT_DESCRIPTION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/tensor_set.h"

namespace scancov::wire {

inline constexpr size_t kMaxCohortVariables = 256;
inline constexpr size_t kMaxCohortCandidates = 256;
inline constexpr int kMaxCohortQuantileRounds = 8;
inline constexpr int64_t kMaxCohortSiteRows = int64_t{1} << 40;
inline constexpr char kCohortCandidatesPrefix[] = "candidates/";

struct CohortSpec {
  std::string outcome;  // the cohort: the patients whose outcome is known
  std::vector<std::string> variables;
  int min_cell_count = 0;
  bool quantiles = true;
};

// InvalidArgument naming the field: another analysis, no outcome, no or too many variables, a
// variable named twice, min_cell_count outside 0..100000, quantiles not a boolean.
absl::StatusOr<CohortSpec> ParseCohortSpec(const std::string& spec_json);

// One variable at one site, or pooled. `status`: ok, suppressed (the minimum-count rule),
// refused (kept back by the site) or failed (not known at the site).
struct CohortVariable {
  std::string variable;
  std::string type;  // continuous | binary | ordinal | categorical
  std::string status = "ok";
  std::string reason;
  int64_t n = 0;                  // patients with a value
  int64_t missing = 0;            // patients without
  double sum = 0, sum_sq = 0;     // continuous, at a site
  std::map<int, int64_t> levels;  // binary/ordinal/categorical; -1 = suppressed
  bool IsContinuous() const { return type == "continuous"; }
};

struct CohortSiteMoments {
  int64_t n_patients = 0;
  int64_t n_events = -1;  // -1: suppressed
  int min_cell_count = 0;
  std::vector<CohortVariable> variables;
};

std::string ToJson(const CohortSiteMoments& moments);
// InvalidArgument naming the variable and the field: counts outside 0..n_patients, n + missing
// != n_patients, level counts (not suppressed) that exceed n, non-finite sums, sum_sq below
// what the mean allows, an unknown type or status.
absl::StatusOr<CohortSiteMoments> ParseCohortSiteMoments(const std::string& json);

// The candidates of one quantile round, by variable.
using CohortCandidates = std::map<std::string, std::vector<double>>;
protocol::TensorSet CandidatesToTensors(const CohortCandidates& candidates);
// InvalidArgument for a tensor not named "candidates/<variable>", not float64 [K], K outside
// 1..kMaxCohortCandidates, values not finite and increasing, more than kMaxCohortVariables.
absl::StatusOr<CohortCandidates> CandidatesFromTensors(const protocol::TensorSet& tensors);

// A site's counts at each candidate, by variable; a variable the site did not release (its
// moments were suppressed) is absent here and null on the wire.
using CohortCounts = std::map<std::string, std::vector<int64_t>>;
std::string CountsToJson(const CohortCounts& counts, const CohortCandidates& asked);
// Checks every variable asked is answered, null or with as many non-decreasing counts in
// 0..kMaxCohortSiteRows as candidates, and nothing else.
absl::StatusOr<CohortCounts> ParseCohortCounts(const std::string& json,
                                               const CohortCandidates& asked);

// The combined table. Per site: each variable as released. Pooled: counts and levels summed
// over the sites that released the variable without suppression (`pooled_sites`), mean and SD
// from their pooled sums, and for continuous variables the pooled quartiles (q25, median, q75)
// when the search finished.
struct CohortSummary {
  std::string status = "ok";
  std::string reason;
  int64_t n = 0, missing = 0;
  double mean = 0, sd = 0;        // continuous; sd 0 when n < 2
  std::map<int, int64_t> levels;  // -1 = suppressed
  std::vector<double> quartiles;  // pooled continuous only: q25, median, q75 (R type 7)
};

struct CohortRow {
  std::string variable, type;
  std::map<std::string, CohortSummary> sites;  // by site id
  CohortSummary pooled;
  std::vector<std::string> pooled_sites;
};

struct CohortTable {
  std::string outcome;
  int min_cell_count = 0;
  std::vector<std::string> sites;
  std::map<std::string, int64_t> site_patients;
  std::map<std::string, int64_t> site_events;  // -1: suppressed
  int64_t pooled_patients = 0;
  int quantile_rounds = 0;
  std::string quantile_error;  // why the quartiles are missing, if they are
  std::vector<CohortRow> rows;
};

std::string ToJson(const CohortTable& table);
absl::StatusOr<CohortTable> ParseCohortTable(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_COHORT_DESCRIPTION_H_
