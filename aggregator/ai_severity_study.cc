// AI-severity as one federated study (after the seed's AI-severity: a CNN embeds lung-masked,
// windowed slices; embeddings pooled per scan; PCA; penalized logistic regression), each step
// federated and the last two exact:
//
//   round 0            INIT_MODEL  the slice encoder (plan.model "slice_encoder")
//   rounds 1..R        TRAIN       the encoder at every site (weak labels: the scan's outcome),
//                                  aggregated by spec.strategy
//   round R+1 (PCA)    ANALYZE     each site embeds its training scans and returns n, the sum of
//                                  the embeddings and the sum of their outer products; closing
//                                  computes the pooled covariance and its top K eigenvectors
//                                  (exact federated PCA) and adds them to the checkpoint
//   Newton rounds      ANALYZE     penalized logistic regression of the outcome on the K
//                                  standardized components, by exact federated Newton steps
//                                  (stats::LogisticNewtonCoordinator replayed over the rounds)
//   final round        EVALUATE    each site (and each held-out evaluation site, on all its
//                                  scans) reports the AUC of the CT-only AI-severity probability
//
// spec_json: {"task": "ai_severity", "outcome": "severe", "encoder": {...slice encoder
//   config...}, "pca_components": 40, "l2": 1.0, "max_newton": 30, "validation_fraction": 0.25}
// Each round's result_json says which phase comes next ("next": "newton" | "evaluate").
#include <Eigen/Dense>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/newton_rounds.h"
#include "aggregator/strategy.h"
#include "aggregator/study_logic.h"
#include "core/status_macros.h"
#include "models/stats/logistic_newton.h"
#include "models/stats/summary_json.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

struct Spec {
  int components = 40;
  stats::LogisticOptions logistic;
};

absl::StatusOr<Spec> ParseSpec(const v1::StudySpec& study) {
  const json j = json::parse(study.spec_json(), nullptr, false);
  if (j.is_discarded() || j.value("task", std::string()) != "ai_severity") {
    return absl::InvalidArgumentError("spec_json: task must be ai_severity");
  }
  if (j.value("outcome", std::string()).empty()) {
    return absl::InvalidArgumentError("spec_json: outcome is required");
  }
  Spec s;
  s.components = j.value("pca_components", 40);
  s.logistic.l2_penalty = j.value("l2", 1.0);
  s.logistic.max_iterations = j.value("max_newton", 30);
  if (s.components < 1 || s.components > 512 || s.logistic.l2_penalty < 0) {
    return absl::InvalidArgumentError("spec_json: pca_components in 1..512, l2 >= 0");
  }
  return s;
}

std::string Phase(uint32_t round, const StudyRecord& study,
                  const std::vector<RoundRecord>& history) {
  const uint32_t r = study.spec.rounds();
  if (round == 0) return "init";
  if (round <= r) return "train";
  if (round == r + 1) return "pca";
  const json last =
      history.empty() ? json() : json::parse(history.back().result_json, nullptr, false);
  return last.is_object() ? last.value("next", std::string("evaluate")) : "evaluate";
}

std::vector<double> Values(const protocol::TensorSet& set, const char* name) {
  const protocol::Tensor* t = set.Find(name);
  return t ? protocol::ToDoubles(*t) : std::vector<double>();
}

// The checkpoint with `extra` tensors replaced or added.
absl::StatusOr<protocol::TensorSet> With(const protocol::TensorSet& base,
                                         const std::vector<protocol::Tensor>& extra) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : base.tensors()) {
    bool replaced = false;
    for (const protocol::Tensor& e : extra) replaced |= e.name == t.name;
    if (!replaced) SCV_RETURN_IF_ERROR(out.Add(t));
  }
  for (const protocol::Tensor& e : extra) SCV_RETURN_IF_ERROR(out.Add(e));
  return out;
}

