// The cohort_description kind at the aggregator: round 0 collects each site's moments and pools
// them; when the spec asks for quantiles, the next rounds find the pooled quartiles of every
// continuous variable from counts only (stats::FederatedQuantileSearch), all variables in the
// same rounds. Wire: protocol/wire/cohort_description.h.
//
// The searches are deterministic: each round's result_json keeps the table so far and the
// pooled counts of that round, and the searches are rebuilt from them after a restart.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/stats/federated_quantile.h"
#include "protocol/wire/cohort_description.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;
using Searches = std::map<std::string, stats::FederatedQuantileSearch>;

// The pooled row of a variable over the sites that released it without suppression.
void Pool(const std::vector<std::string>& sites, wire::CohortRow& row,
          const std::map<std::string, wire::CohortVariable>& released) {
  double sum = 0, sum_sq = 0;
  for (const std::string& site : sites) {
    auto it = released.find(site);
    if (it == released.end()) continue;
    const wire::CohortVariable& v = it->second;
    bool complete = v.status == "ok";
    for (const auto& [level, count] : v.levels) complete = complete && count >= 0;
    if (!complete) continue;
    row.pooled_sites.push_back(site);
    row.pooled.n += v.n;
    row.pooled.missing += v.missing;
    sum += v.sum;
    sum_sq += v.sum_sq;
    for (const auto& [level, count] : v.levels) row.pooled.levels[level] += count;
  }
  if (row.pooled_sites.empty()) {
    row.pooled.status = "suppressed";
    row.pooled.reason = "no site released this variable in full";
    return;
  }
  if (row.type == "continuous" && row.pooled.n > 0) {
    const double n = static_cast<double>(row.pooled.n);
    row.pooled.mean = sum / n;
    row.pooled.sd = n > 1 ? std::sqrt(std::max(0.0, (sum_sq - sum * sum / n) / (n - 1))) : 0.0;
  }
}

wire::CohortSummary SiteSummary(const wire::CohortVariable& v) {
  wire::CohortSummary s;
  s.status = v.status;
  s.reason = v.reason;
  s.n = v.n;
  s.missing = v.missing;
  s.levels = v.levels;
  if (v.status == "ok" && v.IsContinuous()) {
    const double n = static_cast<double>(v.n);
    s.mean = v.sum / n;
    s.sd = n > 1 ? std::sqrt(std::max(0.0, (v.sum_sq - v.sum * v.sum / n) / (n - 1))) : 0.0;
  }
  return s;
}

// The quartile search of a pooled continuous row: a public start of mean +- 5 SD and a
// tolerance of SD / 1000, both from the pooled moments the aggregator already holds.
absl::StatusOr<stats::FederatedQuantileSearch> NewSearch(const wire::CohortSummary& pooled) {
  stats::QuantileSearchOptions o;
  const double spread = pooled.sd > 0 ? pooled.sd : std::max(1.0, std::abs(pooled.mean));
  o.lower = pooled.mean - 5 * spread;
  o.upper = pooled.mean + 5 * spread;
  o.tolerance = spread * 1e-3;
  o.candidates_per_bracket = 15;
  o.max_rounds = wire::kMaxCohortQuantileRounds;
  return stats::FederatedQuantileSearch::Create(pooled.n, {0.25, 0.5, 0.75}, o);
}

absl::StatusOr<Searches> NewSearches(const wire::CohortTable& table) {
  Searches searches;
  for (const wire::CohortRow& row : table.rows) {
    if (row.type != "continuous" || row.pooled.status != "ok" || row.pooled.n < 1) continue;
    SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch s, NewSearch(row.pooled));
    searches.emplace(row.variable, std::move(s));
  }
  return searches;
}

wire::CohortCandidates CandidatesOf(const Searches& searches) {
  wire::CohortCandidates c;
  for (const auto& [variable, search] : searches) {
    if (!search.done()) c[variable] = search.Candidates();
  }
  return c;
}

