// Which of a site's rows a study uses, on the wire: the deterministic split into a training part
// and a held-out part (node/tabular_features.h InHoldout: a keyed hash of the patient's
// pseudonym), shared by the kinds that fit on one part and validate on the other
// (logistic_regression, intercept_calibration, and model_evaluation's "split").
//
// Spec fields:
//   "split": "all" | "train" | "holdout"              the same at every site, or
//            {"kb": "holdout", "igr": "all"}          per site (a site not named: "all")
//   "split_seed": 7                                   accepted from older specs, and ignored:
//                                                     the site splits with its own key
//   "holdout_fraction": 0.19                          one of kAllowedHoldoutFractions
//
// The split is the site's, never the coordinator's: each node splits its patients with a key
// derived from its own secret (privacy::Pseudonymizer::SplitKey), so the parts are fixed per
// site and a coordinator cannot vary them by choosing seeds; it chooses a part and a fraction
// from a short list whose neighbours differ by at least 5 % of a cohort, and the node's cohort
// guard (node/cohort_guard.h) refuses parts that differ from an earlier study's by fewer than
// the minimum count.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_ROW_SPLIT_H_
#define SCANCOV_PROTOCOL_WIRE_ROW_SPLIT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace scancov::wire {

// The holdout fractions a study may ask for.
inline constexpr double kAllowedHoldoutFractions[] = {0.19, 0.25, 0.3, 0.5};
inline constexpr char kAllowedHoldoutFractionsText[] = "0.19, 0.25, 0.3, 0.5";
bool IsAllowedHoldoutFraction(double fraction);

struct RowSplit {
  std::string split = "all";                    // every site's, unless by_site
  bool by_site = false;                         // "split" is an object
  std::map<std::string, std::string> per_site;  // by_site: site id -> all | train | holdout
  uint64_t seed = 0;                            // an older spec's split_seed; not used by any node
  double holdout_fraction = 0.19;

  // The part `site` uses: all, train or holdout.
  std::string For(const std::string& site) const;
};

// The split fields of a spec object (all optional). InvalidArgument "<where>: split ...",
// "<where>: split_seed ..." or "<where>: holdout_fraction ..." for a split that is not one of
// the three parts (or an object of them), a seed that is not a non-negative integer, a fraction
// not in kAllowedHoldoutFractions.
absl::StatusOr<RowSplit> ParseRowSplit(const nlohmann::json& spec, absl::string_view where);

// Writes the three fields into `spec` (an object).
void AddRowSplit(const RowSplit& split, nlohmann::json& spec);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_ROW_SPLIT_H_
