// External validation as a study: one round in which every site scores its own patients with
// the study's models (node/model_evaluation.h) and returns aggregates; closing the round keeps
// each site's figures (the seed's per-site AUCs) and adds what can be pooled exactly or by
// meta-analysis: confusion counts summed (pooled sensitivity, specificity, PPV, NPV),
// fixed-effect inverse-variance AUC over sites (DeLong SEs), the ROC counts at the model's
// fixed grid summed (the pooled ROC curve, exact since every site counts at the same
// thresholds, with its trapezoidal AUC), Kaplan-Meier per risk group from the merged per-site
// counts, and the log-rank test across risk groups stratified by site.
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/stats/kaplan_meier.h"
#include "models/stats/log_rank.h"
#include "models/stats/meta_analysis.h"
#include "models/stats/roc_counts.h"
#include "models/stats/summary_json.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

json Rates(int64_t tp, int64_t fp, int64_t tn, int64_t fn) {
  auto ratio = [](int64_t a, int64_t b) { return b > 0 ? json(double(a) / b) : json(nullptr); };
  return {{"tp", tp},
          {"fp", fp},
          {"tn", tn},
          {"fn", fn},
          {"sensitivity", ratio(tp, tp + fn)},
          {"specificity", ratio(tn, tn + fp)},
          {"ppv", ratio(tp, tp + fp)},
          {"npv", ratio(tn, tn + fn)}};
}

// KM curve points [time, survival] of the merged counts.
absl::StatusOr<json> PooledKm(const std::vector<stats::SurvivalCounts>& parts) {
  SCV_ASSIGN_OR_RETURN(stats::SurvivalCounts merged, stats::MergeSurvivalCounts(parts));
  SCV_ASSIGN_OR_RETURN(stats::KaplanMeierCurve km, stats::KaplanMeier(merged));
  json points = json::array();
  for (const stats::KaplanMeierPoint& p : km.points) points.push_back({p.time, p.survival});
  return json{{"n", merged.total()}, {"points", points}};
}

// The sites' ROC counts summed at the thresholds every site released (node/roc_release.h), with
// the area under the pooled curve; a reason instead when the sums fail.
json PooledRoc(const std::vector<stats::GridRoc>& rocs) {
  absl::StatusOr<stats::GridRoc> sum = stats::SumGridRocs(stats::OnCommonThresholds(rocs));
  absl::StatusOr<double> auc = sum.ok() ? stats::TrapezoidalAuc(*sum) : sum.status();
  if (!auc.ok()) return {{"status", "failed"}, {"reason", std::string(auc.status().message())}};
  json out = stats::ToJson(*sum);
  out.update({{"status", "ok"}, {"sites", rocs.size()}, {"auc_trapezoid", *auc}});
  return out;
}

