// The model_evaluation kind on the wire (external validation): the study's spec, a site's
// answer and the combined result, each defined and checked once here and read by the node
// (node/tasks/model_evaluation_task.cc), the aggregator
// (aggregator/studies/model_evaluation_study.cc) and the coordinator (the report section,
// roc_plot.cc, validation_plan.cc, cut_points.cc).
//
// Spec (StudySpec.spec_json):
//   {"analysis": "model_evaluation", "outcome": "severe",
//    "split": "all" | "holdout" | "train" | {"kb": "holdout", "igr": "all"},
//    "holdout_fraction": 0.19, "split_seed": 7,          // the same split as the training study
//    "survival": {"time": "time_to_event_days", "event": "event"},
//    "min_cell_count": 10,                               // may tighten the site's minimum only
//    "compare": [["trimodal", "clinical"]],              // paired DeLong tests, same patients
//    "models": [
//      {"name": "ScanCov", "kind": "published", "model": "scancov_released",
//       "thresholds": [0.144, 0.369]},                   // risk groups: low / medium / high
//      {"name": "CURB-65", "kind": "curb65", "thresholds": [2, 3], "roc_grid": [0, 1, 2, 3, 4, 5]},
//      {"name": "CALL", "kind": "call"}, {"name": "COVID-GRAM", "kind": "covid_gram"},
//      {"name": "Yan", "kind": "yan"},
//      {"name": "refit", "kind": "logistic", "features": [...], "coefficients": [b0, b1, ...]}]}
// A model's ROC counts are taken at its "roc_grid" (1..kMaxRocGridPoints increasing numbers),
// else at its kind's default (RocGridOf): 0.00, 0.01, ..., 1.00 for probabilities (published,
// covid_gram, logistic), 0..5 for CURB-65, 4..13 for CALL, 0 and 1 for the Yan rule; a grid
// known before any patient is seen, so the sites' counts add up.
//
// A site's answer (UploadHeader.result_json), one entry per model of the spec:
//   {"analysis": "model_evaluation", "outcome": .., "split": "holdout", "min_cell_count": k,
//    "models": [{"name": .., "kind": .., "status": "ok" | "refused" | "failed", "reason": ..,
//                "n_not_computable": .., "n": .., "events": ..,
//                "auc": {"auc", "se", "ci_lower", "ci_upper"},         // DeLong
//                "high_risk": {"threshold", "tp", "fp", "tn", "fn"},   // score >= upper threshold
//                "roc": {"positives", "negatives", "points": [{"threshold", "tp", "fp"}]},
//                "groups": [{"group": "low" | "medium" | "high",
//                            "status": "ok" | "refused" | "withheld" | "failed", "reason": ..,
//                            "bin_width": days, "counts": ..}],
//                "withheld": {"high_risk": "below_min_cell", "n_not_computable": ..}}],
//    "comparisons": [{"a", "b", "n", "status", "auc_a", "auc_b", "difference", "z", "p",
//                     "withheld": {"n": "below_min_cell"}}]}
// Every count a site releases is 0 or at least its minimum cell count (node/tasks/
// model_evaluation_release.h): a figure that would break the rule is left out and named in
// "withheld" with a reason code (kBelowMinCell), never a number; a survival group whose table
// breaks it at every width the site tries is "withheld" with that code as its reason.
// "roc" holds only the grid points the site's release rule lets out (node/tasks/roc_release.h);
// "groups" (Kaplan-Meier counts, stats::SurvivalCounts) only when the spec asks for survival,
// each with its times rounded up to a multiple of "bin_width" (a whole number of days the site
// chose, 1..kMaxSurvivalBinWidth; answers stored before sites chose a width read as 1).
//
// The combined result (RoundStatus.result_json): EvaluationResult, per model each site's entry
// as the site sent it (with its split, the high-risk rates and its curve's trapezoidal area) and
// the pooled figures (fixed-effect AUC, summed confusion counts of the sites that released
// them, summed ROC counts at the thresholds every site released, Kaplan-Meier by risk group and
// the stratified log-rank test on the sites' common time grid, or the reason there is none).
// JSON has no NaN: an undefined rate travels as null.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_H_
#define SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/stats/roc_counts.h"
#include "models/stats/survival_counts.h"
#include "nlohmann/json.hpp"

