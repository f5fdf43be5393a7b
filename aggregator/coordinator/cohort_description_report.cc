// The report section of a federated cohort description: the Table 1 of the cohort, one row per
// variable (one per level for categorical ones), a column per site and the pooled column, with
// suppressed cells shown as such; and table1_cohort.csv beside it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report_section.h"
#include "protocol/wire/cohort_description.h"

namespace scancov::aggregator {
namespace {

// A number for people: 3 significant digits, no trailing zeros beyond what they carry.
std::string Num(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::abs(v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

std::string Continuous(const wire::CohortSummary& s, bool pooled) {
  if (s.status != "ok") return s.status;
  std::string cell = absl::StrCat(Num(s.mean), " (", Num(s.sd), ")");
  if (pooled && s.quartiles.size() == 3) {
    absl::StrAppend(&cell, "; ", Num(s.quartiles[1]), " [", Num(s.quartiles[0]), "-",
                    Num(s.quartiles[2]), "]");
  }
  if (s.missing > 0) absl::StrAppend(&cell, "; missing ", s.missing);
  return cell;
}

std::string Level(const wire::CohortSummary& s, int level) {
  if (s.status != "ok") return s.status;
  auto it = s.levels.find(level);
  if (it == s.levels.end()) return "0";
  if (it->second < 0) return "suppressed";
  return absl::StrFormat("%d (%.1f%%)", it->second,
                         s.n > 0 ? 100.0 * static_cast<double>(it->second) / s.n : 0.0);
}

std::vector<int> LevelsOf(const wire::CohortRow& row) {
  std::vector<int> levels;
  auto add = [&](const wire::CohortSummary& s) {
    for (const auto& [level, count] : s.levels) {
      if (std::find(levels.begin(), levels.end(), level) == levels.end()) levels.push_back(level);
    }
  };
  for (const auto& [site, s] : row.sites) add(s);
  add(row.pooled);
  std::sort(levels.begin(), levels.end());
  return levels;
}

std::string TableMarkdown(const wire::CohortTable& t) {
  std::string md = absl::StrCat(
      "## Cohort description (Table 1)\n\nPatients whose `", t.outcome,
      "` is known. Continuous: mean (SD); pooled also median [IQR], found from counts only",
      t.quantile_rounds > 0 ? absl::StrCat(" in ", t.quantile_rounds, " rounds") : "",
      ". Others: n (%) of the patients with a value. Every released count is 0 or at least ",
      t.min_cell_count,
      " (and so is its complement); suppressed cells are shown as such, and a site with a "
      "suppressed cell is left out of that variable's pooled column.\n\n");
  if (!t.quantile_error.empty()) absl::StrAppend(&md, "Quartiles: ", t.quantile_error, ".\n\n");
  absl::StrAppend(&md, "| variable |");
  for (const std::string& site : t.sites) absl::StrAppend(&md, " ", site, " |");
  md += " pooled |\n|---|";
  for (size_t i = 0; i <= t.sites.size(); ++i) md += "---|";
  absl::StrAppend(&md, "\n| patients |");
  for (const std::string& site : t.sites) absl::StrAppend(&md, " ", t.site_patients.at(site), " |");
  absl::StrAppend(&md, " ", t.pooled_patients, " |\n| ", t.outcome, " |");
  int64_t events = 0;
  bool all_events = true;
  for (const std::string& site : t.sites) {
    const int64_t e = t.site_events.count(site) ? t.site_events.at(site) : -1;
    all_events = all_events && e >= 0;
    events += std::max<int64_t>(e, 0);
    absl::StrAppend(&md, " ", e < 0 ? "suppressed" : absl::StrCat(e), " |");
  }
  absl::StrAppend(&md, " ", all_events ? absl::StrCat(events) : "suppressed", " |\n");
  for (const wire::CohortRow& row : t.rows) {
    if (row.type == "continuous" || row.type.empty()) {
      absl::StrAppend(&md, "| ", row.variable, " |");
      for (const std::string& site : t.sites) {
        auto it = row.sites.find(site);
        absl::StrAppend(&md, " ",
                        it == row.sites.end() ? "n/a (not sent)" : Continuous(it->second, false),
                        " |");
      }
      absl::StrAppend(&md, " ", Continuous(row.pooled, true), " |\n");
      continue;
    }
    for (int level : LevelsOf(row)) {
      absl::StrAppend(&md, "| ", row.variable, " = ", level, " |");
      for (const std::string& site : t.sites) {
        auto it = row.sites.find(site);
        absl::StrAppend(&md, " ",
                        it == row.sites.end() ? "n/a (not sent)" : Level(it->second, level), " |");
      }
      absl::StrAppend(&md, " ", Level(row.pooled, level), " |\n");
    }
  }
  return md;
}

std::string TableCsv(const wire::CohortTable& t) {
  std::string csv = "variable,level,where,status,n,missing,mean,sd,count,q25,median,q75\n";
  auto line = [&](const wire::CohortRow& row, const std::string& where,
                  const wire::CohortSummary& s) {
    if (s.status != "ok" || row.type == "continuous") {
      const bool q = s.quartiles.size() == 3;
      absl::StrAppend(&csv, row.variable, ",,", where, ",", s.status, ",", s.n, ",", s.missing, ",",
                      s.mean, ",", s.sd, ",,", q ? absl::StrCat(s.quartiles[0]) : "", ",",
                      q ? absl::StrCat(s.quartiles[1]) : "", ",",
                      q ? absl::StrCat(s.quartiles[2]) : "", "\n");
      return;
    }
    for (const auto& [level, count] : s.levels) {
      absl::StrAppend(&csv, row.variable, ",", level, ",", where, ",",
                      count < 0 ? "suppressed" : "ok", ",", s.n, ",", s.missing, ",,,",
                      count < 0 ? "" : absl::StrCat(count), ",,,\n");
    }
  };
  for (const wire::CohortRow& row : t.rows) {
    for (const auto& [site, s] : row.sites) line(row, site, s);
    line(row, "pooled", row.pooled);
  }
  return csv;
}

class CohortDescriptionReport : public ReportSection {
 public:
  std::string RoundLabel(const v1::StudyStatus&, const v1::RoundStatus& r) const override {
    return r.round() == 0 ? "counts and moments" : absl::StrCat("quartiles search ", r.round());
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    if (status.rounds().empty()) return "";
    absl::StatusOr<wire::CohortTable> t =
        wire::ParseCohortTable(status.rounds().rbegin()->result_json());
    if (!t.ok()) return "";
    return absl::StrCat("\n", TableMarkdown(*t), "\nAlso `table1_cohort.csv`.\n");
  }
  absl::StatusOr<std::vector<ReportFile>> Files(const v1::StudyStatus& status) const override {
    if (status.rounds().empty()) return std::vector<ReportFile>{};
    absl::StatusOr<wire::CohortTable> t =
        wire::ParseCohortTable(status.rounds().rbegin()->result_json());
    if (!t.ok()) return std::vector<ReportFile>{};
    return std::vector<ReportFile>{{"table1_cohort.csv", TableCsv(*t)}};
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(cohort_description, CohortDescriptionReport);

}  // namespace scancov::aggregator
