// Exact federated logistic regression over the network, by Newton steps. Spec, checkpoint,
// answers and result: protocol/wire/logistic_regression.h.
//
// Round r: every site receives the coefficients as the round's checkpoint (none in round 0:
// beta = 0), evaluates its complete-case rows' gradient, information and log-likelihood there
// (stats::LogisticSiteData) and returns only these sums. Closing the round adds the sites'
// summaries (a sum of summaries is the pooled data's summary) and replays the Newton
// coordinator over the pooled summaries of every round so far; it is deterministic, so the
// replay reproduces the same steps, step halvings included, after any restart. The next
// coefficients become the next round's checkpoint; at convergence the fit (coefficients, SEs,
// Wald tests, odds ratios) is the round's result. The fit equals the one on the pooled rows
// (tests/federated_logistic_test.cc).
//
// Then, unless the spec says "terciles": false, a few terciles rounds (tercile_rounds.h) find
// the 1/3- and 2/3-quantiles of the fitted model's training probabilities from counts only; the
// last round's fit carries them with the 1-5 scale's cuts (models/scores/risk_classes.h), and
// the study is done. A terciles phase that cannot finish (a site that counts other rows than it
// fitted, too many tied scores) leaves the fit as it is with a terciles_error.
//
// Under secure aggregation (StudySpec.privacy_json "secure_aggregation") every round's numbers
// are sums (protocol/wire/logistic_regression.h, LogisticSumVector): the sites send them masked
// and the aggregator reads only their sum, which is the one pooled answer the rounds above
// combine (CloseSecureRound). A plain answer is then refused, as a masked one is without it.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/newton_rounds.h"
#include "aggregator/studies/round_helpers.h"
#include "aggregator/studies/tercile_rounds.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/logistic_newton.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

// Sites' answers: the refusals listed, the others kept. InvalidArgument naming the site for a
// stored answer that does not parse (ValidateResult refuses those at upload).
absl::StatusOr<std::vector<wire::LogisticSiteAnswer>> SplitRefused(
    const std::vector<ResultRecord>& results, std::vector<wire::LogisticRefusal>& refused) {
  std::vector<wire::LogisticSiteAnswer> accepted;
  for (const ResultRecord& r : results) {
    absl::StatusOr<wire::LogisticSiteAnswer> a = wire::ParseLogisticSiteAnswer(r.result_json);
    SCV_RETURN_IF_ERROR(
        Annotate(a.status(), absl::StrCat("logistic_regression, site ", r.site_id)));
    if (a->refused) {
      refused.push_back({r.site_id, a->reason});
    } else {
      accepted.push_back(std::move(*a));
    }
  }
  return accepted;
}

wire::LogisticModelFit FitOf(const wire::LogisticSpec& spec, const stats::LogisticFit& fit) {
  wire::LogisticModelFit out;
  const std::vector<std::string> terms = wire::LogisticTerms(spec);
  const double z95 = stats::NormalQuantile(0.975);
  for (size_t i = 0; i < terms.size(); ++i) {
    const double b = fit.coefficients[i], se = fit.standard_errors[i];
    out.coefficients.push_back({terms[i], b, se, fit.z[i], fit.p_values[i], std::exp(b),
                                std::exp(b - z95 * se), std::exp(b + z95 * se)});
  }
  out.iterations = fit.iterations;
  out.n = fit.num_observations;
  out.events = fit.num_events;
  out.log_likelihood = fit.log_likelihood;
  out.l2 = spec.l2;
  return out;
}

