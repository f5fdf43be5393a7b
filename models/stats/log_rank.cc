#include "models/stats/log_rank.h"

#include <algorithm>
#include <map>
#include <set>

#include "Eigen/Dense"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

int64_t EventsAt(const SurvivalCounts& counts, double t) {
  const auto it = std::lower_bound(counts.times.begin(), counts.times.end(), t);
  if (it == counts.times.end() || *it != t) return 0;
  return counts.events[static_cast<size_t>(it - counts.times.begin())];
}

// Splits rows into one table per (stratum, group); groups are 0..G-1.
absl::StatusOr<std::map<int, std::vector<SurvivalCounts>>> TablesByStratum(
    absl::string_view where, absl::Span<const double> time, absl::Span<const double> event,
    absl::Span<const int> group, absl::Span<const int> stratum) {
  SCV_RETURN_IF_ERROR(CheckNonEmpty(where, "time", time));
  SCV_RETURN_IF_ERROR(CheckLength(where, "event", event.size(), "time", time.size()));
  SCV_RETURN_IF_ERROR(CheckLength(where, "group", group.size(), "time", time.size()));
  SCV_RETURN_IF_ERROR(CheckLength(where, "stratum", stratum.size(), "time", time.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "time", time));
  SCV_RETURN_IF_ERROR(CheckBinary(where, "event", event));
  int num_groups = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": group[", i, "] is negative"));
    }
    num_groups = std::max(num_groups, group[i] + 1);
  }
  std::map<std::pair<int, int>, std::pair<std::vector<double>, std::vector<double>>> rows;
  for (size_t i = 0; i < time.size(); ++i) {
    auto& cell = rows[{stratum[i], group[i]}];
    cell.first.push_back(time[i]);
    cell.second.push_back(event[i]);
  }
  std::map<int, std::vector<SurvivalCounts>> tables;
  for (const auto& [key, cell] : rows) {
    auto& stratum_tables = tables[key.first];
    stratum_tables.resize(num_groups);
    absl::StatusOr<SurvivalCounts> counts = CountSurvival(cell.first, cell.second);
    if (!counts.ok()) return Annotate(counts.status(), where);
    stratum_tables[key.second] = *std::move(counts);
  }
  return tables;
}

}  // namespace

absl::StatusOr<LogRankSummary> LogRankContribution(absl::Span<const SurvivalCounts> groups) {
  constexpr char kWhere[] = "LogRankContribution";
  const size_t g_count = groups.size();
  if (g_count < 2) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": needs >= 2 groups"));
  std::set<double> event_times;
  for (size_t g = 0; g < g_count; ++g) {
    absl::Status valid = ValidateSurvivalCounts(groups[g]);
    if (!valid.ok()) return Annotate(valid, absl::StrCat(kWhere, ": group ", g));
    for (size_t k = 0; k < groups[g].times.size(); ++k) {
      if (groups[g].events[k] > 0) event_times.insert(groups[g].times[k]);
    }
  }
  LogRankSummary summary;
  summary.observed.assign(g_count, 0.0);
  summary.expected.assign(g_count, 0.0);
  summary.covariance.assign(g_count * g_count, 0.0);
  std::vector<double> at_risk(g_count);
  for (double t : event_times) {
    double n = 0.0;
    double d = 0.0;
    for (size_t g = 0; g < g_count; ++g) {
      at_risk[g] = static_cast<double>(groups[g].AtRiskAt(t));
      const double dg = static_cast<double>(EventsAt(groups[g], t));
      summary.observed[g] += dg;
      n += at_risk[g];
      d += dg;
    }
    // With a single patient at risk the hypergeometric variance is 0 (nothing to permute).
    const double spread = n > 1.0 ? d * (n - d) / (n - 1.0) : 0.0;
    for (size_t g = 0; g < g_count; ++g) {
      summary.expected[g] += d * at_risk[g] / n;
      for (size_t h = 0; h < g_count; ++h) {
        const double delta = g == h ? 1.0 : 0.0;
        summary.covariance[g * g_count + h] += spread * at_risk[g] / n * (delta - at_risk[h] / n);
      }
    }
  }
  return summary;
}

