// An AI-SCoRE-like score of in-hospital death (after Palmisano et al., "AI-SCoRE", 16 Italian
// hospitals; the seed 004): a logistic model on five automatically obtainable variables,
// reported as a 0-100 score with three colour-coded classes.
//
// Variables and transforms (the paper's Table S5, with its coefficients, is not in the seed, so
// the model is fitted on the federation's data with FitAiScore; the transforms are ours):
//   age                         years             x
//   sex                         1 male, 0 female  x
//   spo2                        %                 -log(1 + 100 - x)  (the ScanCov transform: the
//                                                 log of the desaturation, linear in log-odds)
//   well_aerated_lung_percent   % of lung volume  x
//   calcium_volume_mm3          mm3               log(1 + x)  (zero for many patients, a long
//                                                 right tail; log(1 + x) keeps zeros finite)
//
// Score = 100 x predicted probability of death (not rounded; display rounding is the caller's),
// so the score reads as a percentage risk, as the seed's examples do ("AI-SCoRE was 8%").
// Classes: low [0, low_medium), medium [low_medium, medium_high), high [medium_high, 100], by
// default the seed's 23 and 45; ai_score_cut_points.h chooses them from training data.
//
// Missing inputs: all five are required (the seed developed and applied the model on complete
// data only); FailedPrecondition names what is missing, InvalidArgument what is implausible.
//
// Thread safety: AiScore is immutable after construction; functions are pure.
#ifndef SCANCOV_MODELS_SCORES_AI_SCORE_H_
#define SCANCOV_MODELS_SCORES_AI_SCORE_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/stats/logistic_model.h"

namespace scancov::scores {

// The five inputs, in coefficient order, and their transforms.
inline constexpr std::array<const char*, 5> kAiScoreInputs = {
    "age", "sex", "spo2", "well_aerated_lung_percent", "calcium_volume_mm3"};
const std::array<InputTransform, 5>& AiScoreTransforms();

// The model with the given intercept and coefficients (kAiScoreInputs order).
LinearModelSpec AiScoreModel(double intercept, const std::array<double, 5>& coefficients);

struct AiScoreCutPoints {
  double low_medium = 23.0;  // score units (0-100)
  double medium_high = 45.0;
};

enum class AiScoreClass { kLow, kMedium, kHigh };
const char* AiScoreClassName(AiScoreClass c);  // "low" (green), "medium", "high"
AiScoreClass ClassifyAiScore(double score, const AiScoreCutPoints& cut_points);

struct AiScoreResult {
  double probability = 0.0;
  double score = 0.0;  // 100 x probability
  AiScoreClass score_class = AiScoreClass::kLow;
};

class AiScore {
 public:
  // InvalidArgument unless `model` has an intercept and uses kAiScoreInputs, and
  // 0 <= low_medium < medium_high <= 100.
  static absl::StatusOr<AiScore> Create(LinearModelSpec model, AiScoreCutPoints cut_points = {});

  absl::StatusOr<AiScoreResult> Compute(const PatientInputs& inputs) const;

  const LinearModelSpec& model() const { return model_; }
  const AiScoreCutPoints& cut_points() const { return cut_points_; }

 private:
  AiScore(LinearModelSpec model, AiScoreCutPoints cut_points)
      : model_(std::move(model)), cut_points_(cut_points) {}

  LinearModelSpec model_;
  AiScoreCutPoints cut_points_;
};

struct AiScoreFit {
  LinearModelSpec model;
  stats::LogisticFit fit;  // coefficients: intercept, then kAiScoreInputs order
  int64_t patients_used = 0;
  int64_t patients_excluded = 0;  // an input missing (complete-case analysis, as the seed)
};

// Maximum-likelihood logistic fit (models/stats, optional L2 penalty on the five
// coefficients) of `death` (0/1, one per patient) on the transformed inputs. Patients missing
// an input are left out and counted; an implausible input is an error (InvalidArgument naming
// the patient's position, never its values). FailedPrecondition for fewer than 10 complete
// patients or a single outcome class; fit errors as FitLogistic.
absl::StatusOr<AiScoreFit> FitAiScore(absl::Span<const PatientInputs> patients,
                                      absl::Span<const double> death, double l2_penalty = 0.0);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_AI_SCORE_H_