class LogisticStudyLogic : public StudyLogic {
 public:
  LogisticStudyLogic(wire::LogisticSpec spec, bool secure)
      : spec_(std::move(spec)), terms_(wire::LogisticTerms(spec_).size()), secure_(secure) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::LogisticSpec parsed, wire::ParseLogisticSpec(spec.spec_json()));
    return std::make_unique<LogisticStudyLogic>(std::move(parsed),
                                                HasSecureAggregation(spec.privacy_json()));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    return Annotate(Validate(header, input, weights != nullptr),
                    absl::StrCat("logistic_regression, site ", task.site_id));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(const wire::LogisticCheckpoint asked,
                         wire::ParseLogisticCheckpoint(input, terms_));
    std::vector<wire::LogisticRefusal> refused;
    SCV_ASSIGN_OR_RETURN(std::vector<wire::LogisticSiteAnswer> accepted,
                         SplitRefused(results, refused));
    for (const wire::LogisticSiteAnswer& a : accepted) {
      SCV_RETURN_IF_ERROR(wire::CheckLogisticAnswer(a, asked, terms_));
    }
    const int sites = static_cast<int>(accepted.size());
    if (asked.IsTercileRound()) {
      return CloseTercileRound(asked, accepted, std::move(refused), history, sites);
    }
    return CloseNewtonRound(accepted, std::move(refused), history, sites);
  }

  absl::StatusOr<RoundOutcome> CloseSecureRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
      const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(const wire::LogisticCheckpoint asked,
                         wire::ParseLogisticCheckpoint(input, terms_));
    std::vector<wire::LogisticRefusal> refused;
    SCV_ASSIGN_OR_RETURN(std::vector<wire::LogisticSiteAnswer> clear,
                         SplitRefused(results, refused));
    if (clear.size() != summed_sites ||
        std::any_of(clear.begin(), clear.end(), [](const auto& a) { return !a.secure_sum; })) {
      return absl::InternalError(absl::StrCat("logistic_regression: ", summed_sites,
                                              " sites in the secure sum, ", clear.size(),
                                              " masked answers accepted"));
    }
    SCV_ASSIGN_OR_RETURN(wire::LogisticSiteAnswer pooled,
                         wire::LogisticAnswerFromSum(sum, asked, terms_));
    const int sites = static_cast<int>(summed_sites);
    if (asked.IsTercileRound()) {
      return CloseTercileRound(asked, {pooled}, std::move(refused), history, sites);
    }
    return CloseNewtonRound({pooled}, std::move(refused), history, sites);
  }

 private:
  // `masked`: the answer came with a masked vector (the Federation checked its layout).
  absl::Status Validate(const v1::UploadHeader& header, const protocol::TensorSet* input,
                        bool masked) const {
    SCV_ASSIGN_OR_RETURN(const wire::LogisticCheckpoint asked,
                         wire::ParseLogisticCheckpoint(input, terms_));
    SCV_ASSIGN_OR_RETURN(const wire::LogisticSiteAnswer answer,
                         wire::ParseLogisticSiteAnswer(header.result_json()));
    SCV_RETURN_IF_ERROR(CheckUploadShape(secure_, answer.refused, answer.secure_sum, masked));
    return wire::CheckLogisticAnswer(answer, asked, terms_);
  }

  absl::StatusOr<RoundOutcome> CloseNewtonRound(
      const std::vector<wire::LogisticSiteAnswer>& accepted,
      std::vector<wire::LogisticRefusal> refused, const std::vector<RoundRecord>& history,
      int num_sites) const {
    std::vector<stats::LogisticSiteSummary> sites;
    for (const wire::LogisticSiteAnswer& a : accepted) sites.push_back(a.summary);
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(sites));
    std::vector<stats::LogisticSiteSummary> earlier;
    for (const RoundRecord& past : history) {
      absl::StatusOr<wire::LogisticRoundResult> r =
          wire::ParseLogisticRoundResult(past.result_json);
      if (!r.ok()) {
        return absl::DataLossError(absl::StrCat("round ", past.round, ": ", r.status().message()));
      }
      if (!r->terciles) earlier.push_back(r->pooled_summary);
    }
    SCV_ASSIGN_OR_RETURN(
        stats::LogisticNewtonCoordinator newton,
        ReplayNewton(static_cast<int>(terms_), wire::LogisticOptionsOf(spec_), earlier, pooled));
    RoundOutcome out;
    wire::LogisticRoundResult result;
    result.pooled_summary = pooled;
    result.sites = num_sites;
    result.refused = std::move(refused);
    out.metrics["n"] = static_cast<double>(pooled.num_observations);
    out.metrics["log_likelihood"] = pooled.log_likelihood;
    if (newton.converged()) {
      SCV_ASSIGN_OR_RETURN(stats::LogisticFit fit, newton.Result());
      result.fit = FitOf(spec_, fit);
      if (spec_.terciles) {
        SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search,
                             NewTercileSearch(fit.num_observations));
        out.weights =
            wire::ToTensors(wire::LogisticCheckpoint{result.fit->Beta(), search.Candidates()});
      } else {
        out.study_done = true;
      }
    } else {
      out.weights = wire::ToTensors(wire::LogisticCheckpoint{newton.next_beta(), {}});
    }
    out.result_json = wire::ToJson(result);
    return out;
  }

  // A terciles round: pool the counts, advance the replayed search, ask again or finish.
  absl::StatusOr<RoundOutcome> CloseTercileRound(
      const wire::LogisticCheckpoint& asked, const std::vector<wire::LogisticSiteAnswer>& accepted,
      std::vector<wire::LogisticRefusal> refused, const std::vector<RoundRecord>& history,
      int num_sites) const {
    if (history.empty()) return absl::DataLossError("terciles round without a fitted model");
    absl::StatusOr<wire::LogisticRoundResult> previous =
        wire::ParseLogisticRoundResult(history.back().result_json);
    if (!previous.ok() || !previous->fit) {
      return absl::DataLossError("terciles round: the previous round holds no fit");
    }
    wire::LogisticRoundResult result;
    result.terciles = true;
    result.tercile_candidates = asked.tercile_candidates;
    result.tercile_pooled_counts.assign(asked.tercile_candidates.size(), 0);
    result.sites = num_sites;
    result.refused = std::move(refused);
    result.fit = previous->fit;
    int64_t rows = 0;
    for (const wire::LogisticSiteAnswer& a : accepted) {
      for (size_t i = 0; i < a.tercile_counts.size(); ++i) {
        result.tercile_pooled_counts[i] += a.tercile_counts[i];
      }
      rows += a.n_rows;
    }
    RoundOutcome out;
    out.metrics["n"] = static_cast<double>(rows);
    const int64_t n = result.fit->n;
    SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search, ReplayTerciles(n, history));
    absl::Status step = rows == n ? absl::OkStatus()
                                  : absl::FailedPreconditionError(absl::StrCat(
                                        "the sites counted ", rows, " rows, the fit used ", n));
    if (step.ok() && search.Candidates() != asked.tercile_candidates) {
      return absl::DataLossError(
          "terciles round: the checkpoint's candidates are not the search's");
    }
    if (step.ok()) step = search.Update(result.tercile_pooled_counts);
    if (!step.ok()) {
      result.fit->terciles_error = absl::StrCat("terciles: ", step.message());
    } else if (search.done()) {
      AddTerciles(search, *result.fit);
    } else {
      out.weights = wire::ToTensors(wire::LogisticCheckpoint{asked.beta, search.Candidates()});
    }
    out.study_done = !out.weights.has_value();
    out.result_json = wire::ToJson(result);
    return out;
  }

  const wire::LogisticSpec spec_;
  const size_t terms_;  // coefficients, the intercept included
  const bool secure_;   // under secure aggregation
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(logistic_regression, &LogisticStudyLogic::Create);

}  // namespace scancov::aggregator