absl::StatusOr<LogRankResult> LogRankFromSummaries(absl::Span<const LogRankSummary> strata) {
  constexpr char kWhere[] = "LogRankFromSummaries";
  if (strata.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no strata"));
  const size_t g_count = strata[0].observed.size();
  if (g_count < 2) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": needs >= 2 groups"));
  LogRankResult result;
  result.observed.assign(g_count, 0.0);
  result.expected.assign(g_count, 0.0);
  Eigen::MatrixXd covariance = Eigen::MatrixXd::Zero(g_count, g_count);
  for (size_t s = 0; s < strata.size(); ++s) {
    const std::string where = absl::StrCat(kWhere, ": stratum ", s);
    const LogRankSummary& st = strata[s];
    SCV_RETURN_IF_ERROR(CheckLength(where, "observed", st.observed.size(), "groups", g_count));
    SCV_RETURN_IF_ERROR(CheckLength(where, "expected", st.expected.size(), "groups", g_count));
    SCV_RETURN_IF_ERROR(CheckLength(where, "covariance", st.covariance.size(), "groups squared",
                                    g_count * g_count));
    SCV_RETURN_IF_ERROR(CheckFinite(where, "observed", st.observed));
    SCV_RETURN_IF_ERROR(CheckFinite(where, "expected", st.expected));
    SCV_RETURN_IF_ERROR(CheckFinite(where, "covariance", st.covariance));
    for (size_t g = 0; g < g_count; ++g) {
      result.observed[g] += st.observed[g];
      result.expected[g] += st.expected[g];
      for (size_t h = 0; h < g_count; ++h) covariance(g, h) += st.covariance[g * g_count + h];
    }
  }
  const Eigen::Index m = static_cast<Eigen::Index>(g_count) - 1;
  Eigen::VectorXd diff(m);
  for (Eigen::Index g = 0; g < m; ++g) diff[g] = result.observed[g] - result.expected[g];
  const Eigen::MatrixXd reduced = covariance.topLeftCorner(m, m);
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(reduced);
  if (reduced.norm() == 0.0 || lu.rank() < m) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhere, ": covariance is singular (no events, or a group never at risk at an event)"));
  }
  result.chi_square = diff.dot(lu.solve(diff));
  result.degrees_of_freedom = static_cast<double>(m);
  result.p_value = ChiSquareSf(result.chi_square, result.degrees_of_freedom);
  return result;
}

absl::StatusOr<LogRankResult> LogRankTest(absl::Span<const double> time,
                                          absl::Span<const double> event,
                                          absl::Span<const int> group) {
  const std::vector<int> one_stratum(group.size(), 0);
  return StratifiedLogRankTest(time, event, group, one_stratum);
}

absl::StatusOr<LogRankResult> StratifiedLogRankTest(absl::Span<const double> time,
                                                    absl::Span<const double> event,
                                                    absl::Span<const int> group,
                                                    absl::Span<const int> stratum) {
  constexpr char kWhere[] = "StratifiedLogRankTest";
  SCV_ASSIGN_OR_RETURN(auto tables, TablesByStratum(kWhere, time, event, group, stratum));
  size_t num_groups = 0;
  for (const auto& [s, groups] : tables) num_groups = std::max(num_groups, groups.size());
  std::vector<LogRankSummary> summaries;
  for (auto& [s, groups] : tables) {
    groups.resize(num_groups);
    SCV_ASSIGN_OR_RETURN(LogRankSummary summary, LogRankContribution(groups));
    summaries.push_back(std::move(summary));
  }
  return LogRankFromSummaries(summaries);
}

}  // namespace scancov::stats
