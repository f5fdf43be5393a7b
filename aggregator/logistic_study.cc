// Exact federated logistic regression over the network, by Newton steps.
//
// spec_json: {"analysis": "logistic_regression", "outcome": "severe",
//             "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "age", ...],
//             "l2": 0.0, "max_iterations": 30, "tolerance": 1e-10}
// Round r: every site receives the coefficients as a checkpoint holding one float64 tensor
// "beta" (none in round 0: beta = 0), evaluates its complete-case rows' gradient, information
// and log-likelihood there (stats::LogisticSiteData) and returns only these sums. Closing the
// round adds the sites' summaries (a sum of summaries is the pooled data's summary) and replays
// the Newton coordinator over the pooled summaries of every round so far; it is deterministic,
// so the replay reproduces the same steps, step halvings included, after any restart. The next
// coefficients become the next round's checkpoint; at convergence the fit (coefficients, SEs,
// Wald tests, odds ratios) is the round's result and the study is done. The fit equals the one
// on the pooled rows (tests/federated_logistic_test.cc).
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/newton_rounds.h"
#include "aggregator/study_logic.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/logistic_newton.h"
#include "models/stats/summary_json.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;

struct LogisticSpec {
  std::vector<std::string> terms;  // "(intercept)" then the features
  stats::LogisticOptions options;
};

absl::StatusOr<LogisticSpec> ParseSpec(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("spec_json: not JSON");
  if (!j.contains("features") || !j.at("features").is_array() || j.at("features").empty()) {
    return absl::InvalidArgumentError("spec_json: 'features' must be a non-empty list");
  }
  if (j.value("outcome", std::string()).empty()) {
    return absl::InvalidArgumentError("spec_json: 'outcome' is required");
  }
  LogisticSpec spec;
  spec.terms.push_back("(intercept)");
  for (const json& f : j.at("features")) {
    if (f.is_string()) {
      spec.terms.push_back(f.get<std::string>());
    } else if (f.is_object() && f.contains("name")) {
      spec.terms.push_back(f.at("name").get<std::string>());
    } else {
      return absl::InvalidArgumentError("spec_json: each feature needs a name");
    }
  }
  spec.options.l2_penalty = j.value("l2", 0.0);
  spec.options.max_iterations = j.value("max_iterations", 30);
  spec.options.tolerance = j.value("tolerance", 1e-10);
  if (spec.options.l2_penalty < 0 || spec.options.max_iterations < 1) {
    return absl::InvalidArgumentError("spec_json: l2 >= 0 and max_iterations >= 1");
  }
  return spec;
}

protocol::TensorSet BetaCheckpoint(const std::vector<double>& beta) {
  protocol::TensorSet set;
  (void)set.Add(protocol::FromDoubles("beta", {static_cast<int64_t>(beta.size())},
                                      protocol::DType::kFloat64, beta));
  return set;
}

json FitJson(const LogisticSpec& spec, const stats::LogisticFit& fit) {
  json terms = json::array();
  const double z95 = stats::NormalQuantile(0.975);
  for (size_t i = 0; i < spec.terms.size(); ++i) {
    const double b = fit.coefficients[i], se = fit.standard_errors[i];
    terms.push_back({{"term", spec.terms[i]},
                     {"beta", b},
                     {"se", se},
                     {"z", fit.z[i]},
                     {"p", fit.p_values[i]},
                     {"or", std::exp(b)},
                     {"ci_lower", std::exp(b - z95 * se)},
                     {"ci_upper", std::exp(b + z95 * se)}});
  }
  return {{"converged", true},
          {"iterations", fit.iterations},
          {"n", fit.num_observations},
          {"events", fit.num_events},
          {"log_likelihood", fit.log_likelihood},
          {"l2", spec.options.l2_penalty},
          {"coefficients", terms}};
}

class LogisticStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
    return ParseSpec(spec.spec_json()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const json j = json::parse(header.result_json(), nullptr, false);
    if (!j.is_discarded() && j.value("status", std::string()) == "refused") return absl::OkStatus();
    if (j.is_discarded() || !j.contains("summary")) {
      return absl::InvalidArgumentError("result_json: no logistic summary");
    }
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                         stats::LogisticSiteSummaryFromJson(j.at("summary")));
    const protocol::Tensor* beta = input ? input->Find("beta") : nullptr;
    if (input != nullptr && beta == nullptr) {
      return absl::FailedPreconditionError("the round's checkpoint holds no 'beta'");
    }
    const std::vector<double> expected =
        beta ? protocol::ToDoubles(*beta) : std::vector<double>(s.beta.size(), 0.0);
    if (s.beta != expected) {
      return absl::InvalidArgumentError("summary evaluated at other coefficients than the task's");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(LogisticSpec spec, ParseSpec(study.spec.spec_json()));
    std::vector<stats::LogisticSiteSummary> sites;
    json refused = json::array();
    for (const ResultRecord& r : results) {
      const json j = json::parse(r.result_json, nullptr, false);
      if (j.value("status", std::string()) == "refused") {
        refused.push_back({{"site", r.site_id}, {"reason", j.value("reason", std::string())}});
        continue;
      }
      SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                           stats::LogisticSiteSummaryFromJson(j.at("summary")));
      sites.push_back(std::move(s));
    }
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(sites));
    SCV_ASSIGN_OR_RETURN(stats::LogisticNewtonCoordinator newton,
                         ReplayNewton(
                             static_cast<int>(spec.terms.size()), spec.options, history,
                             [](const json&) { return true; }, pooled));
    RoundOutcome out;
    json result = {{"analysis", "logistic_regression"},
                   {"pooled_summary", stats::ToJson(pooled)},
                   {"sites", static_cast<int>(sites.size())},
                   {"refused", refused}};
    out.metrics["n"] = static_cast<double>(pooled.num_observations);
    out.metrics["log_likelihood"] = pooled.log_likelihood;
    if (newton.converged()) {
      SCV_ASSIGN_OR_RETURN(stats::LogisticFit fit, newton.Result());
      result["fit"] = FitJson(spec, fit);
      out.study_done = true;
    } else {
      out.weights = BetaCheckpoint(newton.next_beta());
    }
    out.result_json = result.dump();
    return out;
  }
};

}  // namespace

std::unique_ptr<StudyLogic> MakeLogisticStudyLogic() {
  return std::make_unique<LogisticStudyLogic>();
}

}  // namespace scancov::aggregator
