#include "aggregator/coordinator/cut_points.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/roc_counts.h"
#include "protocol/study_kind.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {

using nlohmann::json;

absl::StatusOr<v1::StudySpec> CutPointStudySpec(const v1::StudyStatus& fitted,
                                                const std::vector<double>& beta,
                                                const std::string& name, int step) {
  if (step < 1 || step > 50 || 100 % step != 0) {
    return absl::InvalidArgumentError("cut point step must divide 100 (1, 2, 4, 5, 10, ...)");
  }
  absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(fitted.spec());
  if (!kind.ok() || *kind != protocol::StudyKind::logistic_regression) {
    return absl::InvalidArgumentError(
        absl::StrCat("study '", fitted.study_id(), "' is not a logistic-regression study"));
  }
  absl::StatusOr<wire::LogisticSpec> fit = wire::ParseLogisticSpec(fitted.spec().spec_json());
  if (!fit.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("study '", fitted.study_id(), "': ", fit.status().message()));
  }
  wire::EvaluatedModel model;
  model.name = "fitted";
  model.kind = "logistic";
  model.features = wire::FeaturesToJson(fit->features);
  model.coefficients = beta;
  model.low = 0.23;
  model.high = 0.45;
  model.roc_grid = stats::EvenGrid(0.0, 1.0, 100 / step);
  wire::EvaluationSpec spec;
  spec.outcome = fit->outcome;
  spec.models = {model};
  // The rows the fit used: its split, seed and hold-out fraction; its release floor.
  spec.split = fit->split.split;
  if (fit->split.by_site) spec.site_splits = fit->split.per_site;
  spec.split_seed = fit->split.seed;
  spec.holdout_fraction = fit->split.holdout_fraction;
  spec.min_cell_count = fit->min_cell_count;
  // What the evaluation's sites will accept: the spec read back as they read it.
  const std::string spec_json = wire::ToJson(spec);
  SCV_RETURN_IF_ERROR(Annotate(wire::ParseEvaluationSpec(spec_json).status(),
                               absl::StrCat("study '", fitted.study_id(), "'")));
  v1::StudySpec out;
  out.set_name(name);
  out.set_kind(v1::STUDY_KIND_ANALYSIS);
  *out.mutable_sites() = fitted.spec().sites();
  out.set_round_timeout_s(fitted.spec().round_timeout_s() > 0 ? fitted.spec().round_timeout_s()
                                                              : 300);
  out.set_spec_json(spec_json);
  return out;
}

absl::StatusOr<scores::AiScoreBinning> CutPointsFromEvaluation(
    const v1::StudyStatus& evaluation, const scores::CutPointOptions& options) {
  const auto missing = [&](const std::string& why) {
    return absl::FailedPreconditionError(
        absl::StrCat("study '", evaluation.study_id(), "': no pooled ROC counts (", why, ")"));
  };
  if (evaluation.state() != v1::STUDY_STATE_DONE || evaluation.rounds().empty()) {
    return missing(evaluation.message().empty() ? "not done" : evaluation.message());
  }
  absl::StatusOr<wire::EvaluationResult> r =
      wire::ParseEvaluationResult(evaluation.rounds().rbegin()->result_json());
  if (!r.ok()) return missing(absl::StrCat("malformed result: ", r.status().message()));
  if (r->models.empty()) return missing("no model in the result");
  const wire::PooledEvaluation& pooled = r->models[0].pooled;
  if (!pooled.has_roc) return missing("every site refused the model or sent no curve");
  if (!pooled.roc_error.empty()) return missing(pooled.roc_error);
  return scores::ChooseAiScoreCutPointsFromCounts(pooled.roc, options);
}

}  // namespace scancov::aggregator
