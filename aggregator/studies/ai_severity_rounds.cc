#include "aggregator/studies/ai_severity_rounds.h"

#include <Eigen/Dense>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/studies/newton_rounds.h"
#include "core/status_macros.h"
#include "models/stats/logistic_newton.h"
#include "models/stats/summary_json.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;
using Spec = AiSeveritySpec;

constexpr size_t kMaxMembers = 8;

absl::Status CheckMembers(const json& j) {
  if (j.contains("encoder") && j.contains("encoders")) {
    return absl::InvalidArgumentError("spec_json: give \"encoder\" or \"encoders\", not both");
  }
  if (j.contains("encoder") && !j.at("encoder").is_object()) {
    return absl::InvalidArgumentError("spec_json: \"encoder\" must be an object");
  }
  if (!j.contains("encoders")) return absl::OkStatus();
  const json& e = j.at("encoders");
  if (!e.is_array() || e.empty() || e.size() > kMaxMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_json: \"encoders\" must be an array of 1..", kMaxMembers, " configs"));
  }
  for (size_t m = 0; m < e.size(); ++m) {
    if (!e[m].is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("spec_json: encoders[", m, "] not an object"));
    }
    for (size_t k = 0; k < m; ++k) {
      if (e[k] == e[m]) {  // same config, same seed: the same model twice
        return absl::InvalidArgumentError(
            absl::StrCat("spec_json: encoders[", k, "] and encoders[", m, "] are identical"));
      }
    }
  }
  return absl::OkStatus();
}

std::string MemberMetric(const Spec& spec, const char* name, int m) {
  return spec.members > 1 ? absl::StrCat(name, "_m", m) : name;
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

// The site results that say "ok", parsed, with member m's entry checked to be an object.
struct SiteResult {
  std::string site_id;
  json body;
};

absl::StatusOr<std::vector<SiteResult>> OkResults(const Spec& spec,
                                                  const std::vector<ResultRecord>& results) {
  std::vector<SiteResult> out;
  for (const ResultRecord& r : results) {
    json j = json::parse(r.result_json, nullptr, false);
    if (!j.is_object() || j.value("status", std::string()) != "ok") continue;
    const json* members = j.contains("members") ? &j.at("members") : nullptr;
    if (members == nullptr || !members->is_array() ||
        static_cast<int>(members->size()) != spec.members) {
      return absl::InvalidArgumentError(absl::StrCat(
          "site '", r.site_id, "': expected one result per member (", spec.members, ")"));
    }
    for (const json& m : *members) {
      if (!m.is_object()) {
        return absl::InvalidArgumentError(absl::StrCat("site '", r.site_id, "': member result"));
      }
    }
    out.push_back({r.site_id, std::move(j)});
  }
  return out;
}

absl::StatusOr<std::vector<double>> Doubles(const json& j, const char* key,
                                            const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no array \"", key, "\""));
  }
  std::vector<double> out;
  for (const json& v : j.at(key)) {
    if (!v.is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": \"", key, "\" not numeric"));
    }
    out.push_back(v.get<double>());
  }
  return out;
}

struct PcaSums {
  double n = 0;
  Eigen::VectorXd sum;
  Eigen::MatrixXd cross;
};

absl::Status AddSums(const json& j, const std::string& where, PcaSums* total) {
  SCV_ASSIGN_OR_RETURN(std::vector<double> s, Doubles(j, "sum", where));
  SCV_ASSIGN_OR_RETURN(std::vector<double> c, Doubles(j, "cross", where));
  const int d = static_cast<int>(s.size());
  if (total->sum.size() == 0) {
    total->sum = Eigen::VectorXd::Zero(d);
    total->cross = Eigen::MatrixXd::Zero(d, d);
  }
  if (total->sum.size() != d || static_cast<int>(c.size()) != d * d || !j.contains("n") ||
      !j.at("n").is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": sizes differ"));
  }
  total->n += j.at("n").get<double>();
  total->sum += Eigen::Map<const Eigen::VectorXd>(s.data(), d);
  total->cross += Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(c.data(), d, d);
  return absl::OkStatus();
}