absl::StatusOr<json> PoolModel(const std::string& name,
                               const std::vector<std::pair<std::string, json>>& sites) {
  json out = {{"name", name}, {"sites", json::object()}};
  std::vector<double> aucs, ses;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  std::vector<std::vector<stats::SurvivalCounts>> groups(3);
  std::vector<stats::LogRankSummary> strata;
  std::vector<stats::GridRoc> rocs;
  for (const auto& [site, m] : sites) {
    json entry = m;
    if (m.value("status", std::string()) == "ok") {
      const json& h = m.at("high_risk");
      entry["high_risk"] = Rates(h.at("tp"), h.at("fp"), h.at("tn"), h.at("fn"));
      entry["high_risk"]["threshold"] = h.at("threshold");
      tp += h.at("tp").get<int64_t>();
      fp += h.at("fp").get<int64_t>();
      tn += h.at("tn").get<int64_t>();
      fn += h.at("fn").get<int64_t>();
      aucs.push_back(m.at("auc").at("auc"));
      ses.push_back(m.at("auc").at("se"));
      if (m.contains("roc") && m.at("roc").is_object()) {  // older nodes sent quantile points
        absl::StatusOr<stats::GridRoc> roc = stats::GridRocFromJson(m.at("roc"));
        absl::StatusOr<double> area = roc.ok() ? stats::TrapezoidalAuc(*roc) : roc.status();
        if (area.ok()) {
          entry["roc"]["auc_trapezoid"] = *area;
          rocs.push_back(*std::move(roc));
        } else {  // only this site's curve is left out (ValidateResult refuses malformed ones)
          entry["roc"] = {{"status", "failed"},
                          {"reason", absl::StrCat("site ", site, ": ", area.status().message())}};
        }
      }
      if (m.contains("groups")) {
        std::vector<stats::SurvivalCounts> site_groups;
        for (const json& g : m.at("groups")) {
          if (g.value("status", std::string()) != "ok") break;
          SCV_ASSIGN_OR_RETURN(stats::SurvivalCounts c,
                               stats::SurvivalCountsFromJson(g.at("counts")));
          site_groups.push_back(std::move(c));
        }
        if (site_groups.size() == 3) {  // a site with a withheld group cannot join the test
          for (int g = 0; g < 3; ++g) groups[g].push_back(site_groups[g]);
          SCV_ASSIGN_OR_RETURN(stats::LogRankSummary s, stats::LogRankContribution(site_groups));
          strata.push_back(std::move(s));
        }
      }
    }
    out["sites"][site] = entry;
  }
  json pooled = {{"sites_used", aucs.size()}};
  if (!aucs.empty()) {
    SCV_ASSIGN_OR_RETURN(stats::MetaAnalysis meta, stats::MetaAnalyze(aucs, ses));
    pooled["auc"] = {{"auc", meta.fixed_effect.estimate},
                     {"ci_lower", meta.fixed_effect.ci_lower},
                     {"ci_upper", meta.fixed_effect.ci_upper},
                     {"i_squared", meta.i_squared}};
    pooled["high_risk"] = Rates(tp, fp, tn, fn);
  }
  if (!rocs.empty()) pooled["roc"] = PooledRoc(rocs);
  if (!strata.empty()) {
    SCV_ASSIGN_OR_RETURN(stats::LogRankResult lr, stats::LogRankFromSummaries(strata));
    pooled["log_rank"] = {{"chi_square", lr.chi_square},
                          {"df", lr.degrees_of_freedom},
                          {"p", lr.p_value},
                          {"sites", strata.size()}};
    json km = json::object();
    const char* names[] = {"low", "medium", "high"};
    for (int g = 0; g < 3; ++g) {
      SCV_ASSIGN_OR_RETURN(km[names[g]], PooledKm(groups[g]));
    }
    pooled["kaplan_meier"] = km;
  }
  out["pooled"] = pooled;
  return out;
}

