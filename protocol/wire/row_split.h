// Which of a site's rows a study uses, on the wire: the deterministic split into a training part
// and a held-out part (node/tabular_features.h InHoldout: a keyed hash of the patient's
// pseudonym), shared by the kinds that fit on one part and validate on the other
// (logistic_regression, intercept_calibration, and model_evaluation's "split").
//
// Spec fields:
//   "split": "all" | "train" | "holdout"              the same at every site, or
//            {"kb": "holdout", "igr": "all"}          per site (a site not named: "all")
//   "split_seed": 7                                   a non-negative integer (default 0)
//   "holdout_fraction": 0.19                          in [0, 1] (default 0.19)
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

struct RowSplit {
  std::string split = "all";                    // every site's, unless by_site
  bool by_site = false;                         // "split" is an object
  std::map<std::string, std::string> per_site;  // by_site: site id -> all | train | holdout
  uint64_t seed = 0;
  double holdout_fraction = 0.19;

  // The part `site` uses: all, train or holdout.
  std::string For(const std::string& site) const;
};

// The split fields of a spec object (all optional). InvalidArgument "<where>: split ...",
// "<where>: split_seed ..." or "<where>: holdout_fraction ..." for a split that is not one of
// the three parts (or an object of them), a seed that is not a non-negative integer, a fraction
// outside [0, 1].
absl::StatusOr<RowSplit> ParseRowSplit(const nlohmann::json& spec, absl::string_view where);

// Writes the three fields into `spec` (an object).
void AddRowSplit(const RowSplit& split, nlohmann::json& spec);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_ROW_SPLIT_H_