namespace scancov::wire {

inline constexpr size_t kMaxEvaluatedModels = 64;
// A study may not ask for a grid finer than this: the counts between neighbouring thresholds
// form a histogram of the site's scores, and a grid as fine as the scores would release them.
inline constexpr size_t kMaxRocGridPoints = 101;
inline constexpr size_t kMaxModelFeatures = 256;
// The risk groups of the survival figures, in order: score < low, < high, >= high.
inline constexpr std::array<const char*, 3> kRiskGroups = {"low", "medium", "high"};
// The reason code of a figure or table a site withholds because a count in it is neither 0 nor
// at least the site's minimum cell count.
inline constexpr char kBelowMinCell[] = "below_min_cell";
// The coarsest survival time bin (days) a site may send, and the coarsest common grid the
// aggregator pools on.
inline constexpr double kMaxSurvivalBinWidth = 3650;

struct EvaluatedModel {
  std::string name;   // unique in the study
  std::string kind;   // published | curb65 | call | covid_gram | yan | logistic
  std::string model;  // published: its name in models/scores/published_models.h
  // logistic: the features as a fitting study gives them (names, or objects with a "name" and
  // a transform; node/tabular_features.h reads them), and the coefficients, intercept first.
  nlohmann::json features = nlohmann::json::array();
  std::vector<double> coefficients;
  double low = 0.5, high = 0.5;  // risk-group thresholds, low <= high
  std::vector<double> roc_grid;  // as the spec gives it; empty: the kind's default

  std::vector<std::string> FeatureNames() const;
};

// The grid `model`'s ROC counts are taken at: its roc_grid, else its kind's default.
std::vector<double> RocGridOf(const EvaluatedModel& model);

struct EvaluationSpec {
  std::string outcome;
  std::string split = "all";                       // all | holdout | train, at every site
  std::map<std::string, std::string> site_splits;  // non-empty: "split" is per site
  uint64_t split_seed = 0;
  double holdout_fraction = 0.19;
  std::string survival_time, survival_event;  // both or neither
  int min_cell_count = 0;
  std::vector<std::pair<std::string, std::string>> compare;  // model names
  std::vector<EvaluatedModel> models;

  // The split asked of `site`: its entry when per site ("all" when absent), else `split`.
  std::string SplitFor(const std::string& site) const;
  bool HasSurvival() const { return !survival_time.empty(); }
};

// InvalidArgument naming the field (and the model): another analysis, no outcome, a split that
// is not all/holdout/train, holdout_fraction outside [0, 1], split_seed negative,
// min_cell_count outside 0..100000, survival without both time and event, no models or more
// than kMaxEvaluatedModels, a model without a name or named twice, an unknown kind, a published
// model without "model", thresholds not [low, high] with low <= high, a roc_grid that is not 1
// to kMaxRocGridPoints increasing numbers, a logistic model without 1..kMaxModelFeatures
// features or without one coefficient per feature plus the intercept, a compare entry that is
// not two names of the study's models.
absl::StatusOr<EvaluationSpec> ParseEvaluationSpec(const std::string& spec_json);
std::string ToJson(const EvaluationSpec& spec);

struct AucEstimate {
  double auc = 0, se = 0, ci_lower = 0, ci_upper = 0;
};

// The high-risk group's confusion counts (positive: score >= the model's upper threshold).
struct ConfusionCounts {
  double threshold = 0;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

struct SurvivalGroup {
  std::string group;             // kRiskGroups
  std::string status;            // ok | refused | withheld | failed
  std::string reason;            // withheld: kBelowMinCell
  double bin_width = 1;          // ok only: the counts' times are multiples of it (days)
  stats::SurvivalCounts counts;  // ok only
};

// The figures of an answer the site left out, each with its reason code (kBelowMinCell): the
// JSON field name -> the code.
using Withheld = std::map<std::string, std::string>;

// One model at one site.
struct ModelAnswer {
  std::string name, kind;
  std::string status;            // ok | refused | failed
  std::string reason;            // refused / failed
  int64_t n_not_computable = 0;  // unless withheld
  // ok only:
  int64_t n = 0, events = 0;
  AucEstimate auc;
  ConfusionCounts high_risk;          // unless withheld
  std::optional<stats::GridRoc> roc;  // absent: no curve sent
  std::string roc_error;              // non-empty: the curve sent is not usable (why)
  double roc_auc_trapezoid = 0;       // combined result: the area under the site's curve
  std::vector<SurvivalGroup> groups;  // empty, or one per kRiskGroups
  std::string split;                  // combined result only: the site's split
  Withheld withheld;                  // "high_risk", "n_not_computable"

