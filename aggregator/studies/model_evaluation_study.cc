// External validation as a study: one round in which every site scores its own patients with
// the study's models (node/tasks/model_evaluation.h) and returns aggregates
// (protocol/wire/model_evaluation.h); closing the round keeps each site's figures (the seed's
// per-site AUCs) and adds what can be pooled exactly or by meta-analysis: confusion counts
// summed over the sites that released them (pooled sensitivity, specificity, PPV, NPV; a site
// withholds them when a cell is below its minimum), fixed-effect inverse-variance AUC over
// sites (DeLong SEs), the ROC counts at the model's fixed grid summed (the pooled ROC curve,
// exact since every site counts at the same thresholds, with its trapezoidal AUC), Kaplan-Meier
// per risk group from the merged per-site counts, and the log-rank test across risk groups
// stratified by site. Each site sends its survival tables at the time bin it chose (the finest
// at which every cell passes its minimum): the tables are pooled on the sites' common grid,
// the least common multiple of their widths, onto which each coarsens exactly (re-binning a
// table rounded up to w days onto k w days is rounding its rows up to k w days). A risk group a
// site withheld is left out of that site's stratum, so the sites whose low-risk group has too
// few events to release still count. A survival pooling that fails (no common grid within
// wire::kMaxSurvivalBinWidth, fewer than two groups released, no event) leaves a reason, not a
// failed round.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

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

// Per site, its risk groups' tables, nullopt for a group it did not release (withheld: a cell
// below its minimum at every width, or refused: nobody in it).
using SiteGroups = std::array<std::optional<wire::SurvivalGroup>, 3>;

void AddSurvival(const wire::ModelAnswer& m, std::vector<SiteGroups>* parts) {
  SiteGroups site;
  bool any = false;
  for (size_t g = 0; g < m.groups.size() && g < 3; ++g) {
    if (m.groups[g].status != "ok") continue;
    site[g] = m.groups[g];
    any = true;
  }
  if (any) parts->push_back(std::move(site));
}

// The sites' tables on their common grid (an empty table for a group a site did not release).
absl::StatusOr<std::vector<std::array<stats::SurvivalCounts, 3>>> OnCommonGrid(
    const std::vector<SiteGroups>& parts, double* width) {
  std::vector<double> widths;
  for (const SiteGroups& site : parts) {
    for (const auto& g : site) {
      if (g.has_value()) widths.push_back(g->bin_width);
    }
  }
  SCV_ASSIGN_OR_RETURN(*width, stats::CommonBinWidth(widths, wire::kMaxSurvivalBinWidth));
  std::vector<std::array<stats::SurvivalCounts, 3>> out;
  for (const SiteGroups& site : parts) {
    std::array<stats::SurvivalCounts, 3>& groups = out.emplace_back();
    for (int g = 0; g < 3; ++g) {
      if (!site[g].has_value()) continue;
      SCV_ASSIGN_OR_RETURN(groups[g], stats::CoarsenSurvivalCounts(site[g]->counts, *width));
    }
  }
  return out;
}

// The log-rank test stratified by site across the risk groups some site released (a group a
// site withheld is absent from that site's stratum: the test compares the released groups'
// patients), and each group's Kaplan-Meier curve from the sites that released it (an empty
// curve when none did).
absl::Status PoolSurvival(const std::vector<SiteGroups>& parts, wire::PooledEvaluation* pooled) {
  if (parts.empty()) return absl::OkStatus();
  double width = 1;
  SCV_ASSIGN_OR_RETURN(const auto sites, OnCommonGrid(parts, &width));
  std::vector<int> present;  // groups some site released
  for (int g = 0; g < 3; ++g) {
    if (std::any_of(parts.begin(), parts.end(),
                    [g](const SiteGroups& site) { return site[g].has_value(); })) {
      present.push_back(g);
    }
  }
  if (present.size() < 2) {
    return absl::FailedPreconditionError("fewer than two risk groups released by any site");
  }
  std::vector<stats::LogRankSummary> strata;
  for (const std::array<stats::SurvivalCounts, 3>& groups : sites) {
    std::vector<stats::SurvivalCounts> tested;
    for (int g : present) tested.push_back(groups[g]);
    SCV_ASSIGN_OR_RETURN(strata.emplace_back(), stats::LogRankContribution(tested));
  }
  SCV_ASSIGN_OR_RETURN(stats::LogRankResult lr, stats::LogRankFromSummaries(strata));
  std::array<wire::KaplanMeierGroup, 3> km;
  for (int g : present) {
    std::vector<stats::SurvivalCounts> released;
    for (size_t k = 0; k < sites.size(); ++k) {
      if (parts[k][g].has_value()) released.push_back(sites[k][g]);
    }
    SCV_ASSIGN_OR_RETURN(km[g], PooledKm(released));
  }
  pooled->has_survival = true;
  pooled->chi_square = lr.chi_square;
  pooled->df = lr.degrees_of_freedom;
  pooled->log_rank_p = lr.p_value;
  pooled->log_rank_sites = static_cast<int>(strata.size());
  pooled->survival_bin_width = width;
  pooled->kaplan_meier = std::move(km);
  return absl::OkStatus();
}

absl::StatusOr<wire::EvaluationModelResult> PoolModel(
    const std::string& name, std::vector<std::pair<std::string, wire::ModelAnswer>> sites) {
  wire::EvaluationModelResult out;
  out.name = name;
  wire::PooledEvaluation& pooled = out.pooled;
  std::vector<double> aucs, ses;
  std::vector<SiteGroups> survival;
  std::vector<stats::GridRoc> rocs;
  for (auto& [site, m] : sites) {
    if (m.status == "ok" && !m.IsWithheld("high_risk")) {
      pooled.high_risk.tp += m.high_risk.tp;
      pooled.high_risk.fp += m.high_risk.fp;
      pooled.high_risk.tn += m.high_risk.tn;
      pooled.high_risk.fn += m.high_risk.fn;
      ++pooled.high_risk_sites;
    }
    if (m.status == "ok") {
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
      AddSurvival(m, &survival);
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
  if (absl::Status s = PoolSurvival(survival, &pooled); !s.ok()) {
    pooled.survival_error = std::string(s.message());
  }
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