absl::StatusOr<RoundOutcome> ClosePca(const Spec& spec, const protocol::TensorSet& input,
                                      const std::vector<ResultRecord>& results) {
  double n = 0;
  Eigen::VectorXd sum;
  Eigen::MatrixXd cross;
  for (const ResultRecord& r : results) {
    const json j = json::parse(r.result_json, nullptr, false);
    if (j.value("status", std::string()) != "ok") continue;
    const std::vector<double> s = j.at("sum").get<std::vector<double>>();
    const std::vector<double> c = j.at("cross").get<std::vector<double>>();
    const int d = static_cast<int>(s.size());
    if (sum.size() == 0) {
      sum = Eigen::VectorXd::Zero(d);
      cross = Eigen::MatrixXd::Zero(d, d);
    }
    if (sum.size() != d || static_cast<int>(c.size()) != d * d) {
      return absl::InvalidArgumentError(absl::StrCat("site '", r.site_id, "': sizes differ"));
    }
    n += j.at("n").get<double>();
    sum += Eigen::Map<const Eigen::VectorXd>(s.data(), d);
    cross += Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(c.data(), d, d);
  }
  if (n < 2) return absl::FailedPreconditionError("PCA: fewer than two embedded scans");
  const Eigen::VectorXd mean = sum / n;
  const Eigen::MatrixXd cov = (cross - n * mean * mean.transpose()) / (n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(cov);
  const int d = static_cast<int>(mean.size());
  const int k = std::min(spec.components, d);
  std::vector<double> components, scale;
  for (int i = 0; i < k; ++i) {  // eigenvalues ascend: take from the end
    const int col = d - 1 - i;
    for (int j = 0; j < d; ++j) components.push_back(eigen.eigenvectors()(j, col));
    scale.push_back(std::sqrt(std::max(eigen.eigenvalues()[col], 1e-12)));
  }
  std::vector<double> mean_v(mean.data(), mean.data() + d);
  SCV_ASSIGN_OR_RETURN(
      protocol::TensorSet next,
      With(input,
           {protocol::FromDoubles("pca.mean", {d}, protocol::DType::kFloat64, mean_v),
            protocol::FromDoubles("pca.components", {k, d}, protocol::DType::kFloat64, components),
            protocol::FromDoubles("pca.scale", {k}, protocol::DType::kFloat64, scale),
            protocol::FromDoubles("beta", {k + 1}, protocol::DType::kFloat64,
                                  std::vector<double>(k + 1, 0.0))}));
  double explained = 0, total = eigen.eigenvalues().sum();
  for (int i = 0; i < k; ++i) explained += eigen.eigenvalues()[d - 1 - i];
  RoundOutcome out;
  out.weights = std::move(next);
  out.metrics["pca.n_scans"] = n;
  out.metrics["pca.explained_variance"] = total > 0 ? explained / total : 0;
  out.result_json = json{{"phase", "pca"}, {"next", "newton"}, {"components", k}}.dump();
  return out;
}

absl::StatusOr<RoundOutcome> CloseNewton(const Spec& spec, const protocol::TensorSet& input,
                                         const std::vector<ResultRecord>& results,
                                         const std::vector<RoundRecord>& history) {
  std::vector<stats::LogisticSiteSummary> sites;
  for (const ResultRecord& r : results) {
    const json j = json::parse(r.result_json, nullptr, false);
    if (j.value("status", std::string()) != "ok") continue;
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                         stats::LogisticSiteSummaryFromJson(j.at("summary")));
    sites.push_back(std::move(s));
  }
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(sites));
  const int p = static_cast<int>(pooled.gradient.size());
  SCV_ASSIGN_OR_RETURN(
      stats::LogisticNewtonCoordinator newton,
      ReplayNewton(
          p, spec.logistic, history,
          [](const json& j) { return j.value("phase", std::string()) == "newton"; }, pooled));
  RoundOutcome out;
  json result = {{"phase", "newton"}, {"pooled_summary", stats::ToJson(pooled)}};
  std::vector<double> beta = newton.next_beta();
  if (newton.converged()) {
    SCV_ASSIGN_OR_RETURN(stats::LogisticFit fit, newton.Result());
    beta.assign(fit.coefficients.data(), fit.coefficients.data() + fit.coefficients.size());
    result["next"] = "evaluate";
    result["fit"] = {{"iterations", fit.iterations},
                     {"n", fit.num_observations},
                     {"events", fit.num_events},
                     {"log_likelihood", fit.log_likelihood}};
  } else {
    result["next"] = "newton";
  }
  SCV_ASSIGN_OR_RETURN(
      out.weights,
      With(input, {protocol::FromDoubles("beta", {p}, protocol::DType::kFloat64, beta)}));
  out.metrics["log_likelihood"] = pooled.log_likelihood;
  out.result_json = result.dump();
  return out;
}

class AiSeverityStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
    if (spec.rounds() < 1) return absl::InvalidArgumentError("study spec: rounds must be >= 1");
    SCV_RETURN_IF_ERROR(ParseSpec(spec).status());
    return MakeStrategy(spec.strategy()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input) const override {
    return PlanRound(study, round, input, {});
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input,
                                    const std::vector<RoundRecord>& history) const override {
    const std::string phase = Phase(round, study, history);
    if (phase == "init") {
      TaskRecord t;
      t.task_id = absl::StrCat(study.study_id, "/r0/init");
      t.study_id = study.study_id;
      t.kind = v1::TASK_KIND_INIT_MODEL;
      return {t};
    }
    const v1::TaskKind kind = phase == "train"      ? v1::TASK_KIND_TRAIN
                              : phase == "evaluate" ? v1::TASK_KIND_EVALUATE
                                                    : v1::TASK_KIND_ANALYZE;
    return TasksPerSite(study, round, kind, input, phase == "evaluate");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    for (const auto& [name, value] : header.metrics()) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric '", name, "' is not finite"));
      }
    }
    if (task.kind == v1::TASK_KIND_INIT_MODEL || task.kind == v1::TASK_KIND_TRAIN) {
      if (weights == nullptr) return absl::InvalidArgumentError("result without weights");
      if (task.kind == v1::TASK_KIND_TRAIN && input != nullptr) {
        SCV_RETURN_IF_ERROR(Annotate(input->CheckSameLayout(*weights), "update"));
      }
      return Annotate(protocol::CheckAllFinite(*weights), "update");
    }
    if (weights != nullptr) return absl::InvalidArgumentError("this result carries no weights");
    if (task.kind == v1::TASK_KIND_ANALYZE) {
      const json j = json::parse(header.result_json(), nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("status")) {
        return absl::InvalidArgumentError("result_json: not an AI-severity site result");
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(Spec spec, ParseSpec(study.spec));
    const std::string phase = Phase(round, study, history);
    RoundOutcome out;
    out.metrics = CombineMetrics(results);
    if (phase == "init") {
      if (results.empty() || !results[0].weights) {
        return absl::FailedPreconditionError("round 0 closed without initial weights");
      }
      out.weights = *results[0].weights;
      return out;
    }
    if (input == nullptr) return absl::FailedPreconditionError("round without a checkpoint");
    if (phase == "train") {
      SCV_ASSIGN_OR_RETURN(std::unique_ptr<AggregationStrategy> strategy,
                           MakeStrategy(study.spec.strategy()));
      std::vector<ClientUpdate> updates;
      for (const ResultRecord& r : results) {
        updates.push_back({r.site_id, r.num_samples, r.weights ? &*r.weights : nullptr});
      }
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet next, strategy->Aggregate(*input, updates));
      out.weights = std::move(next);
      return out;
    }
    if (phase == "pca") return ClosePca(spec, *input, results);
    if (phase == "newton") return CloseNewton(spec, *input, results, history);
    out.study_done = true;  // evaluate
    out.result_json = json{{"phase", "evaluate"}}.dump();
    return out;
  }
};

}  // namespace

std::unique_ptr<StudyLogic> MakeAiSeverityStudyLogic() {
  return std::make_unique<AiSeverityStudyLogic>();
}

}  // namespace scancov::aggregator