  bool IsWithheld(const char* figure) const { return withheld.count(figure) > 0; }
};

struct AucComparisonAnswer {
  std::string a, b;
  int64_t n = 0;
  std::string status;  // ok | refused | failed
  std::string reason;
  double auc_a = 0, auc_b = 0, difference = 0, z = 0, p = 1;
  Withheld withheld;  // "n"
};

struct EvaluationSiteAnswer {
  std::string outcome;
  std::string split = "all";
  int min_cell_count = 0;
  std::vector<ModelAnswer> models;
  std::vector<AucComparisonAnswer> comparisons;
};

std::string ToJson(const EvaluationSiteAnswer& answer);

// How a reader treats what it is given:
//   kUpload  a site's answer as it arrives: every figure of an "ok" model present and in
//            bounds (counts in 0..stats::kMaxRocClassSize, AUC in [0, 1], SE finite and > 0,
//            valid ROC and survival counts on their bin width's grid, three named risk groups)
//            unless named in "withheld", an unknown status refused;
//   kStored  what the aggregator kept (answers stored before it checked them, its own combined
//            result): an absent figure (or a site entry's name) takes its default, and a curve
//            that is not valid ROC counts is kept as unusable (ModelAnswer::roc_error) instead
//            of refusing the rest.
// In both, a value of the wrong JSON type is InvalidArgument naming the model and the field.
enum class ReadMode { kUpload, kStored };

absl::StatusOr<EvaluationSiteAnswer> ParseEvaluationSiteAnswer(const std::string& json,
                                                               ReadMode mode = ReadMode::kUpload);

struct KaplanMeierGroup {
  int64_t n = 0;
  std::vector<std::pair<double, double>> points;  // (time, survival)
};

// One model's figures pooled over the sites that reported it.
struct PooledEvaluation {
  int sites_used = 0;
  bool has_auc = false;  // some site reported the model: auc and high_risk hold
  AucEstimate auc;       // fixed-effect inverse-variance over sites (se unused)
  double i_squared = 0;
  ConfusionCounts high_risk;  // summed over the sites that released it (threshold unused)
  int high_risk_sites = 0;
  bool has_roc = false;
  std::string roc_error;  // non-empty: the sites' curves could not be pooled (why)
  stats::GridRoc roc;     // summed at the thresholds every site released
  int roc_sites = 0;
  double roc_auc_trapezoid = 0;
  bool has_survival = false;  // the log-rank test and the Kaplan-Meier curves hold
  double chi_square = 0, df = 0, log_rank_p = 1;
  int log_rank_sites = 0;
  double survival_bin_width = 1;  // days: the common grid of the sites' tables
  // By kRiskGroups; n = 0 and no points for a group no site released. The log-rank test is
  // across the groups some site released (df one less than their number), a group a site
  // withheld left out of that site's stratum.
  std::array<KaplanMeierGroup, 3> kaplan_meier;
  std::string survival_error;  // non-empty: the sites' tables could not be pooled (why)
};

struct EvaluationModelResult {
  std::string name;
  std::map<std::string, ModelAnswer> sites;  // by site id
  PooledEvaluation pooled;
};

struct EvaluationResult {
  std::string outcome;
  std::vector<std::string> sites;  // the study's, in order
  std::vector<EvaluationModelResult> models;
  std::map<std::string, std::vector<AucComparisonAnswer>> comparisons;  // by site id
};

std::string ToJson(const EvaluationResult& result);
// Reads as ReadMode::kStored; InvalidArgument for text that is not such a result.
absl::StatusOr<EvaluationResult> ParseEvaluationResult(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_EVALUATION_H_