// Member m's PCA tensors (and a zero beta) from the pooled sums; `explained` is the share of
// the variance its components keep.
absl::StatusOr<std::vector<protocol::Tensor>> PcaTensors(const PcaSums& sums, int components, int m,
                                                         double* explained) {
  const double n = sums.n;
  if (n < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("PCA of member ", m, ": fewer than two embedded scans"));
  }
  const Eigen::VectorXd mean = sums.sum / n;
  const Eigen::MatrixXd cov = (sums.cross - n * mean * mean.transpose()) / (n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(cov);
  const int d = static_cast<int>(mean.size());
  const int k = std::min(components, d);
  std::vector<double> comp, scale;
  double kept = 0;
  for (int i = 0; i < k; ++i) {  // eigenvalues ascend: take from the end
    const int col = d - 1 - i;
    for (int j = 0; j < d; ++j) comp.push_back(eigen.eigenvectors()(j, col));
    scale.push_back(std::sqrt(std::max(eigen.eigenvalues()[col], 1e-12)));
    kept += eigen.eigenvalues()[col];
  }
  const double total = eigen.eigenvalues().sum();
  *explained = total > 0 ? kept / total : 0;
  const std::string p = AiSeverityMemberPrefix(m);
  std::vector<double> mean_v(mean.data(), mean.data() + d);
  return std::vector<protocol::Tensor>{
      protocol::FromDoubles(p + "pca.mean", {d}, protocol::DType::kFloat64, mean_v),
      protocol::FromDoubles(p + "pca.components", {k, d}, protocol::DType::kFloat64, comp),
      protocol::FromDoubles(p + "pca.scale", {k}, protocol::DType::kFloat64, scale),
      protocol::FromDoubles(p + "beta", {k + 1}, protocol::DType::kFloat64,
                            std::vector<double>(k + 1, 0.0))};
}

// Member m's pooled summaries of the earlier Newton rounds, in order, and whether it converged.
struct NewtonHistory {
  std::vector<stats::LogisticSiteSummary> steps;
  bool converged = false;
};

absl::StatusOr<NewtonHistory> PastNewton(const std::vector<RoundRecord>& history, int m) {
  NewtonHistory out;
  for (const RoundRecord& past : history) {
    const json j = json::parse(past.result_json, nullptr, false);
    if (!j.is_object() || j.value("phase", std::string()) != "newton") continue;
    const json* members = j.contains("members") ? &j.at("members") : nullptr;
    if (members == nullptr || !members->is_array() || static_cast<int>(members->size()) <= m) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": no member ", m));
    }
    const json& mine = (*members)[m];
    if (mine.contains("pooled_summary")) {
      SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                           stats::LogisticSiteSummaryFromJson(mine.at("pooled_summary")));
      out.steps.push_back(std::move(s));
    }
    out.converged |= mine.contains("fit");
  }
  return out;
}

// One Newton step for member m: its coordinator replayed over the earlier rounds, then this
// round's pooled summary. Adds the member's new beta to `extra` and returns its result entry.
absl::StatusOr<json> NewtonMember(const Spec& spec, int m, const std::vector<SiteResult>& sites,
                                  const std::vector<RoundRecord>& history,
                                  std::vector<protocol::Tensor>* extra, Metrics* metrics) {
  SCV_ASSIGN_OR_RETURN(NewtonHistory past, PastNewton(history, m));
  if (past.converged) return json{{"waiting", true}};  // its beta stays in the checkpoint
  std::vector<stats::LogisticSiteSummary> summaries;
  for (const SiteResult& s : sites) {
    const json& mine = s.body.at("members")[m];
    if (!mine.contains("summary")) {
      return absl::InvalidArgumentError(
          absl::StrCat("site '", s.site_id, "', member ", m, ": no summary"));
    }
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary summary,
                         stats::LogisticSiteSummaryFromJson(mine.at("summary")));
    summaries.push_back(std::move(summary));
  }
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(summaries));
  const int p = static_cast<int>(pooled.gradient.size());
  SCV_ASSIGN_OR_RETURN(stats::LogisticNewtonCoordinator newton,
                       stats::LogisticNewtonCoordinator::Create(p, spec.logistic));
  for (const stats::LogisticSiteSummary& s : past.steps) SCV_RETURN_IF_ERROR(newton.Update({s}));
  SCV_RETURN_IF_ERROR(newton.Update({pooled}));
  json result = {{"pooled_summary", stats::ToJson(pooled)}};
  std::vector<double> beta = newton.next_beta();
  if (newton.converged()) {
    SCV_ASSIGN_OR_RETURN(stats::LogisticFit fit, newton.Result());
    beta.assign(fit.coefficients.data(), fit.coefficients.data() + fit.coefficients.size());
    result["fit"] = {{"iterations", fit.iterations},
                     {"n", fit.num_observations},
                     {"events", fit.num_events},
                     {"log_likelihood", fit.log_likelihood},
                     {"coefficients", beta}};
  }
  extra->push_back(protocol::FromDoubles(AiSeverityMemberPrefix(m) + "beta", {p},
                                         protocol::DType::kFloat64, beta));
  (*metrics)[MemberMetric(spec, "log_likelihood", m)] = pooled.log_likelihood;
  return result;
}

}  // namespace

