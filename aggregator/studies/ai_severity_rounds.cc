#include "aggregator/studies/ai_severity_rounds.h"

#include "absl/strings/str_cat.h"
#include "aggregator/studies/newton_rounds.h"
#include "core/status_macros.h"
#include "models/stats/federated_pca.h"
#include "models/stats/logistic_newton.h"

namespace scancov::aggregator {
namespace {

using wire::AiSeveritySpec;

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

// The site answers that say "ok", parsed (one entry per member each).
struct SiteAnswer {
  std::string site_id;
  wire::AiSeverityAnswer answer;
};

absl::StatusOr<std::vector<SiteAnswer>> OkAnswers(const AiSeveritySpec& spec,
                                                  const std::vector<ResultRecord>& results,
                                                  const std::string& phase) {
  std::vector<SiteAnswer> out;
  for (const ResultRecord& r : results) {
    absl::StatusOr<wire::AiSeverityAnswer> a =
        wire::ParseAiSeverityAnswer(r.result_json, spec.members());
    SCV_RETURN_IF_ERROR(Annotate(a.status(), absl::StrCat("site '", r.site_id, "'")));
    if (a->status != "ok") continue;
    if (a->phase != phase) {
      return absl::InvalidArgumentError(
          absl::StrCat("site '", r.site_id, "': a ", a->phase, " answer in a ", phase, " round"));
    }
    out.push_back({r.site_id, *std::move(a)});
  }
  return out;
}

// Member m's pooled summaries of the earlier Newton rounds, in order, and whether it converged.
struct NewtonHistory {
  std::vector<stats::LogisticSiteSummary> steps;
  bool converged = false;
};

absl::StatusOr<NewtonHistory> PastNewton(const std::vector<RoundRecord>& history, int m) {
  NewtonHistory out;
  for (const RoundRecord& past : history) {
    if (past.result_json.empty()) continue;  // init and training rounds
    absl::StatusOr<wire::AiSeverityRound> round = wire::ParseAiSeverityRound(past.result_json);
    if (!round.ok()) {
      return absl::DataLossError(
          absl::StrCat("round ", past.round, ": ", round.status().message()));
    }
    if (round->phase != "newton") continue;
    if (static_cast<int>(round->newton.size()) <= m) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": no member ", m));
    }
    const wire::AiSeverityNewtonMember& mine = round->newton[m];
    if (mine.pooled_summary.has_value()) out.steps.push_back(*mine.pooled_summary);
    out.converged |= mine.fit.has_value();
  }
  return out;
}

// One Newton step for member m: its coordinator replayed over the earlier rounds, then this
// round's pooled summary. Adds the member's new beta to `extra` and returns its result entry.
absl::StatusOr<wire::AiSeverityNewtonMember> NewtonMember(const AiSeveritySpec& spec, int m,
                                                          const std::vector<SiteAnswer>& sites,
                                                          const std::vector<RoundRecord>& history,
                                                          std::vector<protocol::Tensor>* extra,
                                                          Metrics* metrics) {
  wire::AiSeverityNewtonMember result;
  SCV_ASSIGN_OR_RETURN(NewtonHistory past, PastNewton(history, m));
  if (past.converged) {  // its beta stays in the checkpoint
    result.waiting = true;
    return result;
  }
  std::vector<stats::LogisticSiteSummary> summaries;
  for (const SiteAnswer& s : sites) summaries.push_back(s.answer.newton[m]);
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary pooled, PoolSummaries(summaries));
  const int p = static_cast<int>(pooled.gradient.size());
  SCV_ASSIGN_OR_RETURN(stats::LogisticNewtonCoordinator newton,
                       stats::LogisticNewtonCoordinator::Create(p, spec.logistic));
  for (const stats::LogisticSiteSummary& s : past.steps) SCV_RETURN_IF_ERROR(newton.Update({s}));
  SCV_RETURN_IF_ERROR(newton.Update({pooled}));
  std::vector<double> beta = newton.next_beta();
  if (newton.converged()) {
    SCV_ASSIGN_OR_RETURN(stats::LogisticFit fit, newton.Result());
    beta.assign(fit.coefficients.data(), fit.coefficients.data() + fit.coefficients.size());
    result.fit = wire::AiSeverityFit{fit.iterations, fit.num_observations, fit.num_events,
                                     fit.log_likelihood, beta};
  }
  extra->push_back(wire::AiSeverityBetaTensor(m, beta));
  (*metrics)[wire::AiSeverityMemberMetric(wire::kAiSeverityLogLikelihood, m, spec.members())] =
      pooled.log_likelihood;
  result.pooled_summary = std::move(pooled);
  return result;
}

}  // namespace

absl::StatusOr<RoundOutcome> CloseAiSeverityPca(const AiSeveritySpec& spec,
                                                const protocol::TensorSet& input,
                                                const std::vector<ResultRecord>& results) {
  SCV_ASSIGN_OR_RETURN(std::vector<SiteAnswer> sites, OkAnswers(spec, results, "pca"));
  RoundOutcome out;
  std::vector<protocol::Tensor> extra;
  wire::AiSeverityRound round;
  round.phase = "pca";
  round.next = "newton";
  for (int m = 0; m < spec.members(); ++m) {
    stats::PcaSums sums;
    for (const SiteAnswer& s : sites) {
      SCV_RETURN_IF_ERROR(Annotate(stats::AddPcaSums(wire::ToPcaSums(s.answer.pca[m]), &sums),
                                   absl::StrCat("site '", s.site_id, "', member ", m)));
    }
    absl::StatusOr<stats::PcaProjection> pca = stats::PcaFromSums(sums, spec.pca_components);
    SCV_RETURN_IF_ERROR(Annotate(pca.status(), absl::StrCat("PCA of member ", m)));
    const int k = static_cast<int>(pca->scale.size());
    wire::AiSeverityHead head{*pca, std::vector<double>(k + 1, 0.0)};
    for (protocol::Tensor& t : wire::AiSeverityHeadTensors(m, head)) extra.push_back(std::move(t));
    out.metrics[wire::AiSeverityMemberMetric(wire::kAiSeverityExplainedVariance, m,
                                             spec.members())] = pca->explained_variance;
    out.metrics[wire::kAiSeverityNScans] = sums.n;
    round.pca.push_back({k, pca->explained_variance});
  }
  SCV_ASSIGN_OR_RETURN(out.weights, With(input, extra));
  out.result_json = wire::ToJson(round);
  return out;
}

absl::StatusOr<RoundOutcome> CloseAiSeverityNewton(const AiSeveritySpec& spec,
                                                   const protocol::TensorSet& input,
                                                   const std::vector<ResultRecord>& results,
                                                   const std::vector<RoundRecord>& history) {
  SCV_ASSIGN_OR_RETURN(std::vector<SiteAnswer> sites, OkAnswers(spec, results, "newton"));
  RoundOutcome out;
  std::vector<protocol::Tensor> extra;
  wire::AiSeverityRound round;
  round.phase = "newton";
  bool all_converged = true;
  for (int m = 0; m < spec.members(); ++m) {
    SCV_ASSIGN_OR_RETURN(wire::AiSeverityNewtonMember member,
                         NewtonMember(spec, m, sites, history, &extra, &out.metrics));
    all_converged &= member.fit.has_value() || member.waiting;
    round.newton.push_back(std::move(member));
  }
  round.next = all_converged ? "evaluate" : "newton";
  SCV_ASSIGN_OR_RETURN(out.weights, With(input, extra));
  out.result_json = wire::ToJson(round);
  return out;
}

}  // namespace scancov::aggregator
