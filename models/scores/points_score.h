// The result of a points score (CURB-65, CALL) whose inputs may be incomplete, and the policy
// for missing inputs.
//
// With MissingInputPolicy::kPartial a missing criterion is scored as absent (its lowest
// points), the result says so (`missing`, partial()) and gives the range the complete score
// must lie in: points <= true score <= max_points. With kRefuse a missing input makes the score
// not computable (FailedPrecondition naming every missing input). Implausible inputs are always
// an error (InvalidArgument), whatever the policy.
#ifndef SCANCOV_MODELS_SCORES_POINTS_SCORE_H_
#define SCANCOV_MODELS_SCORES_POINTS_SCORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scancov::scores {

enum class MissingInputPolicy { kPartial, kRefuse };

struct PointsScore {
  int points = 0;      // missing criteria scored at their lowest points
  int max_points = 0;  // missing criteria scored at their highest points (== points if complete)
  std::vector<std::string> missing;  // input names, in the score's order

  bool partial() const { return !missing.empty(); }
};

// Adds one criterion to `score`: `points` when its inputs determine it, otherwise its lowest
// and highest possible points, recording `missing_inputs`.
inline void AddCriterion(PointsScore& score, std::optional<int> points, int lowest, int highest,
                         std::vector<std::string> missing_inputs) {
  if (points.has_value()) {
    score.points += *points;
    score.max_points += *points;
    return;
  }
  score.points += lowest;
  score.max_points += highest;
  for (std::string& name : missing_inputs) score.missing.push_back(std::move(name));
}

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_POINTS_SCORE_H_
