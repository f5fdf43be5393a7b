// Exact federated logistic regression over the network, by Newton steps.
//
// spec_json: {"analysis": "logistic_regression", "outcome": "severe",
//             "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "age", ...],
//             "l2": 0.0, "max_iterations": 30, "tolerance": 1e-10, "terciles": true}
// Round r: every site receives the coefficients as a checkpoint holding one float64 tensor
// "beta" (none in round 0: beta = 0), evaluates its complete-case rows' gradient, information
// and log-likelihood there (stats::LogisticSiteData) and returns only these sums. Closing the
// round adds the sites' summaries (a sum of summaries is the pooled data's summary) and replays
// the Newton coordinator over the pooled summaries of every round so far; it is deterministic,
// so the replay reproduces the same steps, step halvings included, after any restart. The next
// coefficients become the next round's checkpoint; at convergence the fit (coefficients, SEs,
// Wald tests, odds ratios) is the round's result. The fit equals the one on the pooled rows
// (tests/federated_logistic_test.cc).
//
// Then, unless the spec says "terciles": false, a few "terciles" rounds (tercile_rounds.h) find
// the 1/3- and 2/3-quantiles of the fitted model's training probabilities from counts only; the
// last round's fit carries them as "terciles" [t1, t2] with the 1-5 scale's "five_level_cuts"
// (models/scores/risk_classes.h), and the study is done. A terciles phase that cannot finish
// (a site that counts other rows than it fitted, too many tied scores) leaves the fit as it is
// with a "terciles_error".
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/newton_rounds.h"
#include "aggregator/studies/round_helpers.h"
#include "aggregator/studies/tercile_rounds.h"
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
  bool terciles = true;  // the terciles phase after convergence
};

absl::StatusOr<LogisticSpec> ParseSpecJson(const json& j);

// Never throws: a spec with a field of the wrong type is InvalidArgument.
absl::StatusOr<LogisticSpec> ParseSpec(const std::string& text) {
  try {
    return ParseSpecJson(json::parse(text, nullptr, false));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("spec_json: malformed: ", e.what()));
  }
}

absl::StatusOr<LogisticSpec> ParseSpecJson(const json& j) {
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
  if (j.contains("terciles") && !j.at("terciles").is_boolean()) {
    return absl::InvalidArgumentError("spec_json: 'terciles' must be true or false");
  }
  spec.terciles = j.value("terciles", true);
  if (spec.options.l2_penalty < 0 || spec.options.max_iterations < 1) {
    return absl::InvalidArgumentError("spec_json: l2 >= 0 and max_iterations >= 1");
  }
  return spec;
}

protocol::TensorSet BetaCheckpoint(const std::vector<double>& beta) {
  return TercileCheckpoint(beta, {});
}

// A site's answer that says it takes no part ({"status": "refused", "reason": "..."}).
bool IsRefusal(const json& j) {
  return j.is_object() && j.contains("status") && j.at("status").is_string() &&
         j.at("status").get<std::string>() == "refused";
}