absl::StatusOr<AiSeveritySpec> ParseAiSeveritySpec(const v1::StudySpec& study) {
  const json j = json::parse(study.spec_json(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("task", std::string()) != "ai_severity") {
    return absl::InvalidArgumentError("spec_json: task must be ai_severity");
  }
  if (j.value("outcome", std::string()).empty()) {
    return absl::InvalidArgumentError("spec_json: outcome is required");
  }
  SCV_RETURN_IF_ERROR(CheckMembers(j));
  Spec s;
  s.members = j.contains("encoders") ? static_cast<int>(j.at("encoders").size()) : 1;
  s.components = j.value("pca_components", 40);
  s.logistic.l2_penalty = j.value("l2", 1.0);
  s.logistic.max_iterations = j.value("max_newton", 30);
  if (s.components < 1 || s.components > 512 || s.logistic.l2_penalty < 0) {
    return absl::InvalidArgumentError("spec_json: pca_components in 1..512, l2 >= 0");
  }
  return s;
}

std::string AiSeverityMemberPrefix(int m) { return absl::StrCat("m", m, "/"); }

absl::StatusOr<RoundOutcome> CloseAiSeverityPca(const AiSeveritySpec& spec,
                                                const protocol::TensorSet& input,
                                                const std::vector<ResultRecord>& results) {
  SCV_ASSIGN_OR_RETURN(std::vector<SiteResult> sites, OkResults(spec, results));
  RoundOutcome out;
  std::vector<protocol::Tensor> extra;
  json members = json::array();
  for (int m = 0; m < spec.members; ++m) {
    PcaSums sums;
    for (const SiteResult& s : sites) {
      SCV_RETURN_IF_ERROR(AddSums(s.body.at("members")[m],
                                  absl::StrCat("site '", s.site_id, "', member ", m), &sums));
    }
    double explained = 0;
    SCV_ASSIGN_OR_RETURN(std::vector<protocol::Tensor> tensors,
                         PcaTensors(sums, spec.components, m, &explained));
    const int k = static_cast<int>(tensors[2].shape[0]);
    for (protocol::Tensor& t : tensors) extra.push_back(std::move(t));
    out.metrics[MemberMetric(spec, "pca.explained_variance", m)] = explained;
    out.metrics["pca.n_scans"] = sums.n;
    members.push_back({{"components", k}, {"explained_variance", explained}});
  }
  SCV_ASSIGN_OR_RETURN(out.weights, With(input, extra));
  out.result_json = json{{"phase", "pca"}, {"next", "newton"}, {"members", members}}.dump();
  return out;
}

absl::StatusOr<RoundOutcome> CloseAiSeverityNewton(const AiSeveritySpec& spec,
                                                   const protocol::TensorSet& input,
                                                   const std::vector<ResultRecord>& results,
                                                   const std::vector<RoundRecord>& history) {
  SCV_ASSIGN_OR_RETURN(std::vector<SiteResult> sites, OkResults(spec, results));
  RoundOutcome out;
  std::vector<protocol::Tensor> extra;
  json members = json::array();
  bool all_converged = true;
  for (int m = 0; m < spec.members; ++m) {
    SCV_ASSIGN_OR_RETURN(json member, NewtonMember(spec, m, sites, history, &extra, &out.metrics));
    all_converged &= member.contains("fit") || member.contains("waiting");
    members.push_back(std::move(member));
  }
  SCV_ASSIGN_OR_RETURN(out.weights, With(input, extra));
  out.result_json = json{
      {"phase", "newton"},
      {"next", all_converged ? "evaluate" : "newton"},
      {"members",
       members}}.dump();
  return out;
}

}  // namespace scancov::aggregator