class CohortDescriptionStudy : public StudyLogic {
 public:
  explicit CohortDescriptionStudy(wire::CohortSpec spec) : spec_(std::move(spec)) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::CohortSpec parsed, wire::ParseCohortSpec(spec.spec_json()));
    return std::make_unique<CohortDescriptionStudy>(std::move(parsed));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>&) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, round == 0 ? "" : input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const std::string where = absl::StrCat("site ", task.site_id);
    if (input == nullptr) {
      return Annotate(wire::ParseCohortSiteMoments(header.result_json()).status(), where);
    }
    SCV_ASSIGN_OR_RETURN(wire::CohortCandidates asked, wire::CandidatesFromTensors(*input));
    return Annotate(wire::ParseCohortCounts(header.result_json(), asked).status(), where);
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    if (round == 0) return CloseMoments(study, results);
    if (input == nullptr || history.empty()) {
      return absl::DataLossError("a quantile round without its candidates or moments");
    }
    SCV_ASSIGN_OR_RETURN(wire::CohortTable table,
                         wire::ParseCohortTable(history.back().result_json));
    SCV_ASSIGN_OR_RETURN(Searches searches, Replay(table, history));
    SCV_ASSIGN_OR_RETURN(wire::CohortCandidates asked, wire::CandidatesFromTensors(*input));
    if (asked != CandidatesOf(searches)) {
      return absl::DataLossError("the round's candidates are not the replayed searches'");
    }
    std::map<std::string, std::vector<int64_t>> pooled;
    for (const auto& [variable, candidates] : asked) {
      pooled[variable].assign(candidates.size(), 0);
    }
    std::map<std::string, std::set<std::string>> answered;  // variable -> sites with counts
    for (const ResultRecord& r : results) {
      SCV_ASSIGN_OR_RETURN(wire::CohortCounts counts,
                           wire::ParseCohortCounts(r.result_json, asked));
      for (const auto& [variable, c] : counts) answered[variable].insert(r.site_id);
      for (const wire::CohortRow& row : table.rows) {
        auto it = counts.find(row.variable);
        if (it == counts.end() || !asked.count(row.variable)) continue;
        // Only the sites whose moments entered the pooled n take part in its search.
        if (std::find(row.pooled_sites.begin(), row.pooled_sites.end(), r.site_id) ==
            row.pooled_sites.end()) {
          continue;
        }
        for (size_t i = 0; i < it->second.size(); ++i) pooled[row.variable][i] += it->second[i];
      }
    }
    // A site whose values are in a variable's pooled n must count them every round, or the
    // pooled counts would not be counts of those n values: the search stops there.
    for (const wire::CohortRow& row : table.rows) {
      if (!asked.count(row.variable)) continue;
      for (const std::string& site : row.pooled_sites) {
        if (answered[row.variable].count(site) == 0) {
          table.quantile_error = absl::StrCat("site ", site, " did not count ", row.variable,
                                              " in quantile round ", round);
          return Next(table, searches, round, pooled, /*stop=*/true);
        }
      }
    }
    for (auto& [variable, search] : searches) {
      if (search.done()) continue;
      SCV_RETURN_IF_ERROR(
          Annotate(search.Update(pooled.at(variable)), absl::StrCat("variable ", variable)));
    }
    return Next(table, searches, round, pooled);
  }

 private:
  absl::StatusOr<RoundOutcome> CloseMoments(const StudyRecord& study,
                                            const std::vector<ResultRecord>& results) const {
    wire::CohortTable table;
    table.outcome = spec_.outcome;
    std::map<std::string, std::map<std::string, wire::CohortVariable>> by_variable;
    std::map<std::string, std::string> types;
    for (const std::string& site : study.spec.sites()) {  // the spec's site order
      for (const ResultRecord& r : results) {
        if (r.site_id != site) continue;
        SCV_ASSIGN_OR_RETURN(wire::CohortSiteMoments m,
                             wire::ParseCohortSiteMoments(r.result_json));
        table.sites.push_back(site);
        table.site_patients[site] = m.n_patients;
        table.site_events[site] = m.n_events;
        table.pooled_patients += m.n_patients;
        table.min_cell_count = std::max(table.min_cell_count, m.min_cell_count);
        for (const wire::CohortVariable& v : m.variables) {
          by_variable[v.variable][site] = v;
          if (v.status == "ok") types[v.variable] = v.type;
        }
      }
    }
    for (const std::string& variable : spec_.variables) {
      wire::CohortRow row;
      row.variable = variable;
      row.type = types.count(variable) ? types.at(variable) : "";
      for (const auto& [site, v] : by_variable[variable]) row.sites[site] = SiteSummary(v);
      Pool(table.sites, row, by_variable[variable]);
      table.rows.push_back(std::move(row));
    }
    Searches searches;
    if (spec_.quantiles) {
      SCV_ASSIGN_OR_RETURN(searches, NewSearches(table));
    }
    return Next(table, searches, 0, {});
  }

  // The searches of `table` after the quantile rounds of `history`.
  absl::StatusOr<Searches> Replay(const wire::CohortTable& table,
                                  const std::vector<RoundRecord>& history) const {
    // The moments round's table holds the pooled moments the searches start from.
    SCV_ASSIGN_OR_RETURN(const wire::CohortTable moments,
                         wire::ParseCohortTable(history.front().result_json));
    SCV_ASSIGN_OR_RETURN(Searches searches, NewSearches(moments));
    for (size_t i = 1; i < history.size(); ++i) {
      const json j = json::parse(history[i].result_json, nullptr, false);
      if (!j.is_object() || !j.contains("pooled_counts")) {
        return absl::DataLossError(absl::StrCat("round ", history[i].round, ": no pooled counts"));
      }
      for (auto& [variable, search] : searches) {
        if (search.done()) continue;
        if (!j.at("pooled_counts").contains(variable)) {
          return absl::DataLossError(
              absl::StrCat("round ", history[i].round, ": no counts of ", variable));
        }
        const std::vector<int64_t> counts =
            j.at("pooled_counts").at(variable).get<std::vector<int64_t>>();
        SCV_RETURN_IF_ERROR(search.Update(counts));
      }
    }
    (void)table;
    return searches;
  }

  // The round's outcome: the next candidates, or the finished table.
  absl::StatusOr<RoundOutcome> Next(wire::CohortTable table, const Searches& searches,
                                    uint32_t round,
                                    const std::map<std::string, std::vector<int64_t>>& pooled,
                                    bool stop = false) const {
    RoundOutcome out;
    const wire::CohortCandidates next = CandidatesOf(searches);
    const bool exhausted = round >= static_cast<uint32_t>(wire::kMaxCohortQuantileRounds);
    table.quantile_rounds = static_cast<int>(round);
    if (next.empty() || exhausted || stop) {
      for (wire::CohortRow& row : table.rows) {
        auto it = searches.find(row.variable);
        if (it == searches.end() || !it->second.done()) continue;
        SCV_ASSIGN_OR_RETURN(row.pooled.quartiles, it->second.Quantiles());
      }
      if (!next.empty() && table.quantile_error.empty()) {
        table.quantile_error = absl::StrCat("the quartile search did not finish in ",
                                            wire::kMaxCohortQuantileRounds, " rounds");
      }
      out.study_done = true;
    } else {
      out.weights = wire::CandidatesToTensors(next);
    }
    json result = json::parse(wire::ToJson(table));
    result["phase"] = round == 0 ? "moments" : "quantiles";
    if (round > 0) result["pooled_counts"] = pooled;
    out.result_json = result.dump();
    out.metrics["n_patients"] = static_cast<double>(table.pooled_patients);
    out.metrics["n_variables"] = static_cast<double>(table.rows.size());
    return out;
  }

  const wire::CohortSpec spec_;
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(cohort_description, &CohortDescriptionStudy::Create);

}  // namespace scancov::aggregator
