// JSON of the pieces that a site's answer and the combined result of model_evaluation share
// (model_evaluation.h): one model at one site, and one paired comparison. For the wire module's
// own files only.
#ifndef SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_INTERNAL_H_
#define SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "protocol/wire/model_evaluation.h"

namespace scancov::wire::internal {

// NaN travels as null (JSON has no NaN); null and absent read back as NaN.
nlohmann::json Num(double v);

// `combined`: as an entry of the combined result (with the split, the high-risk rates and the
// curve's area), else as the site sent it.
nlohmann::json ModelAnswerToJson(const ModelAnswer& m, bool combined);
absl::StatusOr<ModelAnswer> ModelAnswerFromJson(const nlohmann::json& j, ReadMode mode);

nlohmann::json ComparisonToJson(const AucComparisonAnswer& c);
// A list of comparisons (absent or null: none).
absl::StatusOr<std::vector<AucComparisonAnswer>> ComparisonsFromJson(const nlohmann::json& j,
                                                                     const std::string& where);

// {"tp", "fp", "tn", "fn", "sensitivity", "specificity", "ppv", "npv"}; a rate without a
// denominator is null.
nlohmann::json RatesToJson(const ConfusionCounts& c);

}  // namespace scancov::wire::internal

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_INTERNAL_H_
