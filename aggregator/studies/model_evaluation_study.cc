// External validation as a study: one round in which every site scores its own patients with
// the study's models (node/tasks/model_evaluation.h) and returns aggregates
// (protocol/wire/model_evaluation.h); closing the round keeps each site's figures (the seed's
// per-site AUCs) and adds what can be pooled exactly or by meta-analysis: confusion counts
// summed (pooled sensitivity, specificity, PPV, NPV), fixed-effect inverse-variance AUC over
// sites (DeLong SEs), the ROC counts at the model's fixed grid summed (the pooled ROC curve,
// exact since every site counts at the same thresholds, with its trapezoidal AUC), Kaplan-Meier
// per risk group from the merged per-site counts, and the log-rank test across risk groups
// stratified by site.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/stats/kaplan_meier.h"
#include "models/stats/log_rank.h"
#include "models/stats/meta_analysis.h"
#include "models/stats/roc_counts.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {
namespace {

// KM curve points (time, survival) of the merged counts.
absl::StatusOr<wire::KaplanMeierGroup> PooledKm(const std::vector<stats::SurvivalCounts>& parts) {
  SCV_ASSIGN_OR_RETURN(stats::SurvivalCounts merged, stats::MergeSurvivalCounts(parts));
  SCV_ASSIGN_OR_RETURN(stats::KaplanMeierCurve km, stats::KaplanMeier(merged));
  wire::KaplanMeierGroup out;
  out.n = merged.total();
  for (const stats::KaplanMeierPoint& p : km.points) out.points.push_back({p.time, p.survival});
  return out;
}

// The sites' ROC counts summed at the thresholds every site released (node/tasks/roc_release.h),
// with the area under the pooled curve; a reason instead when the sums fail.
void PoolRoc(const std::vector<stats::GridRoc>& rocs, wire::PooledEvaluation* pooled) {
  pooled->has_roc = true;
  absl::StatusOr<stats::GridRoc> sum = stats::SumGridRocs(stats::OnCommonThresholds(rocs));
  absl::StatusOr<double> auc = sum.ok() ? stats::TrapezoidalAuc(*sum) : sum.status();
  if (!auc.ok()) {
    pooled->roc_error = std::string(auc.status().message());
    return;
  }
  pooled->roc = *std::move(sum);
  pooled->roc_sites = static_cast<int>(rocs.size());
  pooled->roc_auc_trapezoid = *auc;
}

// Each risk group's counts over the sites that released all three groups, and their log-rank
// contributions.
struct SurvivalParts {
  std::vector<std::vector<stats::SurvivalCounts>> groups{3};
  std::vector<stats::LogRankSummary> strata;
};

absl::Status AddSurvival(const wire::ModelAnswer& m, SurvivalParts* parts) {
  std::vector<stats::SurvivalCounts> site_groups;
  for (const wire::SurvivalGroup& g : m.groups) {
    if (g.status != "ok") break;
    site_groups.push_back(g.counts);
  }
  if (site_groups.size() != 3) return absl::OkStatus();  // a withheld group: not in the test
  for (int g = 0; g < 3; ++g) parts->groups[g].push_back(site_groups[g]);
  SCV_ASSIGN_OR_RETURN(stats::LogRankSummary s, stats::LogRankContribution(site_groups));
  parts->strata.push_back(std::move(s));
  return absl::OkStatus();
}

absl::Status PoolSurvival(const SurvivalParts& parts, wire::PooledEvaluation* pooled) {
  if (parts.strata.empty()) return absl::OkStatus();
  SCV_ASSIGN_OR_RETURN(stats::LogRankResult lr, stats::LogRankFromSummaries(parts.strata));
  pooled->has_survival = true;
  pooled->chi_square = lr.chi_square;
  pooled->df = lr.degrees_of_freedom;
  pooled->log_rank_p = lr.p_value;
  pooled->log_rank_sites = static_cast<int>(parts.strata.size());
  for (int g = 0; g < 3; ++g) {
    SCV_ASSIGN_OR_RETURN(pooled->kaplan_meier[g], PooledKm(parts.groups[g]));
  }
  return absl::OkStatus();
}

absl::StatusOr<wire::EvaluationModelResult> PoolModel(
    const std::string& name, std::vector<std::pair<std::string, wire::ModelAnswer>> sites) {
  wire::EvaluationModelResult out;
  out.name = name;
  wire::PooledEvaluation& pooled = out.pooled;
  std::vector<double> aucs, ses;
  SurvivalParts survival;
  std::vector<stats::GridRoc> rocs;
  for (auto& [site, m] : sites) {
    if (m.status == "ok") {
      pooled.high_risk.tp += m.high_risk.tp;
      pooled.high_risk.fp += m.high_risk.fp;
      pooled.high_risk.tn += m.high_risk.tn;
      pooled.high_risk.fn += m.high_risk.fn;
      aucs.push_back(m.auc.auc);
      ses.push_back(m.auc.se);
      absl::StatusOr<double> area = !m.roc_error.empty() ? absl::InvalidArgumentError(m.roc_error)
                                    : m.roc.has_value()  ? stats::TrapezoidalAuc(*m.roc)
                                                         : absl::StatusOr<double>(NAN);
      if (!area.ok()) {  // only this site's curve is left out
        m.roc.reset();
        m.roc_error = absl::StrCat("site ", site, ": ", area.status().message());
      } else if (m.roc.has_value()) {
        m.roc_auc_trapezoid = *area;
        rocs.push_back(*m.roc);
      }
      SCV_RETURN_IF_ERROR(AddSurvival(m, &survival));
    }
    out.sites[site] = std::move(m);
  }
  pooled.sites_used = static_cast<int>(aucs.size());
  if (!aucs.empty()) {
    SCV_ASSIGN_OR_RETURN(stats::MetaAnalysis meta, stats::MetaAnalyze(aucs, ses));
    pooled.has_auc = true;
    pooled.auc.auc = meta.fixed_effect.estimate;
    pooled.auc.ci_lower = meta.fixed_effect.ci_lower;
    pooled.auc.ci_upper = meta.fixed_effect.ci_upper;
    pooled.i_squared = meta.i_squared;
  }
  if (!rocs.empty()) PoolRoc(rocs, &pooled);
  SCV_RETURN_IF_ERROR(PoolSurvival(survival, &pooled));
  return out;
}

class ModelEvaluationStudy : public StudyLogic {
 public:
  explicit ModelEvaluationStudy(wire::EvaluationSpec spec) : spec_(std::move(spec)) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::EvaluationSpec parsed, wire::ParseEvaluationSpec(spec.spec_json()));
    return std::make_unique<ModelEvaluationStudy>(std::move(parsed));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round, const std::string&,
                                    const std::vector<RoundRecord>&) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, "");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet*) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    return Annotate(wire::ParseEvaluationSiteAnswer(header.result_json()).status(),
                    absl::StrCat("model_evaluation, site ", task.site_id));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t,
                                          const protocol::TensorSet*,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>&) const override {
    wire::EvaluationResult combined;
    combined.outcome = spec_.outcome;
    combined.sites.assign(study.spec.sites().begin(), study.spec.sites().end());
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<std::string, wire::ModelAnswer>>> by_model;
    for (const std::string& site : combined.sites) {  // keep the spec's site order
      for (const ResultRecord& r : results) {
        if (r.site_id != site) continue;
        absl::StatusOr<wire::EvaluationSiteAnswer> answer =
            wire::ParseEvaluationSiteAnswer(r.result_json, wire::ReadMode::kStored);
        SCV_RETURN_IF_ERROR(Annotate(answer.status(), "model evaluation: malformed site result"));
        combined.comparisons[site] = answer->comparisons;
        for (wire::ModelAnswer& m : answer->models) {
          if (!by_model.count(m.name)) order.push_back(m.name);
          m.split = answer->split;
          by_model[m.name].push_back({site, std::move(m)});
        }
      }
    }
    for (const std::string& name : order) {
      SCV_ASSIGN_OR_RETURN(wire::EvaluationModelResult pooled,
                           PoolModel(name, std::move(by_model[name])));
      combined.models.push_back(std::move(pooled));
    }
    RoundOutcome out;
    out.result_json = wire::ToJson(combined);
    out.study_done = true;
    return out;
  }

 private:
  const wire::EvaluationSpec spec_;
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(model_evaluation, &ModelEvaluationStudy::Create);

}  // namespace scancov::aggregator
