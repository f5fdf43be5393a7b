#include "aggregator/coordinator/cut_points.h"

#include <exception>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/roc_counts.h"
#include "protocol/study_kind.h"
#include "protocol/wire/logistic_regression.h"

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
  json spec = {{"analysis", "model_evaluation"},
               {"outcome", fit->outcome},
               {"min_cell_count", fit->min_cell_count},
               {"models",
                {{{"name", "fitted"},
                  {"kind", "logistic"},
                  {"features", wire::FeaturesToJson(fit->features)},
                  {"coefficients", beta},
                  {"thresholds", {0.23, 0.45}},
                  {"roc_grid", stats::EvenGrid(0.0, 1.0, 100 / step)}}}}};
  // The rows the fit used: its split, seed and hold-out fraction; its release floor.
  wire::AddRowSplit(fit->split, spec);
  v1::StudySpec out;
  out.set_name(name);
  out.set_kind(v1::STUDY_KIND_ANALYSIS);
  *out.mutable_sites() = fitted.spec().sites();
  out.set_round_timeout_s(fitted.spec().round_timeout_s() > 0 ? fitted.spec().round_timeout_s()
                                                              : 300);
  out.set_spec_json(spec.dump());
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
  const json r = json::parse(evaluation.rounds().rbegin()->result_json(), nullptr, false);
  try {
    if (!r.is_object() || !r.contains("models") || !r.at("models").is_array() ||
        r.at("models").empty()) {
      return missing("no model in the result");
    }
    const json& m = r.at("models").at(0);
    if (!m.contains("pooled") || !m.at("pooled").contains("roc")) {
      return missing("every site refused the model or sent no curve");
    }
    const json& roc = m.at("pooled").at("roc");
    if (roc.value("status", std::string()) != "ok") {
      return missing(roc.value("reason", std::string("the curves could not be pooled")));
    }
    SCV_ASSIGN_OR_RETURN(stats::GridRoc pooled, stats::GridRocFromJson(roc));
    return scores::ChooseAiScoreCutPointsFromCounts(pooled, options);
  } catch (const std::exception& e) {
    return missing(absl::StrCat("malformed result: ", e.what()));
  }
}

}  // namespace scancov::aggregator