// One model entry of a site's answer, as PoolModel reads it: a name, a status, and for "ok"
// the high-risk confusion counts, the AUC with its SE, and the ROC counts and survival
// counts when present. May throw on a malformed entry (the caller catches).
absl::Status ValidateModelEntry(const json& m) {
  if (!m.is_object() || !m.contains("name") || !m.at("name").is_string() || !m.contains("status") ||
      !m.at("status").is_string()) {
    return absl::InvalidArgumentError("a model entry needs a string 'name' and 'status'");
  }
  const std::string name = m.at("name").get<std::string>();
  const auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("model '", name, "': ", why));
  };
  if (m.at("status").get<std::string>() != "ok") return absl::OkStatus();
  const json& h = m.value("high_risk", json());
  if (!h.is_object() || !h.contains("threshold") || !h.at("threshold").is_number()) {
    return bad("'high_risk' needs a threshold");
  }
  for (const char* k : {"tp", "fp", "tn", "fn"}) {
    if (!h.contains(k) || !h.at(k).is_number_integer() || h.at(k).get<int64_t>() < 0 ||
        h.at(k).get<int64_t>() > stats::kMaxRocClassSize) {
      return bad(absl::StrCat("high_risk '", k, "' must be a count"));
    }
  }
  const json& auc = m.value("auc", json());
  if (!auc.is_object() || !auc.contains("auc") || !auc.at("auc").is_number() ||
      !auc.contains("se") || !auc.at("se").is_number() ||
      !(auc.at("auc").get<double>() >= 0 && auc.at("auc").get<double>() <= 1) ||
      !(auc.at("se").get<double>() > 0 && std::isfinite(auc.at("se").get<double>()))) {
    return bad("'auc' needs an auc in [0, 1] and a finite se > 0");
  }
  if (m.contains("roc")) {
    absl::StatusOr<stats::GridRoc> roc = stats::GridRocFromJson(m.at("roc"));
    if (!roc.ok()) return bad(std::string(roc.status().message()));
  }
  if (m.contains("groups")) {
    if (!m.at("groups").is_array()) return bad("'groups' must be a list");
    for (const json& g : m.at("groups")) {
      if (!g.is_object() || !g.contains("status") || !g.at("status").is_string()) {
        return bad("each survival group needs a status");
      }
      if (g.at("status").get<std::string>() != "ok") continue;
      if (!g.contains("counts")) return bad("a survival group without counts");
      absl::StatusOr<stats::SurvivalCounts> c = stats::SurvivalCountsFromJson(g.at("counts"));
      if (!c.ok()) return bad(std::string(c.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAnswer(const json& j) {
  if (!j.is_object() || !j.contains("models") || !j.at("models").is_array()) {
    return absl::InvalidArgumentError("result_json: not a model evaluation");
  }
  if (j.contains("split") && !j.at("split").is_string()) {
    return absl::InvalidArgumentError("result_json: 'split' must be a string");
  }
  for (const json& m : j.at("models")) SCV_RETURN_IF_ERROR(ValidateModelEntry(m));
  return absl::OkStatus();
}

class ModelEvaluationStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const {
    const json j = json::parse(spec.spec_json(), nullptr, false);
    if (j.is_discarded() || !j.contains("models") || !j.at("models").is_array() ||
        j.at("models").empty() || !j.contains("outcome") || !j.at("outcome").is_string() ||
        j.at("outcome").get<std::string>().empty()) {
      return absl::InvalidArgumentError(
          "spec_json: needs an outcome and a non-empty 'models' list");
    }
    return absl::OkStatus();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, "");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const json j = json::parse(header.result_json(), nullptr, false);
    absl::Status s;
    try {
      s = ValidateAnswer(j);
    } catch (const std::exception& e) {
      s = absl::InvalidArgumentError(absl::StrCat("result_json: malformed: ", e.what()));
    }
    if (s.ok()) return s;
    return absl::Status(s.code(),
                        absl::StrCat("model_evaluation, site ", task.site_id, ": ", s.message()));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<std::string, json>>> by_model;
    json comparisons = json::object();
    for (const std::string& site : study.spec.sites()) {
      for (const ResultRecord& r : results) {
        if (r.site_id != site) continue;
        const json j = json::parse(r.result_json, nullptr, false);
        if (j.contains("comparisons")) comparisons[site] = j.at("comparisons");
        for (const json& m : j.at("models")) {
          const std::string name = m.value("name", std::string());
          if (!by_model.count(name)) order.push_back(name);
          json entry = m;
          entry["split"] = j.value("split", std::string("all"));
          by_model[name].push_back({site, entry});
        }
      }
    }
    const json spec = json::parse(study.spec.spec_json(), nullptr, false);
    json models = json::array();
    try {
      for (const std::string& name : order) {
        SCV_ASSIGN_OR_RETURN(json pooled, PoolModel(name, by_model[name]));
        models.push_back(std::move(pooled));
      }
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("model evaluation: malformed site result: ", e.what()));
    }
    RoundOutcome out;
    out.result_json = json{
        {"analysis", "model_evaluation"},
        {"outcome", spec.value("outcome", std::string())},
        {"sites", study.spec.sites()},
        {"models", models},
        {"comparisons",
         comparisons}}.dump();
    out.study_done = true;
    return out;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateModelEvaluationStudyLogic(
    const v1::StudySpec& spec) {
  auto logic = std::make_unique<ModelEvaluationStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

SCANCOV_REGISTER_STUDY_LOGIC(model_evaluation, &CreateModelEvaluationStudyLogic);

}  // namespace scancov::aggregator
