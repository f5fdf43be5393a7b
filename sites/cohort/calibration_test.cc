// Checks that a large generated KB cohort reproduces the seed: prevalence of the outcomes and,
// for the 14 significant variables, univariate odds ratios per SD close to the seed's KB ones;
// null variables show no association. Prints the comparison table (see VARIABLES.md).
#include <cmath>
#include <cstdio>
#include <vector>

#include "gtest/gtest.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/testing_stats.h"

namespace scancov::sites {
namespace {

class CalibrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SiteProfile kb = *NamedSiteProfile("kb");
    kb.patients = 20000;
    site_ = new SyntheticSite(GenerateSite(kb, 2021));
  }
  static void TearDownTestSuite() { delete site_; }

  static std::vector<double> Column(const char* name) {
    std::vector<double> v;
    for (const auto& p : site_->patients) v.push_back(p.Value(name));
    return v;
  }
  static SyntheticSite* site_;
};
SyntheticSite* CalibrationTest::site_ = nullptr;

TEST_F(CalibrationTest, OutcomePrevalenceMatchesTheSeed) {
  double severe = 0, death = 0, icu = 0;
  for (const auto& p : site_->patients) {
    severe += p.outcomes.severe;
    death += p.outcomes.death;
    icu += p.outcomes.icu;
  }
  const double n = site_->patients.size();
  std::printf("severe %.3f death %.3f icu %.3f\n", severe / n, death / n, icu / n);
  EXPECT_NEAR(severe / n, 0.28, 0.03);  // from the seed's PPV/NPV/sensitivity at KB
  EXPECT_NEAR(death / n, 0.165, 0.03);  // "16-17%" deaths
  EXPECT_NEAR(icu / n, 0.20, 0.05);
}

TEST(CalibrationIgrTest, OutcomePrevalenceMatchesTheSeed) {
  SiteProfile igr = *NamedSiteProfile("igr");
  igr.patients = 20000;
  const SyntheticSite site = GenerateSite(igr, 2021);
  double severe = 0, death = 0, icu = 0;
  for (const auto& p : site.patients) {
    severe += p.outcomes.severe;
    death += p.outcomes.death;
    icu += p.outcomes.icu;
  }
  const double n = site.patients.size();
  std::printf("igr: severe %.3f death %.3f icu %.3f\n", severe / n, death / n, icu / n);
  EXPECT_NEAR(severe / n, 0.28, 0.03);
  EXPECT_NEAR(death / n, 0.165, 0.03);
  EXPECT_LT(icu / n, 0.15);  // limitation of care in a cancer centre
}

TEST_F(CalibrationTest, MarginalOddsRatiosAreCloseToTheSeed) {
  const std::vector<double> y = Column("severe");
  for (const SeedOddsRatio& seed : SeedSeverityOddsRatios()) {
    const testing_stats::UnivariateFit fit =
        testing_stats::FitUnivariateLogit(Column(seed.variable.c_str()), y);
    const bool binary = seed.variable == "sex" || seed.variable == "hypertension" ||
                        seed.variable == "chronic_kidney_disease" ||
                        seed.variable == "crazy_paving" || seed.variable == "peripheral_topography";
    const double estimate = binary ? std::exp(fit.beta) : fit.OrPerSd();
    std::printf("%-24s seed KB OR %.2f (%.2f-%.2f)  generated %.2f\n", seed.variable.c_str(),
                seed.kb, seed.kb_lo, seed.kb_hi, estimate);
    EXPECT_NEAR(std::log(estimate), std::log(seed.kb), 0.15) << seed.variable;
  }
}

double Pearson(const std::vector<double>& a, const std::vector<double>& b) {
  double n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) continue;
    n += 1, sa += a[i], sb += b[i], saa += a[i] * a[i], sbb += b[i] * b[i], sab += a[i] * b[i];
  }
  return (sab - sa * sb / n) / std::sqrt((saa - sa * sa / n) * (sbb - sb * sb / n));
}

// Seed Supp Table 7 / Results: disease extent correlates with LDH 0.52, CRP 0.45, SpO2 -0.43.
TEST_F(CalibrationTest, ExtentCorrelationsLikeTheSeed) {
  const std::vector<double> extent = Column("disease_extent");
  const double ldh = Pearson(extent, Column("ldh"));
  const double crp = Pearson(extent, Column("crp"));
  const double spo2 = Pearson(extent, Column("spo2"));
  std::printf("r(extent, ldh) %.2f  r(extent, crp) %.2f  r(extent, spo2) %.2f\n", ldh, crp, spo2);
  EXPECT_NEAR(ldh, 0.52, 0.12);
  EXPECT_NEAR(crp, 0.45, 0.12);
  EXPECT_NEAR(spo2, -0.43, 0.12);
}

TEST_F(CalibrationTest, NullVariablesShowNoAssociation) {
  const std::vector<double> y = Column("severe");
  for (const std::string& name : VariablesWith(Association::kNull)) {
    const testing_stats::UnivariateFit fit =
        testing_stats::FitUnivariateLogit(Column(name.c_str()), y);
    EXPECT_LT(std::abs(fit.Z()), 4.0) << name;
  }
}

}  // namespace
}  // namespace scancov::sites
