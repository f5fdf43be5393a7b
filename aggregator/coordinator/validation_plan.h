// The seed's external-validation protocol, generalised to a cross-site matrix, as a plan of
// ordinary studies that a coordinator runs (scancov-coord validate):
//
//  1. training: for each outcome, exact federated logistic regressions on the plan's features,
//     each on the sites' *training* parts ("split": "train"): one per site ("at <site>"), one per
//     left-out site ("without <site>", leave-one-site-out) and one over all sites ("federated");
//  2. evaluation: each trained model is scored at every site, on data it never saw: the held-out
//     part of a site it was trained on, all patients of a site it was not trained on; published
//     models and scores (ScanCov, CURB-65, CALL, COVID-GRAM, Yan) are scored on all patients.
//     Models with the same per-site split share one model_evaluation study;
//  3. the matrix: AUC (95% DeLong CI) of every model at every site, per outcome.
//
// Plan JSON:
//   {"name": "val", "sites": ["kb", "igr", "hegp"], "outcomes": ["severe", "death"],
//    "features": [...],                      // or several named feature sets:
//    "feature_sets": {"clinical": [...], "trimodal": [...]},
//    "split_seed": 7, "holdout_fraction": 0.19, "min_cell_count": 10,
//    "each_site": true, "leave_one_out": true, "federated": true, "comparators": true,
//    "survival": {"time": "time_to_event_days", "event": "event"}}
// A feature may be "ai_severity:<study>", the probability a finished AI-severity study left at
// each site (node/ai_severity_scores.h): the seed's trimodal "+ AI-severity" models. That study
// must be done before the plan runs; the matrix marks the cells at the sites it trained on.
#ifndef SCANCOV_AGGREGATOR_VALIDATION_PLAN_H_
#define SCANCOV_AGGREGATOR_VALIDATION_PLAN_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

struct ValidationPlan {
  std::string name;
  std::vector<std::string> sites;
  std::vector<std::string> outcomes;
  nlohmann::json features;  // the default feature set (named "")
  std::vector<std::pair<std::string, nlohmann::json>> feature_sets;  // name -> features
  uint64_t split_seed = 7;
  double holdout_fraction = 0.19;
  int min_cell_count = 10;
  bool each_site = true, leave_one_out = true, federated = true, comparators = true;
  nlohmann::json survival;  // optional {"time": ..., "event": ...}
  // The AI-severity studies the features use ("ai_severity:<study>") -> their training sites,
  // filled by UseAiSeverityStudy: cells at those sites are marked as not external for that input.
  std::map<std::string, std::vector<std::string>> ai_severity_training_sites;
};

absl::StatusOr<ValidationPlan> ParseValidationPlan(const std::string& json_text);

// The AI-severity studies whose per-site scores the plan's features use ("ai_severity:<study>",
// protocol/ids.h), sorted, each once.
std::vector<std::string> AiSeverityStudies(const ValidationPlan& plan);

// Checks that `status` is a finished AI-severity study (its sites hold its scores only then) that
// every site of the plan trained or evaluated in, and records its training sites in the plan; an
// error naming the study (and the site) otherwise.
absl::Status UseAiSeverityStudy(const v1::StudyStatus& status, ValidationPlan* plan);

struct TrainedModel {
  std::string label;  // "at kb", "without igr", "federated" (+ " / <set>")
  nlohmann::json features;
  std::string outcome;
  std::vector<std::string> train_sites;
  std::string study;  // the training study's name
};

// The training studies of the plan (logistic_regression analyses).
std::vector<std::pair<TrainedModel, v1::StudySpec>> TrainingStudies(const ValidationPlan& plan);

// Evaluation studies given the fitted coefficients of each training study (by study name).
// Training studies without coefficients (failed fits) are left out. Each trained model's risk
// groups use its own training terciles (`terciles`, by study name: [low|medium, medium|high]
// probabilities); a model without them (terciles turned off or not found) and the published
// ScanCov model use the published terciles 0.144 / 0.369.
std::vector<v1::StudySpec> EvaluationStudies(
    const ValidationPlan& plan, const std::vector<TrainedModel>& models,
    const std::map<std::string, std::vector<double>>& coefficients,
    const std::map<std::string, std::vector<double>>& terciles = {});

// Coefficients of a finished logistic study ("fit" in its last round).
absl::StatusOr<std::vector<double>> FittedCoefficients(const v1::StudyStatus& status);
// The terciles of a finished logistic study's training probabilities ("fit"."terciles" in its
// last round: two increasing probabilities); NotFound when the study has none.
absl::StatusOr<std::vector<double>> FittedTerciles(const v1::StudyStatus& status);

// AUC (95% CI) of every model at every site, one table per outcome, from evaluation studies.
// A model with an AI-severity input is marked (†) at the sites that input's study trained on.
std::string ValidationMatrixMarkdown(const ValidationPlan& plan,
                                     const std::vector<v1::StudyStatus>& evaluations);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_VALIDATION_PLAN_H_
