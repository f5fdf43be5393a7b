// The features of a tabular model on the wire, shared by the kinds whose spec names them
// (tabular_training, logistic_regression; the fitted models model_evaluation scores use the same
// form). Each site turns its admission rows into the model's inputs the same way, from the spec
// alone (node/tabular_features.h does the transformation of rows).
//
// A feature is a variable's name, or an object naming it with a transform and a fixed
// standardisation:
//   "age"
//   {"name": "ldh", "transform": "log", "center": 5.8, "scale": 0.5}
//   {"name": "spo2", "transform": "neglog_101_minus"}
// Transforms: "none" (default); "log" = log(0.001 + x) (the seed's lab transform);
// "neglog_101_minus" = -log(1 + 100 - x) (the seed's SpO2 transform). Then
// (t(x) - center) / scale, center 0 and scale 1 by default.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_TABULAR_FEATURES_H_
#define SCANCOV_PROTOCOL_WIRE_TABULAR_FEATURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace scancov::wire {

inline constexpr size_t kMaxFeatures = 256;

struct FeatureSpec {
  std::string name;
  std::string transform = "none";  // none | log | neglog_101_minus
  double center = 0.0;
  double scale = 1.0;
};

// `features` (the value of a spec's "features"): 1..kMaxFeatures features. InvalidArgument
// "<where>: features[i]: ..." for a feature without a (non-empty) name, an unknown transform, a
// center that is not a finite number or a scale that is not a finite number > 0;
// "<where>: features must be a list of 1..256 features" otherwise.
absl::StatusOr<std::vector<FeatureSpec>> ParseFeatures(const nlohmann::json& features,
                                                       absl::string_view where);

// The list as ParseFeatures reads it; a feature with the defaults travels as its name alone.
nlohmann::json FeaturesToJson(const std::vector<FeatureSpec>& features);

// The features' names, in order (the variables a site reads).
std::vector<std::string> FeatureNames(const std::vector<FeatureSpec>& features);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_TABULAR_FEATURES_H_
