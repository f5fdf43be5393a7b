// The cohort_description kind end to end in one process (federated Table 1): three synthetic
// hospitals imported into their own node stores, the aggregator running the study through
// three node agents behind their gates. The pooled counts, means, SDs and percentages must equal
// those computed directly on the union of the sites' rows, and the pooled quartiles R's type 7
// quantiles of the pooled values, within the search's tolerance; small cells are suppressed at
// the site, and what leaves holds no patient key.
#include "protocol/wire/cohort_description.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "node/clinical_source.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using testing_sites::Site;

constexpr char kSpec[] = R"({"analysis": "cohort_description", "outcome": "severe",
    "variables": ["age", "sex", "spo2", "crp", "ggo", "cancer", "nonsense"]})";

// R's quantile(x, p, type = 7).
double Type7(std::vector<double> x, double p) {
  std::sort(x.begin(), x.end());
  const double h = (x.size() - 1) * p;
  const size_t k = static_cast<size_t>(std::floor(h));
  return k + 1 < x.size() ? x[k] + (h - k) * (x[k + 1] - x[k]) : x[k];
}

class CohortDescriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ = testing_sites::InMemoryFederation(clock_);
    sites_.push_back(testing_sites::MakeSite("kb", 7, 500));
    sites_.push_back(testing_sites::MakeSite("igr", 8, 140));
    sites_.push_back(testing_sites::MakeSite("small", 9, 60));
  }

  // Every site's values of `variable` among the patients with a known outcome.
  std::map<std::string, std::vector<double>> Values(const std::string& variable) {
    std::map<std::string, std::vector<double>> out;
    for (Site& s : sites_) {
      node::ClinicalDatasetSource source(s.db.get());
      absl::StatusOr<node::TabularRows> rows = source.Load({variable}, "severe");
      EXPECT_TRUE(rows.ok()) << rows.status();
      out[s.id] = rows->x;
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::vector<Site> sites_;
};

TEST_F(CohortDescriptionTest, PooledTableEqualsTheDirectComputationOnTheUnion) {
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation_, clock_, sites_, "cohort", kSpec, 60);
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  absl::StatusOr<wire::CohortTable> table =
      wire::ParseCohortTable(status.rounds().rbegin()->result_json());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_GE(table->quantile_rounds, 1);
  EXPECT_TRUE(table->quantile_error.empty()) << table->quantile_error;
  std::map<std::string, const wire::CohortRow*> rows;
  for (const wire::CohortRow& r : table->rows) rows[r.variable] = &r;

  // Continuous: pooled over the sites that released the variable in full.
  for (const char* variable : {"age", "spo2", "crp"}) {
    const wire::CohortRow& row = *rows.at(variable);
    ASSERT_EQ(row.pooled.status, "ok") << variable;
    std::vector<double> pooled;
    int64_t missing = 0;
    for (const auto& [site, values] : Values(variable)) {
      if (std::find(row.pooled_sites.begin(), row.pooled_sites.end(), site) ==
          row.pooled_sites.end()) {
        continue;
      }
      for (double v : values) {
        if (std::isnan(v)) {
          ++missing;
        } else {
          pooled.push_back(v);
        }
      }
    }
    ASSERT_GT(pooled.size(), 100u) << variable;
    double mean = 0;
    for (double v : pooled) mean += v;
    mean /= pooled.size();
    double ss = 0;
    for (double v : pooled) ss += (v - mean) * (v - mean);
    const double sd = std::sqrt(ss / (pooled.size() - 1));
    EXPECT_EQ(row.pooled.n, static_cast<int64_t>(pooled.size())) << variable;
    EXPECT_EQ(row.pooled.missing, missing) << variable;
    EXPECT_NEAR(row.pooled.mean, mean, 1e-9 * std::abs(mean)) << variable;
    EXPECT_NEAR(row.pooled.sd, sd, 1e-7 * sd) << variable;
    ASSERT_EQ(row.pooled.quartiles.size(), 3u) << variable;
    const double tolerance = sd * 1e-3;  // the search's bracket width
    EXPECT_NEAR(row.pooled.quartiles[0], Type7(pooled, 0.25), tolerance) << variable;
    EXPECT_NEAR(row.pooled.quartiles[1], Type7(pooled, 0.5), tolerance) << variable;
    EXPECT_NEAR(row.pooled.quartiles[2], Type7(pooled, 0.75), tolerance) << variable;
  }

  // Categorical: per-level counts summed over the sites without suppressed cells.
  const wire::CohortRow& ggo = *rows.at("ggo");
  std::map<int, int64_t> counts;
  for (const auto& [site, values] : Values("ggo")) {
    if (std::find(ggo.pooled_sites.begin(), ggo.pooled_sites.end(), site) ==
        ggo.pooled_sites.end()) {
      continue;
    }
    for (double v : values) {
      if (!std::isnan(v)) ++counts[static_cast<int>(std::lround(v))];
    }
  }
  EXPECT_EQ(ggo.pooled.levels, counts);

  // Unknown variables fail by name; nothing is reported for them.
  EXPECT_EQ(rows.at("nonsense")->sites.at("kb").status, "failed");
  EXPECT_EQ(rows.at("nonsense")->pooled.status, "suppressed");
}

TEST_F(CohortDescriptionTest, EveryReleasedCountPassesTheMinimumAndNoKeyLeaves) {
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation_, clock_, sites_, "cohort", kSpec, 60);
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  absl::StatusOr<wire::CohortTable> table =
      wire::ParseCohortTable(status.rounds().rbegin()->result_json());
  ASSERT_TRUE(table.ok());
  const int k = 10;  // the sites' default policy
  int suppressed = 0;
  for (const wire::CohortRow& row : table->rows) {
    for (const auto& [site, s] : row.sites) {
      if (s.status != "ok") {
        suppressed += s.status == "suppressed";
        continue;
      }
      const int64_t total = table->site_patients.at(site);
      EXPECT_TRUE(s.missing == 0 || s.missing >= k) << row.variable << " at " << site;
      EXPECT_TRUE(s.n == 0 || s.n >= k) << row.variable << " at " << site;
      for (const auto& [level, count] : s.levels) {
        if (count < 0) {
          ++suppressed;
          continue;
        }
        EXPECT_TRUE(count == 0 || (count >= k && (s.n - count == 0 || s.n - count >= k)))
            << row.variable << "=" << level << " at " << site << ": " << count;
      }
      (void)total;
    }
  }
  EXPECT_GT(suppressed, 0);  // the small site's rare cells (cancer) are suppressed
  // The uploads hold aggregates only: no pseudonymous key of any site appears.
  for (Site& s : sites_) {
    node::ClinicalDatasetSource source(s.db.get());
    absl::StatusOr<node::TabularRows> rows = source.Load({"age"}, "severe");
    ASSERT_TRUE(rows.ok());
    for (const v1::RoundStatus& r : status.rounds()) {
      for (const std::string& key : rows->keys) {
        ASSERT_EQ(r.result_json().find(key), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace scancov
