// The AI-SCoRE-like model file that bedside scoring reads (--aiscore-model): the output of
// `scancov-coord export-model` for a federated logistic-regression study of death, or a file
// written by hand in the same format.
//
//   {"features": ["age", "sex", {"name": "spo2", "transform": "neglog_101_minus"},
//                 "well_aerated_lung_percent",
//                 {"name": "calcium_volume_mm3", "transform": "log", "center": 3.1, "scale": 2}],
//    "coefficients": [b0, b1, ..., bp],     // intercept first, then one per feature, in order
//    "cut_points": [23, 45],                // optional: score cut points low|medium|high
//    "outcome": "death",                    // optional; refused when it is anything else
//    "source": "...", "n": 292, "events": 47, "sites": [...]}   // optional, shown in the report
//
// Features are written as in the study's spec_json (node/tabular_features.h): a bare name, or
// {"name", "transform", "center", "scale"} with transform "none" (x), "log" (log(0.001 + x))
// or "neglog_101_minus" (-log(1 + 100 - x)), then (t(x) - center) / scale (defaults 0 and 1), so
// the file scores exactly what the sites fitted. Names are PatientInputs names
// (models/scores/patient_inputs.h) in their canonical units: age, sex, spo2,
// well_aerated_lung_percent, calcium_volume_mm3 for AI-SCoRE, but any input works.
//
// Score = 100 x sigmoid(b0 + sum_j b_j f_j), classes as models/scores/ai_score.h (low [0, c1),
// medium [c1, c2), high [c2, 100]; default 23 / 45). A missing input: FailedPrecondition naming
// it; an implausible one: InvalidArgument (never the value), as every score in models/scores.
//
// Thread safety: plain values; functions are pure.
#ifndef SCANCOV_NODE_BEDSIDE_AISCORE_MODEL_H_
#define SCANCOV_NODE_BEDSIDE_AISCORE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/ai_score.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"

namespace scancov::node {

struct ModelFeature {
  std::string name;                // a PatientInputs name
  std::string transform = "none";  // none | log | neglog_101_minus
  double center = 0.0;
  double scale = 1.0;  // > 0
};

struct AiScoreModelFile {
  std::vector<ModelFeature> features;
  std::vector<double> coefficients;  // intercept, then one per feature
  scores::AiScoreCutPoints cut_points;
  bool default_cut_points = false;  // the file had none: 23 / 45
  std::string outcome;              // "death" or empty
  std::string source;
  int64_t n = 0;
  int64_t events = 0;
};

// Parses the JSON text; `where` names it in errors ("aiscore model x.json: features[2]: why").
absl::StatusOr<AiScoreModelFile> ParseAiScoreModel(const std::string& json,
                                                   const std::string& where);
// Reads and parses a file; errors name the path.
absl::StatusOr<AiScoreModelFile> LoadAiScoreModel(const std::string& path);

// The feature's value: (transform(x) - center) / scale; x must be in the input's domain.
double FeatureValue(const ModelFeature& feature, double x);

// The score for `inputs` (CollectInputs checks: missing / implausible inputs are errors).
absl::StatusOr<scores::AiScoreResult> EvaluateAiScoreModel(const AiScoreModelFile& model,
                                                           const scores::PatientInputs& inputs);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_AISCORE_MODEL_H_