// The checks of ValidateResult, which may throw on a malformed answer (caught there).
absl::Status ValidateAnswer(const json& j, const protocol::TensorSet* input) {
  if (!j.is_object()) return absl::InvalidArgumentError("result_json: not a JSON object");
  if (j.contains("status") && !j.at("status").is_string()) {
    return absl::InvalidArgumentError("result_json: 'status' must be a string");
  }
  if (IsRefusal(j)) {
    if (j.contains("reason") && !j.at("reason").is_string()) {
      return absl::InvalidArgumentError("result_json: 'reason' must be a string");
    }
    return absl::OkStatus();
  }
  const protocol::Tensor* candidates = input ? input->Find(kTercileCandidates) : nullptr;
  if (candidates != nullptr) {
    return ValidateTercileCounts(j, protocol::ToDoubles(*candidates).size());
  }
  if (!j.contains("summary")) return absl::InvalidArgumentError("result_json: no logistic summary");
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

// Sites' answers: the refusals listed, the others' JSON kept.
json SplitRefused(const std::vector<ResultRecord>& results, std::vector<json>& accepted) {
  json refused = json::array();
  for (const ResultRecord& r : results) {
    json j = json::parse(r.result_json, nullptr, false);
    if (IsRefusal(j)) {
      const bool has_reason = j.contains("reason") && j.at("reason").is_string();
      refused.push_back(
          {{"site", r.site_id}, {"reason", has_reason ? j.at("reason").get<std::string>() : ""}});
    } else {
      accepted.push_back(std::move(j));
    }
  }
  return refused;
}

// A terciles round: pool the counts, advance the replayed search, ask again or finish.
absl::StatusOr<RoundOutcome> CloseTercileRound(const protocol::TensorSet& input,
                                               const std::vector<ResultRecord>& results,
                                               const std::vector<RoundRecord>& history) {
  if (history.empty()) return absl::DataLossError("terciles round without a fitted model");
  const json previous = json::parse(history.back().result_json, nullptr, false);
  if (!previous.is_object() || !previous.contains("fit")) {
    return absl::DataLossError("terciles round: the previous round holds no fit");
  }
  const protocol::Tensor* beta = input.Find("beta");
  if (beta == nullptr) return absl::DataLossError("terciles round: the checkpoint has no 'beta'");
  json fit = previous.at("fit");
  const int64_t n = fit.value("n", int64_t{0});
  const std::vector<double> asked = protocol::ToDoubles(*input.Find(kTercileCandidates));
  std::vector<json> accepted;
  const json refused = SplitRefused(results, accepted);
  std::vector<int64_t> pooled(asked.size(), 0);
  int64_t rows = 0;
  for (const json& j : accepted) {
    const std::vector<int64_t> c = j.at("tercile_counts").get<std::vector<int64_t>>();
    for (size_t i = 0; i < pooled.size(); ++i) pooled[i] += c[i];
    rows += j.at("n_rows").get<int64_t>();
  }
  json result = {{"analysis", "logistic_regression"},
                 {"phase", "terciles"},
                 {kTercileCandidates, asked},
                 {"tercile_pooled_counts", pooled},
                 {"sites", static_cast<int>(accepted.size())},
                 {"refused", refused}};
  RoundOutcome out;
  out.metrics["n"] = static_cast<double>(rows);
  SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search, ReplayTerciles(n, history));
  absl::Status step = rows == n ? absl::OkStatus()
                                : absl::FailedPreconditionError(absl::StrCat(
                                      "the sites counted ", rows, " rows, the fit used ", n));
  if (step.ok() && search.Candidates() != asked) {
    return absl::DataLossError("terciles round: the checkpoint's candidates are not the search's");
  }
  if (step.ok()) step = search.Update(pooled);
  if (!step.ok()) {
    fit["terciles_error"] = absl::StrCat("terciles: ", step.message());
  } else if (search.done()) {
    fit.update(TercilesJson(search));
  } else {
    out.weights = TercileCheckpoint(protocol::ToDoubles(*beta), search.Candidates());
  }
  out.study_done = !out.weights.has_value();
  result["fit"] = fit;
  out.result_json = result.dump();
  return out;
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
  absl::Status ValidateSpec(const v1::StudySpec& spec) const {
    return ParseSpec(spec.spec_json()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const json j = json::parse(header.result_json(), nullptr, false);
    absl::Status s;
    try {
      s = ValidateAnswer(j, input);
    } catch (const std::exception& e) {
      s = absl::InvalidArgumentError(absl::StrCat("result_json: malformed: ", e.what()));
    }
    if (s.ok()) return s;
    return absl::Status(
        s.code(), absl::StrCat("logistic_regression, site ", task.site_id, ": ", s.message()));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    try {
      return Close(study, input, results, history);
    } catch (const std::exception& e) {  // a stored answer ValidateResult should have refused
      return absl::InvalidArgumentError(
          absl::StrCat("logistic_regression: malformed site result: ", e.what()));
    }
  }

 private:
  absl::StatusOr<RoundOutcome> Close(const StudyRecord& study, const protocol::TensorSet* input,
                                     const std::vector<ResultRecord>& results,
                                     const std::vector<RoundRecord>& history) const {
    SCV_ASSIGN_OR_RETURN(LogisticSpec spec, ParseSpec(study.spec.spec_json()));
    if (input != nullptr && input->Find(kTercileCandidates) != nullptr) {
      return CloseTercileRound(*input, results, history);
    }
    std::vector<stats::LogisticSiteSummary> sites;
    std::vector<json> accepted;
    const json refused = SplitRefused(results, accepted);
    for (const json& j : accepted) {
      SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                           stats::LogisticSiteSummaryFromJson(j.at("summary")));
      sites.push_back(std::move(s));
    }
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(sites));
    SCV_ASSIGN_OR_RETURN(
        stats::LogisticNewtonCoordinator newton,
        ReplayNewton(
            static_cast<int>(spec.terms.size()), spec.options, history,
            [](const json& j) { return j.value("phase", std::string()) != "terciles"; }, pooled));
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
      if (spec.terciles) {
        SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search,
                             NewTercileSearch(fit.num_observations));
        const std::vector<double> beta(fit.coefficients.data(),
                                       fit.coefficients.data() + fit.coefficients.size());
        out.weights = TercileCheckpoint(beta, search.Candidates());
      } else {
        out.study_done = true;
      }
    } else {
      out.weights = BetaCheckpoint(newton.next_beta());
    }
    out.result_json = result.dump();
    return out;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateLogisticStudyLogic(const v1::StudySpec& spec) {
  auto logic = std::make_unique<LogisticStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

SCANCOV_REGISTER_STUDY_LOGIC(logistic_regression, &CreateLogisticStudyLogic);

}  // namespace scancov::aggregator
